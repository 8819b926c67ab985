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
  async write(stream: LogEntry["stream"], text: string): Promise<void> {
    const line = this.#enc.encode(
      JSON.stringify({ log: text, stream, time: new Date().toISOString() }) + "\n",
    );
    if (this.#size > 0 && this.#size + line.length > this.rotation.maxSize) await this.#rotate();
    await this.#file.write(line);
    this.#size += line.length;
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
 * line without one is cut at 16 KiB) and hands each to `emit`.
 */
export async function copyLines(
  stream: ReadableStream<Uint8Array>,
  emit: (line: string) => Promise<void>,
): Promise<void> {
  const dec = new TextDecoder();
  let pending = "";
  for await (const chunk of stream) {
    pending += dec.decode(chunk, { stream: true });
    let nl: number;
    while ((nl = pending.indexOf("\n")) >= 0) {
      await emit(pending.slice(0, nl + 1));
      pending = pending.slice(nl + 1);
    }
    while (pending.length >= 16384) {
      await emit(pending.slice(0, 16384));
      pending = pending.slice(16384);
    }
  }
  pending += dec.decode();
  if (pending) await emit(pending);
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
