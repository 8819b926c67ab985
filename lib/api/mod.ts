/**
 * The Docker-shaped HTTP API: server (router over the services) and client.
 *
 * @example
 * ```ts
 * import { ApiClient } from "./mod.ts";
 * const api = new ApiClient("unix:///run/corral/corral.sock");
 * await api.json("POST", "/containers/web/start");
 * ```
 * @module
 */
export * from "./server.ts";
export * from "./system.ts";
export * from "./client.ts";
export * from "./stream.ts";
export * from "./follow.ts";
export * from "./http.ts";
