/**
 * The json-file container log: one `{log, stream, time}` object per line,
 * rotated by size. Written by the shim, read by the daemon.
 * @module
 */

/** One log line. */
export interface LogEntry {
  log: string;
  stream: "stdout" | "stderr";
  time: string;
}

/** Rotation settings. */
export interface LogRotation {
  /** Rotate when the file exceeds this many bytes. */
  maxSize: number;
  /** Files kept, including the current one. */
  maxFiles: number;
}

/** Default rotation: 10 MiB, 3 files. */
export const DEFAULT_ROTATION: LogRotation = { maxSize: 10 * 1024 * 1024, maxFiles: 3 };

/**
 * Appends log entries to a json-file log with rotation.
 *
 * @example
 * ```ts
 * const w = await JsonLogWriter.open("/var/lib/corral/containers/ID/ID-json.log");
 * await w.write("stdout", "hello\n");
 * w.close();
 * ```
 */
export class JsonLogWriter {
  #file: Deno.FsFile;
  #size: number;
  readonly #enc = new TextEncoder();

  private constructor(
    readonly path: string,
    readonly rotation: LogRotation,
    file: Deno.FsFile,
    size: number,
  ) {
    this.#file = file;
    this.#size = size;
  }

  /** Open (append) the log. */
  static async open(path: string, rotation = DEFAULT_ROTATION): Promise<JsonLogWriter> {
    const f = await Deno.open(path, { append: true, create: true, mode: 0o640 });
    const size = (await f.stat()).size;
    return new JsonLogWriter(path, rotation, f, size);
  }

  /** Append one line (the text keeps its trailing newline, as Docker's does). */
  write(stream: LogEntry["stream"], text: string): Promise<void> {
    return this.writeLines(stream, [text]);
  }

  /**
   * Append lines that arrived together: one write per batch (rotation still
   * falls between lines), so a chatty container costs a write per chunk of
   * output, not per line.
   */
  async writeLines(stream: LogEntry["stream"], texts: string[]): Promise<void> {
    const time = new Date().toISOString();
    let batch: Uint8Array[] = [];
    let batchSize = 0;
    for (const text of texts) {
      const line = this.#enc.encode(JSON.stringify({ log: text, stream, time }) + "\n");
      const size = this.#size + batchSize;
      if (size > 0 && size + line.length > this.rotation.maxSize) {
        await this.#append(batch, batchSize);
        [batch, batchSize] = [[], 0];
        await this.#rotate();
      }
      batch.push(line);
      batchSize += line.length;
    }
    await this.#append(batch, batchSize);
  }

  async #append(lines: Uint8Array[], size: number): Promise<void> {
    if (size === 0) return;
    const buf = new Uint8Array(size);
    let at = 0;
    for (const l of lines) {
      buf.set(l, at);
      at += l.length;
    }
    for (let off = 0; off < buf.length;) off += await this.#file.write(buf.subarray(off));
    this.#size += size;
  }

  async #rotate(): Promise<void> {
    this.#file.close();
    for (let i = this.rotation.maxFiles - 1; i >= 1; i--) {
      const from = i === 1 ? this.path : `${this.path}.${i - 1}`;
      try {
        await Deno.rename(from, `${this.path}.${i}`);
      } catch {
        // Fewer files than the limit so far.
      }
    }
    if (this.rotation.maxFiles <= 1) await Deno.truncate(this.path, 0).catch(() => {});
    this.#file = await Deno.open(this.path, { append: true, create: true, mode: 0o640 });
    this.#size = 0;
  }

  /** Close the file. */
  close(): void {
    this.#file.close();
  }
}

/**
 * Cuts output into log lines as it arrives: at newlines (Docker splits logs
 * there), and a long line without one at 16 KiB.
 *
 * @example
 * ```ts
 * const lines = new LineSplitter();
 * lines.push(new TextEncoder().encode("a\nb")); // ["a\n"]
 * lines.end(); // ["b"]
 * ```
 */
export class LineSplitter {
  readonly #dec = new TextDecoder();
  #pending = "";

  /** The lines `chunk` completes. */
  push(chunk: Uint8Array): string[] {
    this.#pending += this.#dec.decode(chunk, { stream: true });
    const lines: string[] = [];
    let start = 0;
    for (let nl; (nl = this.#pending.indexOf("\n", start)) >= 0; start = nl + 1) {
      lines.push(this.#pending.slice(start, nl + 1));
    }
    for (; this.#pending.length - start >= 16384; start += 16384) {
      lines.push(this.#pending.slice(start, start + 16384));
    }
    this.#pending = this.#pending.slice(start);
    return lines;
  }

  /** The unterminated rest, at the end of the output. */
  end(): string[] {
    const rest = this.#pending + this.#dec.decode();
    this.#pending = "";
    return rest ? [rest] : [];
  }
}

/**
 * Splits a byte stream into lines ({@linkcode LineSplitter}) and hands the
 * lines of each chunk to `emit` together.
 */
export async function copyLines(
  stream: ReadableStream<Uint8Array>,
  emit: (lines: string[]) => Promise<void>,
): Promise<void> {
  const splitter = new LineSplitter();
  for await (const chunk of stream) {
    const lines = splitter.push(chunk);
    if (lines.length) await emit(lines);
  }
  const rest = splitter.end();
  if (rest.length) await emit(rest);
}

/** Bytes per read of a log file: a reader holds this much plus one line. */
const CHUNK = 64 * 1024;

/**
 * Turns the bytes of a json-file log, read in pieces, into entries: a line
 * cut by a read waits for the rest, so memory stays at one read plus one line.
 *
 * @example
 * ```ts
 * const dec = new JsonLogDecoder();
 * const entries = dec.push(new TextEncoder().encode('{"log":"hi\\n","stream":"stdout","time":"t"}\n'));
 * const last = dec.finish();
 * ```
 */
export class JsonLogDecoder {
  #pending = "";
  readonly #dec = new TextDecoder();
  #buf: Uint8Array | null = null;

  /** Entries of the lines `bytes` completes. */
  push(bytes: Uint8Array): LogEntry[] {
    const text = this.#pending + this.#dec.decode(bytes, { stream: true });
    const cut = text.lastIndexOf("\n");
    this.#pending = text.slice(cut + 1);
    return cut < 0 ? [] : parseLogLines(text.slice(0, cut + 1));
  }

  /** Entries of the lines read from `file` until its end, in batches of one read each. */
  async *readFrom(file: Deno.FsFile): AsyncGenerator<LogEntry[]> {
    const buf = this.#buf ??= new Uint8Array(CHUNK);
    for (let n; (n = await file.read(buf)) !== null;) {
      const batch = this.push(buf.subarray(0, n));
      if (batch.length) yield batch;
    }
  }

  /** The entry of an unterminated last line, if it is whole JSON; then start afresh. */
  finish(): LogEntry[] {
    const rest = this.#pending + this.#dec.decode();
    this.#pending = "";
    return parseLogLines(rest);
  }
}

/** The log's file names, oldest first: `path.N-1` … `path.1`, then `path` when `current`. */
function logFiles(path: string, maxFiles: number, current: boolean): string[] {
  const out: string[] = [];
  for (let i = maxFiles - 1; i >= (current ? 0 : 1); i--) out.push(i === 0 ? path : `${path}.${i}`);
  return out;
}

async function openIfThere(path: string): Promise<Deno.FsFile | null> {
  try {
    return await Deno.open(path, { read: true });
  } catch {
    return null; // Fewer rotated files than the limit, or no log yet.
  }
}

/**
 * Stream the entries of the log, oldest first (rotated files, then the
 * current one unless `current` is false: a follower reads that), in batches
 * of one read each, so a log of any size costs one read's memory.
 *
 * @example
 * ```ts
 * for await (const batch of streamLogEntries("/var/lib/corral/containers/ID/ID-json.log")) {
 *   for (const e of batch) console.log(e.log);
 * }
 * ```
 */
export async function* streamLogEntries(
  path: string,
  maxFiles = DEFAULT_ROTATION.maxFiles,
  current = true,
): AsyncGenerator<LogEntry[]> {
  const dec = new JsonLogDecoder();
  for (const name of logFiles(path, maxFiles, current)) {
    const f = await openIfThere(name);
    if (!f) continue;
    try {
      yield* dec.readFrom(f);
      const last = dec.finish();
      if (last.length) yield last;
    } finally {
      f.close();
    }
  }
}

/**
 * The last `n` entries of the log, oldest first, read backwards from the end
 * of the newest file in fixed-size chunks: memory is bounded by `n` lines,
 * not by the size of the log. `currentEnd` stops the read of the current file
 * at that offset (where a follower takes over).
 *
 * @example
 * ```ts
 * const last10 = await readLogTail("/var/lib/corral/containers/ID/ID-json.log", 10);
 * ```
 */
export async function readLogTail(
  path: string,
  n: number,
  maxFiles = DEFAULT_ROTATION.maxFiles,
  currentEnd = Infinity,
): Promise<LogEntry[]> {
  const newestFirst: LogEntry[] = [];
  for (const name of logFiles(path, maxFiles, true).reverse()) {
    if (newestFirst.length >= n) break;
    const f = await openIfThere(name);
    if (!f) continue;
    try {
      const size = (await f.stat()).size;
      await tailOfFile(f, name === path ? Math.min(size, currentEnd) : size, n, newestFirst);
    } finally {
      f.close();
    }
  }
  return newestFirst.reverse();
}

/** Adds the entries of `file` before `end` to `out`, newest first, until it holds `n`. */
async function tailOfFile(
  file: Deno.FsFile,
  end: number,
  n: number,
  out: LogEntry[],
): Promise<void> {
  const dec = new TextDecoder();
  const take = (line: Uint8Array) => {
    const [e] = parseLogLines(dec.decode(line));
    if (e) out.push(e);
  };
  // The bytes before the earliest newline seen: a line whose start is not read yet.
  let rest = new Uint8Array(0);
  for (let pos = end; pos > 0 && out.length < n;) {
    const size = Math.min(CHUNK, pos);
    pos -= size;
    const buf = new Uint8Array(size + rest.length);
    await file.seek(pos, Deno.SeekMode.Start);
    for (let got = 0; got < size;) {
      const r = await file.read(buf.subarray(got, size));
      if (r === null) return; // Truncated under us (a rotation with one file): nothing older.
      got += r;
    }
    buf.set(rest, size);
    // Newlines are single bytes never inside a UTF-8 sequence: cutting bytes at them is safe.
    // (`stop > 0` matters: lastIndexOf(x, -1) would search again from the end.)
    let stop = buf.length;
    for (let nl; out.length < n && stop > 0 && (nl = buf.lastIndexOf(0x0a, stop - 1)) >= 0;) {
      take(buf.subarray(nl + 1, stop));
      stop = nl;
    }
    rest = buf.slice(0, stop);
    if (pos === 0 && out.length < n) take(rest); // The file's first line.
  }
}

/** Parse json-file lines; a torn last line (still being written) is skipped. */
export function parseLogLines(text: string): LogEntry[] {
  const out: LogEntry[] = [];
  for (const line of text.split("\n")) {
    if (!line) continue;
    try {
      out.push(JSON.parse(line));
    } catch {
      // Partial line at the end of a file being appended to.
    }
  }
  return out;
}
