/**
 * The runtime: runc, the OCI spec, cgroups, shim launch and cleanup.
 *
 * @example
 * ```ts
 * import { Runc, cleanupContainer } from "./mod.ts";
 * const runc = new Runc("runc", "/run/corral/runc");
 * await cleanupContainer(runc, { id, bundle, cgroupsPath: `/corral/${id}` });
 * ```
 * @module
 */
export * from "./runc.ts";
export * from "./spec.ts";
export * from "./cgroups.ts";
export * from "./cleanup.ts";
export * from "./launch.ts";
export * from "./self.ts";
