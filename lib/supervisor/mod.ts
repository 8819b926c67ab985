/**
 * The supervisor (seed 000): exit fifos under one epoll.
 *
 * @example
 * ```ts
 * import { Supervisor } from "./mod.ts";
 * const sup = new Supervisor((id, info) => console.log(`${id}: shim ${info.ppid} gone`));
 * ```
 * @module
 */
export * from "./supervisor.ts";
export * from "./exit.ts";
