/**
 * The volume commands that need the containers: `volume rm` (refused while
 * any container, running or not, mounts the volume), `volume prune` (the
 * volumes no container mounts: anonymous ones only unless `all`, as Docker
 * 23+), and how many containers mount each volume (`system df`).
 * @module
 */
import { conflict, errorKind } from "../errdefs/mod.ts";
import { isAnonymous, type VolumeRecord } from "../volume/mod.ts";
import { matchesLabel } from "./labels.ts";
import type { ContainerService } from "./service.ts";
import { volumeUsers } from "./volumes.ts";

/**
 * Remove a volume no container mounts; with `force`, a missing one is no
 * error (Docker's `volume rm -f`); a volume in use is refused either way.
 *
 * @example
 * ```ts
 * import type { ContainerService } from "./service.ts";
 * declare const svc: ContainerService;
 * await removeVolume(svc, "db", false); // 409 while a container mounts it
 * ```
 */
export async function removeVolume(
  svc: ContainerService,
  name: string,
  force: boolean,
): Promise<void> {
  const volumes = svc.opts.volumes;
  if (force && !volumes.find(name)) return;
  volumes.get(name);
  const users = volumeUsers(svc.store.list().map((c) => c.rec), name);
  if (users.length > 0) {
    throw conflict(`remove ${name}: volume is in use - [${users.map((r) => r.Id).join(", ")}]`);
  }
  try {
    await volumes.remove(name);
  } catch (err) {
    if (!(force && errorKind(err) === "not_found")) throw err;
  }
}

/** How many containers mount a volume. */
export function volumeRefCount(svc: ContainerService, name: string): number {
  return volumeUsers(svc.store.list().map((c) => c.rec), name).length;
}

/** Which unused volumes a prune removes. */
export interface VolumePruneFilter {
  /** Named ones too (Docker 23+'s `all`; API before 1.42 always). */
  all: boolean;
  labels?: string[];
  notLabels?: string[];
}

/**
 * Remove the volumes no container mounts that pass `filter`; returns their
 * names and the bytes they held.
 *
 * @example
 * ```ts
 * import type { ContainerService } from "./service.ts";
 * declare const svc: ContainerService;
 * const { VolumesDeleted, SpaceReclaimed } = await pruneVolumes(svc, { all: false });
 * ```
 */
export async function pruneVolumes(
  svc: ContainerService,
  filter: VolumePruneFilter,
): Promise<{ VolumesDeleted: string[]; SpaceReclaimed: number }> {
  const picked = svc.opts.volumes.list().filter((v: VolumeRecord) =>
    (filter.all || isAnonymous(v)) &&
    (filter.labels ?? []).every((l) => matchesLabel(v.Labels, l)) &&
    !(filter.notLabels ?? []).some((l) => matchesLabel(v.Labels, l)) &&
    volumeRefCount(svc, v.Name) === 0
  );
  const report = { VolumesDeleted: [] as string[], SpaceReclaimed: 0 };
  for (const v of picked) {
    const size = await svc.opts.volumes.size(v.Name);
    try {
      await removeVolume(svc, v.Name, false);
    } catch {
      // Taken by a container meanwhile: not unused any more.
      continue;
    }
    report.VolumesDeleted.push(v.Name);
    report.SpaceReclaimed += size;
  }
  return report;
}
