/**
 * Events: Docker-shaped, streamed to subscribers, journaled under `--root`.
 *
 * @example
 * ```ts
 * import { EventLog } from "./mod.ts";
 * const events = await EventLog.open("/var/lib/corral");
 * const sub = events.subscribe({ type: ["container"] });
 * ```
 * @module
 */
export * from "./events.ts";
export * from "./stream.ts";
