/**
 * The restart manager (seed 003): policies, decision, backoff, cancel.
 *
 * @example
 * ```ts
 * import { parseRestartPolicy, RestartManager } from "./mod.ts";
 * const rm = new RestartManager(parseRestartPolicy("always"));
 * rm.shouldRestart(0, false, 20).restart; // true
 * ```
 * @module
 */
export * from "./policy.ts";
export * from "./manager.ts";
