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
 * await m.run(async () => { await Promise.resolve("one section at a time"); });
 * ```
 */
export class Mutex {
  #tail: Promise<unknown> = Promise.resolve();

  /** Run `fn` after every section queued before it has finished. */
  run<T>(fn: () => Promise<T>): Promise<T> {
    const result = this.#tail.then(fn);
    this.#tail = result.catch(() => {});
    return result;
  }
}
