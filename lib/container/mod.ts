/**
 * The container module: model, names, persistence, store and the lifecycle
 * service (API → container module → runtime/shim; exit → supervisor → gc →
 * restart manager).
 *
 * @example
 * ```ts
 * import { ContainerService } from "./mod.ts";
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
export * from "./labels.ts";
export * from "./top.ts";
export * from "./prune.ts";
export * from "./config.ts";
export * from "./core.ts";
export * from "./system.ts";
export * from "./restart_flow.ts";
export * from "./restore_port.ts";
