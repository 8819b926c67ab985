/**
 * Bounded concurrency for setting up many containers at once.
 * @module
 */

/**
 * Run `fn` over `items` with at most `limit` calls in flight; results keep
 * the order of `items`. The first failure rejects (after the in-flight calls
 * settle).
 *
 * @example
 * ```ts
 * const ids = await inPool([1, 2, 3], 2, async (i) => `c${i}`);
 * ```
 */
export async function inPool<T, R>(
  items: T[],
  limit: number,
  fn: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i], i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

/**
 * Poll `cond` every `everyMs` until it holds; throws after `timeoutMs`.
 *
 * @example
 * ```ts
 * await until(() => Deno.readDirSync("/tmp").next().done === false, 1000, "a file in /tmp");
 * ```
 */
export async function until(
  cond: () => boolean | Promise<boolean>,
  timeoutMs: number,
  what: string,
  everyMs = 10,
): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!(await cond())) {
    if (performance.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms: ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/**
 * 0, 1, …, n-1.
 *
 * @example
 * ```ts
 * range(3); // [0, 1, 2]
 * ```
 */
export function range(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i);
}
