/**
 * The cleanup of an exited container, shared by the supervisor and the gc
 * (behaviour.md §3.4): runc delete, unmount the rootfs, remove the cgroup
 * dirs, remove the state dir. Idempotent; the first failure is thrown.
 * @module
 */
import { join } from "node:path";
import { mountsUnder, removeAll, unmount } from "../sys/mod.ts";
import { removeCgroups } from "./cgroups.ts";
import type { Runc } from "./runc.ts";

/** What identifies a container's resources. */
export interface ContainerResources {
  id: string;
  /** The bundle/state dir (`--state/containers/ID`). */
  bundle: string;
  /** e.g. "/corral/ID". */
  cgroupsPath: string;
}

/** The rootfs mount point inside the bundle. */
export function rootfsPath(bundle: string): string {
  return join(bundle, "rootfs");
}

/**
 * Clean up after a container's exit. Throws (with the reason) when a step
 * fails: a busy mount (EBUSY), a cgroup with tasks, a runc that fails.
 */
export async function cleanupContainer(runc: Runc, r: ContainerResources): Promise<void> {
  await runc.delete(r.id);
  unmount(rootfsPath(r.bundle));
  removeCgroups(r.cgroupsPath);
  // Never recurse into a still-mounted rootfs: that would delete the container's files.
  const left = mountsUnder(r.bundle);
  if (left.length > 0) throw new Error(`mounts left under ${r.bundle}: ${left.join(", ")}`);
  await removeAll(r.bundle);
}
