/**
 * Health checks: timers, `State.Health`, and the action on unhealthy.
 *
 * @example
 * ```ts
 * import { HealthMonitor } from "./mod.ts";
 * import type { ContainerService, ExecManager } from "../container/mod.ts";
 * declare const service: ContainerService, execs: ExecManager;
 * const health = new HealthMonitor(service, execs);
 * ```
 * @module
 */
export * from "./health.ts";
