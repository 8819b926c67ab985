/**
 * The Docker-shaped HTTP API, daemon side: the router over the services and
 * the unix-socket server that hands upgraded connections to attach and exec.
 *
 * @example
 * ```ts
 * import { createHandler, serveUnix } from "./mod.ts";
 * declare const ctx: import("./mod.ts").ApiContext;
 * const server = await serveUnix("/run/corral/corral.sock", createHandler(ctx));
 * await server.close();
 * ```
 * @module
 */
export { type ApiContext, createHandler } from "./server.ts";
export * from "./system.ts";
export * from "./follow.ts";
export * from "./http.ts";
