/**
 * The shim: its process (`runShim`), its contract with the daemon (state
 * dir files, handshake, json-file log) and runc's command line.
 *
 * @example
 * ```ts
 * import { exitFifoPath, readExitFile } from "./mod.ts";
 * const exit = await readExitFile("/run/corral/containers/ID");
 * ```
 * @module
 */
export * from "./contract.ts";
export * from "./attach_protocol.ts";
export * from "./frames.ts";
export * from "./logfile.ts";
export * from "./runc_args.ts";
export { parseShimArgs, runShim, shimArgs, type ShimOptions } from "./shim.ts";
