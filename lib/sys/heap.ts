/**
 * Giving freed native memory back to the system. glibc's malloc returns
 * freed memory only from the top of its heap; what is freed below a live
 * allocation stays resident. A long-running daemon that spawns processes and
 * serves requests (its Rust side allocates through malloc) grows that way by
 * about 60 KiB per container run and removal, though nothing leaks
 * (BENCHMARKS.md, churn): `malloc_trim` releases it.
 * @module
 */
import { libc } from "./libc.ts";

/**
 * Release the free pages of malloc's heaps; returns whether any memory was
 * released.
 *
 * @example
 * ```ts
 * const timer = setInterval(releaseFreeHeap, 30_000);
 * Deno.unrefTimer(timer);
 * ```
 */
export function releaseFreeHeap(): boolean {
  return libc().malloc_trim(0n) === 1;
}
