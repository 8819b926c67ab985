/**
 * Restore (seed 002): at daemon start, load every container from `--root`
 * and reconcile it with reality before the API serves requests
 * (behaviour.md §5). It acts on the core only through its `RestorePort`.
 * @module
 */
import {
  type Container,
  type ContainerDisk,
  gcEntryOf,
  type RestorePort,
} from "../container/mod.ts";
import type { GcEntry } from "../gc/mod.ts";
import { errorMessage } from "../errdefs/mod.ts";
import { killProcessGroup, orphanStateDirs, ShimFinder } from "./leftovers.ts";
import { getLogger } from "@logtape/logtape";

const log = getLogger(["corral", "restore"]);

/** What restore did, for the daemon's log and the tests. */
export interface RestoreReport {
  restored: number;
  running: number;
  exitedWhileDown: number;
  failed: { id: string; reason: string }[];
}

const CONCURRENCY = 32;

/**
 * Load and reconcile every container.
 *
 * @example
 * ```ts
 * import type { RestorePort } from "../container/mod.ts";
 * declare const port: RestorePort;
 * const report = await restoreContainers(port, "/run/corral");
 * ```
 */
export async function restoreContainers(
  port: RestorePort,
  stateRoot: string,
  shims: { pids(id: string): number[] } = new ShimFinder(stateRoot),
): Promise<RestoreReport> {
  const { containers, failed } = await port.loadAll();
  const report: RestoreReport = {
    restored: 0,
    running: 0,
    exitedWhileDown: 0,
    failed: failed.map(({ id, reason }) => ({ id, reason })),
  };
  let next = 0;
  const worker = async () => {
    while (next < containers.length) {
      const c = containers[next++];
      try {
        const outcome = await restoreOne(port, c, shims);
        // An auto-removed container has had its destroy event instead.
        if (!c.removed) port.restored(c, outcome);
        report.restored++;
        if (outcome === "running") report.running++;
        if (outcome === "exited-while-down") report.exitedWhileDown++;
      } catch (err) {
        const reason = errorMessage(err);
        report.failed.push({ id: c.id, reason });
        log.error("container {id} not restored: {reason}", { id: c.id, reason });
      }
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  // State dirs of containers that are gone (an rm cut short): reclaim them.
  for (const id of orphanStateDirs(stateRoot, (id) => port.hasRecord(id))) {
    for (const pid of shims.pids(id)) killProcessGroup(pid);
    await port.reclaimOrphan(id);
  }
  return report;
}

/** What restore found a container to be. */
export type Outcome = "running" | "exited-while-down" | "stopped" | "created" | "gc";

async function restoreOne(
  port: RestorePort,
  c: Container,
  shims: { pids(id: string): number[] },
): Promise<Outcome> {
  const st = c.rec.State;
  if (!c.loadError && !port.hasImage(c)) {
    c.blocked(`image ${c.rec.Image} (${c.rec.ImageID}) is missing: the container cannot start`);
  }
  if (st.Status === "gc") {
    // The gc owns it. The daemon may have died between saving the state
    // and saving the gc list: the state is the truth, so list it again.
    await port.keepInGc(c);
    return "gc";
  }
  // Listed, but its state says the gc already finished it (the list could
  // not be saved then): never collect and restart it a second time.
  await port.forgetGc(c.id);
  if (st.Pid > 0) return await restoreRun(port, c);
  // No run is recorded, but a state dir is there: a start that died before
  // its pids were saved, or a cleanup cut short. Nothing of it may survive.
  if (port.sys.hasStateDir(c.id)) {
    for (const pid of shims.pids(c.id)) killProcessGroup(pid);
    await port.reclaimLeftovers(c);
  }
  if (c.rec.State.Status === "gc") return "gc";
  if (c.rec.State.Status === "restarting") {
    // The daemon died during a backoff wait: RestartCount was already
    // counted before the wait; restart once, without counting again.
    await port.resumeRestart(c);
    return "stopped";
  }
  if (st.Status === "exited" && c.rec.HostConfig.AutoRemove) await port.remove(c);
  else if (st.Status === "exited" && !st.StartedAt.startsWith("0001-")) {
    // The restart policy again: deciding from a persisted exit counts
    // nothing twice, so a crash between Exited and restarting loses
    // nothing; an `always` container stopped by hand comes back, as in Docker.
    await port.afterExit(c);
  }
  return c.rec.State.Status === "created" ? "created" : "stopped";
}

const DIED_BEFORE_START = "the daemon stopped between create and start of the container";

/**
 * A container with a recorded run (pids saved, exit not yet handled): find
 * whether that run is alive, never started, or ended while the daemon was
 * down.
 */
async function restoreRun(port: RestorePort, c: Container): Promise<Outcome> {
  const st = c.rec.State;
  const pids = c.runPids;
  // The pids are saved before `runc start`, the Running state only after it:
  // any other status means the start may not have happened.
  const started = st.Running;
  // A restart that the crash interrupted is done again, and counted once.
  const wasRestarting = st.Status === "restarting" && !c.loadError;
  const resumeRestart = async () => {
    if (wasRestarting && c.rec.State.Status === "exited" && !c.removing) {
      await port.resumeRestart(c);
    }
  };
  // Open the fifo first, then check the shim: a reader opened after the
  // last writer closed would never see HUP.
  const fd = port.sys.openExitFifo(c.id);
  // A group shim outlives the runs it served: a run whose exit file is
  // written has ended (the fifo closes right after), whoever is alive.
  const shimAlive = port.sys.isAlive({ pid: pids.ppid, startTime: pids.pStartTime }) &&
    await port.sys.readExitFile(c.id) === null;
  if (shimAlive && fd !== null) {
    port.adopt(c, fd, pids);
    // Only a run not yet recorded as started needs runc's word (one runc
    // call; a running container costs none).
    const status = started ? null : await port.sys.runcStatus(c.id);
    if (status === "created") {
      // Died between runc create and runc start: a failed start, recorded by
      // the exit handling once the init is dead.
      c.startFailed(125, DIED_BEFORE_START);
      if (await port.sys.killAndWait({ pid: pids.pid, startTime: pids.startTime })) {
        await c.exitHandled;
      }
      await resumeRestart();
      return "stopped";
    }
    // `runc start` ran; only the Running state was not saved.
    if (!started) await c.running(new Date().toISOString(), c.rec.State.Health !== undefined);
    port.resumeChecks(c);
    return "running";
  }
  if (fd !== null) port.sys.closeExitFifo(fd);
  // It exited while the daemon was down: the shim's exit file has the real code.
  const end = await port.readRunEnd(c);
  if (!started) await port.finishExit(c, pids, { ...end, exitCode: 125 }, DIED_BEFORE_START);
  else await port.finishExit(c, pids, end, "");
  await resumeRestart();
  return "exited-while-down";
}

/**
 * Gc entries recovered from the persisted container states, for a corrupt
 * gc list (the states say which containers are in gc).
 *
 * @example
 * ```ts
 * import type { ContainerDisk } from "../container/mod.ts";
 * declare const disk: ContainerDisk;
 * const entries = await gcEntriesFromStates(disk);
 * ```
 */
export async function gcEntriesFromStates(disk: ContainerDisk): Promise<GcEntry[]> {
  const { loaded, failed } = await disk.loadAll();
  return [...loaded, ...failed.map((f) => f.rec)].filter((r) => r.State.Status === "gc")
    .map(gcEntryOf);
}
