/**
 * Health checks: timers, `State.Health`, and the action on unhealthy.
 *
 * @example
 * ```ts
 * import { HealthMonitor } from "./mod.ts";
 * const health = new HealthMonitor(service, execs);
 * ```
 * @module
 */
export * from "./health.ts";
