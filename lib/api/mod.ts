/**
 * The Docker-shaped HTTP API, client side: the client, the stream framing and
 * the versions on the wire. The daemon's side is `./server/mod.ts`, kept apart
 * so a CLI call does not load the daemon.
 *
 * @example
 * ```ts
 * import { ApiClient } from "./mod.ts";
 * const api = new ApiClient("unix:///run/corral/corral.sock");
 * await api.json("POST", "/containers/web/start");
 * ```
 * @module
 */
export * from "./client.ts";
export * from "./detach_keys.ts";
export * from "./duration.ts";
export * from "./hijack.ts";
export * from "./stream.ts";
export * from "./version.ts";
