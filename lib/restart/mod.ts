/**
 * The restart manager (seed 003): policies, decision, backoff, cancel.
 *
 * @example
 * ```ts
 * import { decideRestart, parseRestartPolicy } from "./mod.ts";
 * const facts = { policy: parseRestartPolicy("always"), failureCount: 0, lastDelayMs: 0, manuallyStopped: false };
 * decideRestart(facts, { exitCode: 0, ranForMs: 20 }).restart; // true
 * ```
 * @module
 */
export * from "./policy.ts";
export * from "./decide.ts";
