/**
 * The runtime: runc, the state dir's layout, the OCI spec, cgroups, shim
 * launch and cleanup.
 *
 * @example
 * ```ts
 * import { Runc, StateDir, cleanupContainer } from "./mod.ts";
 * const state = new StateDir("/run/corral");
 * const runc = new Runc("runc", state.runcRoot);
 * await cleanupContainer(runc, { id: "ID", bundle: state.bundle("ID"), cgroupsPath: "/corral/ID" });
 * ```
 * @module
 */
export * from "./runc.ts";
export * from "./bundle.ts";
export * from "./spec.ts";
export * from "./cgroups.ts";
export * from "./cgroup_stats.ts";
export * from "./cleanup.ts";
export * from "./launch.ts";
export * from "./self.ts";
