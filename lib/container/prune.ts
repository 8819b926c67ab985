/**
 * `docker container prune`: remove every stopped container, optionally only
 * those created before a time or matching label filters.
 * @module
 */
import { errorMessage } from "../errdefs/mod.ts";
import { matchesLabel } from "./labels.ts";
import type { ContainerService } from "./service.ts";
import { getLogger } from "@logtape/logtape";

const log = getLogger(["corral", "container"]);

/** Which stopped containers to prune (Docker's `until`, `label`, `label!` filters). */
export interface PruneFilter {
  /** Only containers created before this time (ms since the epoch). */
  until?: number;
  /** Every expression (`KEY` or `KEY=VALUE`) must match. */
  labels?: string[];
  /** No expression may match. */
  notLabels?: string[];
}

/** Docker's prune answer. */
export interface PruneReport {
  ContainersDeleted: string[];
  /** Bytes of the removed containers' writable layers. */
  SpaceReclaimed: number;
}

// Running, restarting (in its backoff) and gc containers are not "stopped".
const PRUNABLE = new Set(["created", "exited", "dead"]);

/**
 * Remove the stopped containers that pass `filter`. A container that starts
 * or is removed meanwhile is skipped, not an error.
 *
 * @example
 * ```ts
 * import type { ContainerService } from "./service.ts";
 * declare const svc: ContainerService;
 * const { ContainersDeleted, SpaceReclaimed } = await pruneContainers(svc, { labels: ["ci"] });
 * ```
 */
export async function pruneContainers(
  svc: ContainerService,
  filter: PruneFilter = {},
): Promise<PruneReport> {
  const report: PruneReport = { ContainersDeleted: [], SpaceReclaimed: 0 };
  const candidates = svc.store.list().filter((c) => {
    const r = c.rec;
    if (!PRUNABLE.has(r.State.Status) || c.restartPending) return false;
    if (filter.until !== undefined && Date.parse(r.Created) >= filter.until) return false;
    const labels = r.Config.Labels ?? {};
    if (!(filter.labels ?? []).every((l) => matchesLabel(labels, l))) return false;
    return !(filter.notLabels ?? []).some((l) => matchesLabel(labels, l));
  });
  for (const c of candidates) {
    const size = await svc.disk.upperSize(c.id);
    try {
      await svc.remove(c.id);
    } catch (err) {
      log.warn("prune: skipped {name}: {error}", { name: c.name, error: errorMessage(err) });
      continue;
    }
    report.ContainersDeleted.push(c.id);
    report.SpaceReclaimed += size;
  }
  svc.opts.events.emit("container", "prune", "", { reclaimed: String(report.SpaceReclaimed) });
  return report;
}
