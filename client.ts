/**
 * The corral API client alone: what a program that drives a running daemon
 * needs, without the daemon's modules (the types below cost nothing at run
 * time).
 *
 * @example
 * ```ts
 * import { ApiClient, type ContainerRecord, CorralError } from "./client.ts";
 * const api = new ApiClient("unix:///run/corral/corral.sock");
 * try {
 *   const web = await api.json<ContainerRecord>("GET", "/containers/web/json");
 *   console.log(web.State.Status);
 * } catch (err) {
 *   if (!(err instanceof CorralError && err.kind === "not_found")) throw err;
 * } finally {
 *   api.close();
 * }
 * ```
 * @module
 */
export {
  API_VERSION,
  ApiClient,
  CORRAL_VERSION,
  decodeFrames,
  DEFAULT_HOST,
  STDERR,
  STDOUT,
} from "./lib/api/mod.ts";
export { CorralError, type ErrorKind } from "./lib/errdefs/mod.ts";
export type {
  ContainerConfig,
  ContainerRecord,
  ContainerState,
  ContainerStatus,
  HealthConfig,
  HealthLogEntry,
  HealthState,
  HostConfig,
  RestartPolicy,
  RestartPolicyName,
} from "./lib/container/mod.ts";
export type { CorralEvent } from "./lib/events/mod.ts";
