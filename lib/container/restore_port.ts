/**
 * What restore (seed 002) may do to the container core, as one small
 * interface: load, adopt a live run, finish a run that ended while the daemon
 * was down, decide or resume a restart, reclaim leftovers. Restore is written
 * against this interface (and its unit tests against a fake of it).
 * @module
 */
import { errorMessage } from "../errdefs/mod.ts";
import {
  type ExitOutcome,
  type PidInfo,
  readRunEnd,
  reclaimRun,
  runDurationMs,
  type RunEndRead,
} from "../supervisor/mod.ts";
import type { GcEntry } from "../gc/mod.ts";
import type { Container } from "./container.ts";
import { type ContainerCore, NO_RUN } from "./core.ts";
import type { ContainerRecord } from "./model.ts";
import type { LoadFailure } from "./persist.ts";
import type { RestartFlow } from "./restart_flow.ts";
import type { ContainerSystem } from "./system.ts";
import { getLogger } from "@logtape/logtape";

const log = getLogger(["corral", "restore"]);

/** The core as restore sees it. */
export interface RestorePort {
  /** The system facts restore checks (exit fifos, processes, runc's state). */
  readonly sys: Pick<
    ContainerSystem,
    "openExitFifo" | "closeExitFifo" | "isAlive" | "killAndWait" | "runcStatus" | "hasStateDir"
  >;
  /**
   * Load every container on disk into the store. One whose config cannot be
   * loaded is listed too (unusable); a name already taken is made unique.
   */
  loadAll(): Promise<{ containers: Container[]; failed: LoadFailure[] }>;
  /** Whether the container's image is still there. */
  hasImage(c: Container): boolean;
  /** The gc owns the container: make sure it is listed (the state is the truth). */
  keepInGc(c: Container): Promise<void>;
  /** The container is not in gc: drop a stale gc entry, so nothing is collected twice. */
  forgetGc(id: string): Promise<void>;
  /** A live run: supervise its exit again. */
  adopt(c: Container, fifoFd: number, pids: PidInfo): void;
  /** A live run that is running: its health checks resume from the start. */
  resumeChecks(c: Container): void;
  /** A run that ended while the daemon was down: reclaim, record, then the restart policy. */
  finishExit(c: Container, pids: PidInfo, end: RunEndRead, startError: string): Promise<void>;
  /** How a run that ended while the daemon was down ended (its exit file). */
  readRunEnd(c: Container): Promise<RunEndRead>;
  /** The restart policy for a container found exited (seed 003's restore trigger). */
  afterExit(c: Container): Promise<void>;
  /** A backoff wait that the crash cut short: restart once, not counted again. */
  resumeRestart(c: Container): Promise<void>;
  /** A state dir no recorded run points to: release it; gc when that fails. */
  reclaimLeftovers(c: Container): Promise<void>;
  /** Release the state dir of a container that no longer exists. */
  reclaimOrphan(id: string): Promise<void>;
  /** Remove an exited --rm container. */
  remove(c: Container): Promise<void>;
  /** Whether a container's record is still on disk. */
  hasRecord(id: string): boolean;
  /** Emit a `restore` event. */
  restored(c: Container, outcome: string): void;
}

/**
 * The restore port of a core and its restart flow.
 *
 * @example
 * ```ts
 * import type { ContainerCore } from "./core.ts";
 * import type { RestartFlow } from "./restart_flow.ts";
 * declare const core: ContainerCore;
 * declare const restarts: RestartFlow;
 * import type { Container } from "./container.ts";
 * declare const remove: (c: Container) => Promise<void>;
 * const port = restorePort(core, restarts, remove);
 * ```
 */
export function restorePort(
  core: ContainerCore,
  restarts: RestartFlow,
  remove: (c: Container) => Promise<void>,
): RestorePort {
  const sys = core.sys;
  return {
    sys,
    loadAll: () => loadAll(core),
    hasImage: (c) => core.opts.images.find(c.rec.ImageID) !== null,
    async keepInGc(c) {
      if (core.gc && !core.gc.has(c.id)) await core.gc.add(gcEntryOf(c.rec));
    },
    forgetGc: async (id) => await core.gc?.forget(id),
    adopt(c, fd, pids) {
      c.adoptRun();
      sys.adopt(c);
      sys.watchExit(fd, c.id, pids);
    },
    resumeChecks(c) {
      c.healthRestarted();
      core.hooks.started(c);
    },
    async finishExit(c, pids, end, startError) {
      const reclaimed = await reclaimRun(sys, c.id, pids, c.rec.HostConfig.Memory > 0);
      const outcome: ExitOutcome = { ...end, ...reclaimed };
      const result = await core.recordExit(c, pids, outcome, startError);
      if (result.inGc) return;
      if (result.failedStart) return c.settled();
      await restarts.afterExit(c, result, true);
    },
    readRunEnd: (c) => readRunEnd(sys, c.id, c.rec.State.StartedAt),
    afterExit: (c) =>
      restarts.afterExit(c, {
        exitCode: c.rec.State.ExitCode,
        ranForMs: ranFor(c.rec),
      }, true),
    resumeRestart: (c) => restarts.resume(c),
    async reclaimLeftovers(c) {
      try {
        await sys.reclaim(c.id);
      } catch (err) {
        const failure = errorMessage(err);
        log.error("container {id}: cleaning up what a crash left failed: {reason}", {
          id: c.id,
          reason: failure,
        });
        if (core.gc) await core.gcLeftovers(c, NO_RUN, failure);
      }
    },
    reclaimOrphan: (id) =>
      sys.reclaim(id).catch((err) =>
        log.error("state dir of removed container {id}: {error}", {
          id,
          error: errorMessage(err),
        })
      ),
    remove,
    hasRecord: (id) => core.disk.exists(id),
    restored: (c, outcome) => core.emit(c, "restore", { outcome }),
  };
}

function ranFor(rec: Readonly<ContainerRecord>): number {
  return runDurationMs(rec.State.StartedAt, rec.State.FinishedAt);
}

/**
 * Load every container into the store: unloadable ones listed and marked,
 * a taken name made unique (and persisted, so it is the same next time).
 */
async function loadAll(
  core: ContainerCore,
): Promise<{ containers: Container[]; failed: LoadFailure[] }> {
  const { loaded, failed } = await core.disk.loadAll();
  const containers: Container[] = [];
  const add = async (c: Container) => {
    if (core.store.hasName(c.name)) {
      const taken = c.name;
      const name = `${taken}-${c.id.slice(0, 12)}`;
      log.error("container {id}: its name {taken} is taken by another container; renamed {name}", {
        id: c.id,
        taken,
        name,
      });
      // An unloadable config is never rewritten: the new name lives in memory.
      await c.renamed(name, !c.loadError);
    }
    core.store.add(c);
    containers.push(c);
  };
  // Oldest first: of two with one name, the one that had it first keeps it.
  loaded.sort((a, b) => a.Created.localeCompare(b.Created));
  for (const rec of loaded) {
    // A run not cleaned up yet holds its volumes: found again before its cleanup releases them.
    if (core.sys.hasStateDir(rec.Id)) {
      for (const v of rec.MountPoints ?? []) core.opts.volumes.adopt(v.Name, rec.Id);
    }
    await add(core.container(rec));
  }
  // A container whose config cannot be loaded stays visible (inspect, rm -f)
  // and a run of it stays supervised; it is never started or restarted.
  for (const f of failed) {
    log.error(
      "container {id} cannot be loaded: {reason}; kept on disk and listed (remove it with rm -f)",
      { id: f.id, reason: f.reason },
    );
    const c = core.container(f.rec);
    c.markUnloadable(`container config cannot be loaded: ${f.reason}`);
    await add(c);
  }
  return { containers, failed };
}

/** The gc entry of a container whose persisted state says gc. */
export function gcEntryOf(r: Readonly<ContainerRecord>): GcEntry {
  return {
    id: r.Id,
    pid: r.State.Pid,
    startTime: r.State.StartTime,
    ppid: r.State.PPid,
    pStartTime: r.State.PStartTime,
    exitCode: r.State.ExitCode,
    finishedAt: r.State.FinishedAt,
    ranForMs: ranFor(r),
    lastError: r.State.GC?.LastError ?? "recovered from the container's state",
    tries: r.State.GC?.Tries ?? 0,
  };
}
