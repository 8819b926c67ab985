/**
 * Restore (seed 002): reconcile persisted containers with reality at start.
 *
 * @example
 * ```ts
 * import { restoreContainers } from "./mod.ts";
 * import type { RestorePort } from "../container/mod.ts";
 * declare const port: RestorePort;
 * const report = await restoreContainers(port, "/run/corral");
 * ```
 * @module
 */
export * from "./restore.ts";
