/**
 * The container module: the state machine of each container, its model,
 * persistence and store, the start path, the restart flow and the user
 * operations (API → container core → runtime/shim; exit → supervisor → gc →
 * restart flow).
 *
 * @example
 * ```ts
 * import { ContainerService, type ServiceOptions } from "./mod.ts";
 * declare const opts: ServiceOptions;
 * const svc = new ContainerService(opts);
 * const id = await svc.create({ config: { Image: "busybox", Cmd: ["echo", "hi"] } });
 * await svc.start(id);
 * ```
 * @module
 */
export * from "./model.ts";
export * from "./names.ts";
export * from "./persist.ts";
export * from "./container.ts";
export * from "./store.ts";
export * from "./lock.ts";
export * from "./service.ts";
export * from "./exec.ts";
export * from "./attach.ts";
export * from "./labels.ts";
export * from "./top.ts";
export * from "./stats.ts";
export * from "./prune.ts";
export * from "./config.ts";
export * from "./core.ts";
export * from "./system.ts";
export * from "./restart_flow.ts";
export * from "./restore_port.ts";
export * from "./etc_files.ts";
export * from "./volumes.ts";
export * from "./volume_admin.ts";
export * from "./networking.ts";
