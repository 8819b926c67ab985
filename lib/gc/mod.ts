/**
 * The gc (seed 000/001): a persisted list of failed cleanups, retried until
 * they succeed.
 *
 * @example
 * ```ts
 * import { GcHandler } from "./mod.ts";
 * const gc = new GcHandler(root, { reclaim, finished, failed });
 * await gc.load();
 * gc.start();
 * ```
 * @module
 */
export * from "./gc.ts";
