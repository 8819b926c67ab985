/**
 * Events: Docker-shaped, streamed to subscribers, journaled under `--root`.
 *
 * @example
 * ```ts
 * import { EventLog } from "./mod.ts";
 * const events = await EventLog.open(root);
 * const sub = events.subscribe({ type: ["container"] });
 * ```
 * @module
 */
export * from "./events.ts";
export * from "./stream.ts";
