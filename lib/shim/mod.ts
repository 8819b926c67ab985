/**
 * The shim: its process (`runShim`) and its contract with the daemon (state
 * dir files, handshake, json-file log).
 *
 * @example
 * ```ts
 * import { exitFifoPath, readExitFile } from "./mod.ts";
 * const exit = await readExitFile("/run/corral/containers/ID");
 * ```
 * @module
 */
export * from "./contract.ts";
export * from "./logfile.ts";
export { parseShimArgs, runShim, shimArgs, type ShimOptions } from "./shim.ts";
