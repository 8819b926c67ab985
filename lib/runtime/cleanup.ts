/**
 * The cleanup of an exited container, shared by the supervisor and the gc
 * (behaviour.md §3.4): runc delete, unmount the rootfs, remove the cgroup
 * dirs, release what else the run held (its volumes), remove the state dir.
 * Idempotent; the first failure is thrown.
 * @module
 */
import { unmount } from "../sys/mod.ts";
import type { Bundle } from "./bundle.ts";
import { removeCgroups } from "./cgroups.ts";
import type { Runc } from "./runc.ts";

/** What identifies a container's resources. */
export interface ContainerResources {
  id: string;
  /** The bundle (state dir). */
  bundle: Bundle;
  /** e.g. "/corral/ID". */
  cgroupsPath: string;
  /**
   * Release what else the run held (its volumes' mounts); idempotent. Done
   * before the state dir goes, so a failure leaves the run to be cleaned.
   */
  release?: () => Promise<void>;
}

/**
 * Clean up after a container's exit. Throws (with the reason) when a step
 * fails: a busy mount (EBUSY), a cgroup with tasks, a runc that fails.
 */
export async function cleanupContainer(runc: Runc, r: ContainerResources): Promise<void> {
  await runc.delete(r.id);
  unmount(r.bundle.rootfs);
  removeCgroups(r.cgroupsPath);
  await r.release?.();
  await r.bundle.delete();
}
