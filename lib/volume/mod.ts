/**
 * Volumes: named and anonymous data directories that outlive containers,
 * on Docker's local driver (a plain directory, a tmpfs, or a bind of a host
 * directory), with Docker's copy-up of the image's content.
 *
 * @example
 * ```ts
 * import { VolumeStore } from "./mod.ts";
 * const volumes = new VolumeStore("/var/lib/corral");
 * await volumes.load();
 * await volumes.create({ Name: "db" });
 * ```
 * @module
 */
export * from "./model.ts";
export * from "./options.ts";
export * from "./copy_up.ts";
export * from "./store.ts";
