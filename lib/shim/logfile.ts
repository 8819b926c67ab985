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
 * Splits a byte stream into lines (Docker splits logs at newlines; a long
 * line without one is cut at 16 KiB) and hands the lines of each chunk to
 * `emit` together.
 */
export async function copyLines(
  stream: ReadableStream<Uint8Array>,
  emit: (lines: string[]) => Promise<void>,
): Promise<void> {
  const dec = new TextDecoder();
  let pending = "";
  for await (const chunk of stream) {
    pending += dec.decode(chunk, { stream: true });
    const lines: string[] = [];
    let start = 0;
    for (let nl; (nl = pending.indexOf("\n", start)) >= 0; start = nl + 1) {
      lines.push(pending.slice(start, nl + 1));
    }
    for (; pending.length - start >= 16384; start += 16384) {
      lines.push(pending.slice(start, start + 16384));
    }
    pending = pending.slice(start);
    if (lines.length) await emit(lines);
  }
  pending += dec.decode();
  if (pending) await emit([pending]);
}

/**
 * Read every entry of the log (rotated files first, oldest first); with
 * `current` false, only the rotated files (a follower reads the current one).
 */
export async function readLogEntries(
  path: string,
  maxFiles = DEFAULT_ROTATION.maxFiles,
  current = true,
): Promise<LogEntry[]> {
  const entries: LogEntry[] = [];
  for (let i = maxFiles - 1; i >= (current ? 0 : 1); i--) {
    const p = i === 0 ? path : `${path}.${i}`;
    let text: string;
    try {
      text = await Deno.readTextFile(p);
    } catch {
      continue;
    }
    entries.push(...parseLogLines(text));
  }
  return entries;
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
