/**
 * Restore (seed 002): reconcile persisted containers with reality at start.
 *
 * @example
 * ```ts
 * import { restoreContainers } from "./mod.ts";
 * const report = await restoreContainers(service);
 * ```
 * @module
 */
export * from "./restore.ts";
