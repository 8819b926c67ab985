/**
 * The daemon: module wiring and the API server's lifetime.
 *
 * @example
 * ```ts
 * import { DEFAULT_DAEMON_OPTIONS, startDaemon } from "./mod.ts";
 * const d = await startDaemon(DEFAULT_DAEMON_OPTIONS);
 * await d.finished;
 * ```
 * @module
 */
export * from "./daemon.ts";
