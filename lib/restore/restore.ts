/**
 * Restore (seed 002): at daemon start, load every container from `--root`
 * and reconcile it with reality before the API serves requests
 * (behaviour.md §5).
 * @module
 */
import { existsSync } from "node:fs";
import {
  Container,
  type ContainerRecord,
  type ContainerService,
  runDurationMs,
  setStatus,
  ZERO_TIME,
} from "../container/mod.ts";
import type { GcEntry } from "../gc/mod.ts";
import { exitFifoPath } from "../shim/mod.ts";
import { isAlive, killAndWait } from "../sys/mod.ts";
import type { PidInfo } from "../supervisor/mod.ts";
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
 * Load and reconcile every container. `inGc` tells which ids the gc owns.
 *
 * @example
 * ```ts
 * const report = await restoreContainers(service);
 * ```
 */
export async function restoreContainers(svc: ContainerService): Promise<RestoreReport> {
  const { loaded, failed } = await svc.disk.loadAll();
  const report: RestoreReport = {
    restored: 0,
    running: 0,
    exitedWhileDown: 0,
    failed: failed.map(({ id, reason }) => ({ id, reason })),
  };
  const containers: Container[] = [];
  for (const rec of loaded) containers.push(await addToStore(svc, new Container(rec)));
  // A container whose config cannot be loaded stays visible (inspect, rm -f)
  // and a run of it stays supervised; it is never started or restarted.
  for (const f of failed) {
    log.error(
      "container {id} cannot be loaded: {reason}; kept on disk and listed (remove it with rm -f)",
      { id: f.id, reason: f.reason },
    );
    const c = new Container(f.rec);
    c.loadError = `container config cannot be loaded: ${f.reason}`;
    containers.push(await addToStore(svc, c));
  }
  const shims = new ShimFinder(svc.opts.stateRoot);
  let next = 0;
  const worker = async () => {
    while (next < containers.length) {
      const c = containers[next++];
      try {
        const outcome = await restoreOne(svc, c, shims);
        // An auto-removed container has had its destroy event instead.
        if (svc.store.find(c.id)) svc.emitEvent(c, "restore", { outcome });
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
  const onDisk = (id: string) => existsSync(svc.disk.dir(id));
  for (const id of orphanStateDirs(svc.opts.stateRoot, onDisk)) {
    for (const pid of shims.pids(id)) killProcessGroup(pid);
    await svc.reclaimResources(id).catch((err) =>
      log.error("state dir of removed container {id}: {error}", { id, error: errorMessage(err) })
    );
  }
  return report;
}

/**
 * Add a restored container to the store. Two containers on disk with one
 * name (a crash during a rename) both stay: the second gets its name made
 * unique, persisted so that it is the same at the next start.
 */
async function addToStore(svc: ContainerService, c: Container): Promise<Container> {
  if (svc.store.hasName(c.name)) {
    const taken = c.name;
    c.rec.Name = `${taken}-${c.id.slice(0, 12)}`;
    log.error("container {id}: its name {taken} is taken by another container; renamed {name}", {
      id: c.id,
      taken,
      name: c.name,
    });
    if (!c.loadError) await svc.disk.save(c.rec).catch(() => {});
  }
  svc.store.add(c);
  return c;
}

type Outcome = "running" | "exited-while-down" | "stopped" | "created" | "gc";

async function restoreOne(
  svc: ContainerService,
  c: Container,
  shims: ShimFinder,
): Promise<Outcome> {
  const st = c.rec.State;
  // Nothing restarts a container restore could not load.
  if (c.loadError && st.Status === "restarting") setStatus(st, "exited");
  if (!c.loadError && !svc.opts.images.find(c.rec.ImageID)) {
    st.Error = `image ${c.rec.Image} (${c.rec.ImageID}) is missing: the container cannot start`;
  }
  if (svc.gc && st.Status === "gc") {
    // The gc owns it. The daemon may have died between saving the state
    // and saving the gc list: the state is the truth, so list it again.
    if (!svc.gc.has(c.id)) await svc.gc.add(gcEntryFromRecord(c.rec));
    return "gc";
  }
  // Listed, but its state says the gc already finished it (the list could
  // not be saved then): never collect and restart it a second time.
  await svc.gc?.forget(c.id);
  if (st.Pid > 0) return await restoreRun(svc, c);
  // No run is recorded, but a state dir is there: a start that died before
  // its pids were saved, or a cleanup cut short. Nothing of it may survive.
  if (existsSync(svc.bundle(c.id))) await reclaimLeftovers(svc, c, shims);
  if (st.Status === "gc") return "gc";
  if (st.Status === "restarting") {
    // The daemon died during a backoff wait: RestartCount was already
    // counted before the wait; restart once, without counting again.
    svc.scheduleRestart(c, svc.restartManager(c).backoff.initialMs, false);
    return "stopped";
  }
  if (st.Status === "exited" && c.rec.HostConfig.AutoRemove) await svc.remove(c.id, true);
  else if (st.Status === "exited" && st.StartedAt !== ZERO_TIME) {
    // The restart policy again: deciding from a persisted exit counts
    // nothing twice, so a crash between Exited and restarting loses
    // nothing; an `always` container stopped by hand comes back, as in Docker.
    await svc.afterExit(c, st.ExitCode, runDurationMs(st));
  }
  return st.Status === "created" ? "created" : "stopped";
}

const DIED_BEFORE_START = "the daemon stopped between create and start of the container";

/**
 * A container with a recorded run (pids saved, exit not yet handled): find
 * whether that run is alive, never started, or ended while the daemon was
 * down.
 */
async function restoreRun(svc: ContainerService, c: Container): Promise<Outcome> {
  const st = c.rec.State;
  const info: PidInfo = {
    pid: st.Pid,
    startTime: st.StartTime,
    ppid: st.PPid,
    pStartTime: st.PStartTime,
  };
  // The pids are saved before `runc start`, the Running state only after it:
  // any other status means the start may not have happened.
  const started = st.Running;
  // A restart that the crash interrupted is done again, and counted once.
  const wasRestarting = st.Status === "restarting";
  const resumeRestart = () => {
    if (wasRestarting && st.Status === "exited" && !c.removing && !c.loadError) {
      svc.scheduleRestart(c, svc.restartManager(c).backoff.initialMs, false);
    }
  };
  const bundle = svc.bundle(c.id);
  const fifo = exitFifoPath(bundle);
  // Open the fifo first, then check the shim: a reader opened after the
  // last writer closed would never see HUP.
  const fd = existsSync(fifo) ? svc.supervisor.openExitFifo(fifo) : null;
  const shimAlive = isAlive({ pid: info.ppid, startTime: info.pStartTime });
  if (shimAlive && fd !== null) {
    let resolveExit!: () => void;
    c.exitHandled = new Promise((r) => resolveExit = r);
    c.resolveExit = resolveExit;
    svc.supervisor.addExitMonitor(fd, c.id, info);
    // Only a run not yet recorded as started needs runc's word (one runc
    // call; a running container costs none).
    const rs = started ? null : await svc.runc.state(c.id);
    if (rs?.status === "created") {
      // Died between runc create and runc start: a failed start, cleaned by
      // the exit handler once the init is dead.
      c.startFailure = { code: 125, message: DIED_BEFORE_START };
      if (await killAndWait({ pid: info.pid, startTime: info.startTime })) await c.exitHandled;
      resumeRestart();
      return "stopped";
    }
    if (!started) {
      // `runc start` ran; only the Running state was not saved.
      setStatus(st, "running");
      Object.assign(st, { ExitCode: 0, Error: "", StartedAt: new Date().toISOString() });
      await svc.save(c);
      svc.emitEvent(c, "start");
    }
    if (st.Health) Object.assign(st.Health, { Status: "starting", FailingStreak: 0 });
    svc.onStarted(c);
    return "running";
  }
  if (fd !== null) svc.supervisor.removeExitMonitor(fd);
  // It exited while the daemon was down: the shim's exit file has the real code.
  const exit = await svc.readExit(c);
  await svc.finishExit(c, info, {
    ...exit,
    exitCode: started ? exit.exitCode : 125,
    error: started ? "" : DIED_BEFORE_START,
    noRestart: !started,
  });
  resumeRestart();
  return "exited-while-down";
}

/**
 * Kill the shims of an unrecorded run and release what the container holds;
 * when that fails, the gc takes over (it retries until it succeeds).
 */
async function reclaimLeftovers(svc: ContainerService, c: Container, shims: ShimFinder) {
  for (const pid of shims.pids(c.id)) killProcessGroup(pid);
  try {
    await svc.reclaimResources(c.id);
  } catch (err) {
    const reason = errorMessage(err);
    log.error("container {id}: cleaning up what a crash left failed: {reason}", {
      id: c.id,
      reason,
    });
    if (!svc.gc) return;
    const st = c.rec.State;
    setStatus(st, "gc");
    st.GC = { LastError: reason, Tries: 0 };
    await svc.save(c);
    await svc.gc.add({ ...gcEntryFromRecord(c.rec), noRestart: true });
  }
}

/** Gc entries recovered from container states, for a corrupt gc list. */
export async function gcEntriesFromStates(svc: ContainerService): Promise<GcEntry[]> {
  const { loaded, failed } = await svc.disk.loadAll();
  return [...loaded, ...failed.map((f) => f.rec)].filter((r) => r.State.Status === "gc")
    .map(gcEntryFromRecord);
}

/** The gc entry of a container whose persisted state says gc. */
function gcEntryFromRecord(r: ContainerRecord): GcEntry {
  return {
    id: r.Id,
    pid: r.State.Pid,
    startTime: r.State.StartTime,
    ppid: r.State.PPid,
    pStartTime: r.State.PStartTime,
    exitCode: r.State.ExitCode,
    finishedAt: r.State.FinishedAt,
    ranForMs: runDurationMs(r.State),
    lastError: r.State.GC?.LastError ?? "recovered from the container's state",
    tries: r.State.GC?.Tries ?? 0,
  };
}
