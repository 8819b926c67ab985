/**
 * corral as a library: the API client and the public types (also alone as
 * `./client.ts`), the daemon, and the command line.
 *
 * @example
 * ```ts
 * import { ApiClient, DEFAULT_DAEMON_OPTIONS, startDaemon } from "./mod.ts";
 * const host = "unix:///tmp/corral/corral.sock";
 * const options = { root: "/tmp/corral/root", state: "/tmp/corral/state", host };
 * const daemon = await startDaemon({ ...DEFAULT_DAEMON_OPTIONS, ...options });
 * const api = new ApiClient(host);
 * console.log(await api.json("GET", "/containers/json?all=1"));
 * api.close();
 * await daemon.shutdown();
 * ```
 * @module
 */
export * from "./client.ts";
export { DEFAULT_DAEMON_OPTIONS, startDaemon } from "./lib/daemon/mod.ts";
export type { Daemon, DaemonOptions } from "./lib/daemon/mod.ts";
export type { Backoff } from "./lib/restart/mod.ts";
export { runCli } from "./lib/cli/mod.ts";
