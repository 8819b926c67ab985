/**
 * Following a container's json-file log while the shim appends to it. The
 * file stays open, so a log removed by auto-remove can still be drained, and
 * a rotation (new inode at the path) is followed.
 * @module
 */
import { JsonLogDecoder, type LogEntry } from "../../shim/mod.ts";

/**
 * Reads new complete lines from a growing log file.
 *
 * @example
 * ```ts
 * import { LogFollower } from "./follow.ts";
 * const f = await LogFollower.open("/var/lib/corral/containers/ID/ID-json.log", false);
 * for await (const batch of f.read()) console.log(batch.length);
 * f.close();
 * ```
 */
export class LogFollower {
  #file: Deno.FsFile | null;
  #ino: number | null;
  #dec = new JsonLogDecoder();

  private constructor(
    readonly path: string,
    file: Deno.FsFile | null,
    ino: number | null,
    /** Where following starts in the current file: what is before it is for a tail read. */
    readonly offset: number,
  ) {
    this.#file = file;
    this.#ino = ino;
  }

  /** Open the log positioned at its end (or at its start, for `logs -f`). */
  static async open(path: string, fromStart: boolean): Promise<LogFollower> {
    try {
      const f = await Deno.open(path, { read: true });
      const offset = fromStart ? 0 : await f.seek(0, Deno.SeekMode.End);
      return new LogFollower(path, f, (await f.stat()).ino, offset);
    } catch {
      return new LogFollower(path, null, null, 0);
    }
  }

  /** Entries appended since the last read, in batches of one read each. */
  async *read(): AsyncGenerator<LogEntry[]> {
    if (!this.#file) {
      try {
        this.#file = await Deno.open(this.path, { read: true });
        this.#ino = (await this.#file.stat()).ino;
      } catch {
        return;
      }
    }
    yield* this.#dec.readFrom(this.#file);
    // A rotation moved the file away: finish the old one, then follow the new one.
    let ino: number | null;
    try {
      ino = (await Deno.stat(this.path)).ino;
    } catch {
      return; // Removed (auto-remove): what we have is all there is.
    }
    if (ino === this.#ino) return;
    const last = this.#dec.finish();
    if (last.length) yield last;
    this.#file.close();
    this.#file = null;
    try {
      this.#file = await Deno.open(this.path, { read: true });
    } catch {
      return; // Gone again: the next read retries.
    }
    this.#ino = (await this.#file.stat()).ino;
    yield* this.#dec.readFrom(this.#file);
  }

  /** Close the file. */
  close(): void {
    this.#file?.close();
    this.#file = null;
  }
}
