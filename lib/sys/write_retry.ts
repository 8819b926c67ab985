/**
 * Writes that must land eventually. A write that fails (a full disk: ENOSPC)
 * must not stop what depends on it, such as a signal to a container filling
 * that disk: the caller goes on, and the write is retried, the gc's way, with
 * a growing delay until it succeeds. Only the latest write of a key matters.
 * @module
 */

/**
 * The retry schedule of what must succeed eventually (a write here, a
 * cleanup in the gc): 100 ms, doubling per try, up to 5 s.
 *
 * @example
 * ```ts
 * [1, 2, 3, 7].map(retryDelayMs); // [100, 200, 400, 5000]
 * ```
 */
export function retryDelayMs(tries: number): number {
  return Math.min(100 * 2 ** Math.max(0, tries - 1), 5000);
}

/** How a retried write is reported. */
export interface WriteRetryReport {
  /** The first failure of a streak (later ones of the same streak are not reported). */
  failed(key: string, err: unknown): void;
  /** A write that had failed has landed. */
  recovered(key: string, tries: number): void;
}

interface Pending {
  write: () => Promise<void>;
  tries: number;
  timer: ReturnType<typeof setTimeout> | undefined;
}

/**
 * Keyed writes retried until they succeed.
 *
 * @example
 * ```ts
 * const writes = new WriteRetry({ failed: () => {}, recovered: () => {} });
 * const landed = await writes.write("state", () => Deno.writeTextFile("/tmp/state.json", "{}"));
 * writes.close();
 * ```
 */
export class WriteRetry {
  readonly #pending = new Map<string, Pending>();

  constructor(readonly report: WriteRetryReport) {}

  /**
   * Write now; true when it landed. On failure the write is kept (replacing
   * any earlier one of the same key) and retried in the background.
   */
  async write(key: string, write: () => Promise<void>): Promise<boolean> {
    const pending = this.#pending.get(key);
    if (pending) {
      // A retry is scheduled: it writes this newer content.
      pending.write = write;
      return false;
    }
    try {
      await write();
      return true;
    } catch (err) {
      this.report.failed(key, err);
      this.#retry(key, { write, tries: 1, timer: undefined });
      return false;
    }
  }

  /** Whether a write of this key is waiting for its retry. */
  has(key: string): boolean {
    return this.#pending.has(key);
  }

  /** Drop the pending write of a key (what it would write is gone). */
  cancel(key: string): void {
    clearTimeout(this.#pending.get(key)?.timer);
    this.#pending.delete(key);
  }

  /** Stop every retry. */
  close(): void {
    for (const key of [...this.#pending.keys()]) this.cancel(key);
  }

  #retry(key: string, p: Pending): void {
    this.#pending.set(key, p);
    p.timer = setTimeout(async () => {
      const write = p.write;
      try {
        await write();
      } catch {
        if (this.#pending.get(key) !== p) return;
        p.tries++;
        this.#retry(key, p);
        return;
      }
      if (this.#pending.get(key) !== p) return;
      // Newer content arrived while this write ran: write that too.
      if (p.write !== write) return this.#retry(key, p);
      this.#pending.delete(key);
      this.report.recovered(key, p.tries);
    }, retryDelayMs(p.tries));
    Deno.unrefTimer(p.timer);
  }
}
