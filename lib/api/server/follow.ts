/**
 * Following a container's json-file log while the shim appends to it. The
 * file stays open, so a log removed by auto-remove can still be drained, and
 * a rotation (new inode at the path) is followed.
 * @module
 */
import { type LogEntry, parseLogLines } from "../../shim/mod.ts";

/**
 * Reads new complete lines from a growing log file.
 *
 * @example
 * ```ts
 * const f = await LogFollower.open(path, false);
 * const fresh = await f.read();
 * ```
 */
export class LogFollower {
  #file: Deno.FsFile | null;
  #ino: number | null;
  #pending = "";
  readonly #dec = new TextDecoder();

  private constructor(readonly path: string, file: Deno.FsFile | null, ino: number | null) {
    this.#file = file;
    this.#ino = ino;
  }

  /** Open the log positioned at its end (or at its start, for `logs -f`). */
  static async open(path: string, fromStart: boolean): Promise<LogFollower> {
    try {
      const f = await Deno.open(path, { read: true });
      if (!fromStart) await f.seek(0, Deno.SeekMode.End);
      return new LogFollower(path, f, (await f.stat()).ino);
    } catch {
      return new LogFollower(path, null, null);
    }
  }

  /** Entries appended since the last read. */
  async read(): Promise<LogEntry[]> {
    const out: LogEntry[] = [];
    if (!this.#file) {
      try {
        this.#file = await Deno.open(this.path, { read: true });
        this.#ino = (await this.#file.stat()).ino;
      } catch {
        return out;
      }
    }
    out.push(...await this.#drain());
    // A rotation moved the file away: finish the old one, then follow the new one.
    try {
      const ino = (await Deno.stat(this.path)).ino;
      if (ino !== this.#ino) {
        this.#file.close();
        this.#file = await Deno.open(this.path, { read: true });
        this.#ino = ino;
        out.push(...await this.#drain());
      }
    } catch {
      // Removed (auto-remove): what we have is all there is.
    }
    return out;
  }

  async #drain(): Promise<LogEntry[]> {
    const buf = new Uint8Array(64 * 1024);
    let text = "";
    for (;;) {
      const n = await this.#file!.read(buf);
      if (n === null || n === 0) break;
      text += this.#dec.decode(buf.subarray(0, n), { stream: true });
    }
    text = this.#pending + text;
    const cut = text.lastIndexOf("\n");
    this.#pending = text.slice(cut + 1);
    return cut < 0 ? [] : parseLogLines(text.slice(0, cut + 1));
  }

  /** Close the file. */
  close(): void {
    this.#file?.close();
    this.#file = null;
  }
}
