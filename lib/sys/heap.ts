/**
 * Giving freed memory back to the system. Two things keep a long-running
 * daemon's RSS up after work that left nothing behind (BENCHMARKS.md, churn):
 * JS objects that are garbage but still hold native memory (a spawned child's
 * pipes and buffers are freed only when V8 collects their handles, and a
 * mostly idle daemon may not run a full collection for hours), and glibc's
 * malloc, which returns freed memory only from the top of its heap, so what
 * is freed below a live allocation stays resident until `malloc_trim`.
 * @module
 */
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { libc } from "./libc.ts";

/**
 * Release the free pages of malloc's heaps; returns whether any memory was
 * released.
 *
 * @example
 * ```ts
 * releaseFreeHeap();
 * ```
 */
export function releaseFreeHeap(): boolean {
  return libc().malloc_trim(0n) === 1;
}

let fullGc: (() => void) | undefined;

/**
 * Run a full V8 collection. V8 offers it only behind `--expose-gc`; the flag
 * is set at run time and the function taken from a fresh context, so neither
 * `deno run` nor the compiled binary needs a start-up flag.
 *
 * @example
 * ```ts
 * collectGarbage();
 * ```
 */
export function collectGarbage(): void {
  if (!fullGc) {
    setFlagsFromString("--expose-gc");
    fullGc = runInNewContext("gc") as () => void;
  }
  fullGc();
}

/**
 * Collect garbage, then trim malloc's heaps: what a daemon runs now and then
 * so its RSS follows what it really holds.
 *
 * @example
 * ```ts
 * const timer = setInterval(releaseMemory, 30_000);
 * Deno.unrefTimer(timer);
 * ```
 */
export function releaseMemory(): void {
  collectGarbage();
  releaseFreeHeap();
}
