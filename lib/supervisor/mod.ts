/**
 * The supervisor (seed 000): exit fifos under one epoll.
 *
 * @example
 * ```ts
 * import { Supervisor } from "./mod.ts";
 * const sup = new Supervisor((id, info) => handleExit(id, info));
 * ```
 * @module
 */
export * from "./supervisor.ts";
export * from "./exit.ts";
