/**
 * The gc (seed 000/001): a persisted list of failed cleanups, retried until
 * they succeed.
 *
 * @example
 * ```ts
 * import { GcHandler, type GcHooks } from "./mod.ts";
 * declare const hooks: GcHooks;
 * const gc = new GcHandler("/var/lib/corral", hooks);
 * await gc.load();
 * gc.start();
 * ```
 * @module
 */
export * from "./gc.ts";
