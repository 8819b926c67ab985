/**
 * corral as a library: the daemon, the API client, and the lifecycle modules
 * (supervisor, gc, restore, restart manager) with their typed interfaces.
 *
 * @example
 * ```ts
 * import { ApiClient } from "./mod.ts";
 * const api = new ApiClient("unix:///run/corral/corral.sock");
 * console.log(await api.json("GET", "/containers/json?all=1"));
 * ```
 * @module
 */
export { ApiClient, CORRAL_VERSION, DEFAULT_HOST } from "./lib/api/mod.ts";
export { createHandler } from "./lib/api/server/mod.ts";
export { DEFAULT_DAEMON_OPTIONS, startDaemon } from "./lib/daemon/mod.ts";
export type { DaemonOptions } from "./lib/daemon/mod.ts";
export { ContainerService } from "./lib/container/mod.ts";
export type { ContainerRecord, ContainerState, HostConfig } from "./lib/container/mod.ts";
export { Supervisor } from "./lib/supervisor/mod.ts";
export { GcHandler } from "./lib/gc/mod.ts";
export type { GcEntry } from "./lib/gc/mod.ts";
export { restoreContainers } from "./lib/restore/mod.ts";
export { parseRestartPolicy, RestartManager } from "./lib/restart/mod.ts";
export { ImageStore } from "./lib/image/mod.ts";
export { EventLog } from "./lib/events/mod.ts";
export { runCli } from "./lib/cli/mod.ts";
