/**
 * A promise-chain mutex: operations on one container run one at a time.
 * @module
 */

/**
 * Serializes async sections.
 *
 * @example
 * ```ts
 * const m = new Mutex();
 * await m.run(async () => { await doStart(); });
 * ```
 */
export class Mutex {
  #tail: Promise<unknown> = Promise.resolve();
  #held = 0;

  /** Run `fn` after every section queued before it has finished. */
  run<T>(fn: () => Promise<T>): Promise<T> {
    this.#held++;
    const result = this.#tail.then(fn);
    this.#tail = result.catch(() => {}).finally(() => this.#held--);
    return result;
  }

  /** Whether a section is running or queued. */
  get busy(): boolean {
    return this.#held > 0;
  }
}
