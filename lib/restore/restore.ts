/**
 * Restore (seed 002): at daemon start, load every container from `--root`
 * and reconcile it with reality before the API serves requests
 * (behaviour.md §5).
 * @module
 */
import { existsSync } from "node:fs";
import { Container, type ContainerService, setStatus } from "../container/mod.ts";
import type { GcEntry } from "../gc/mod.ts";
import { exitFifoPath, readExitFile } from "../shim/mod.ts";
import { isAlive, killAndWait } from "../sys/mod.ts";
import type { PidInfo } from "../supervisor/mod.ts";

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
  const report: RestoreReport = { restored: 0, running: 0, exitedWhileDown: 0, failed };
  for (const f of failed) {
    console.error(`restore: skipping container ${f.id}: ${f.reason} (left on disk)`);
  }
  const containers: Container[] = [];
  for (const rec of loaded) {
    try {
      const c = new Container(rec);
      svc.store.add(c);
      containers.push(c);
    } catch (err) {
      report.failed.push({ id: rec.Id, reason: String(err) });
    }
  }
  let next = 0;
  const worker = async () => {
    while (next < containers.length) {
      const c = containers[next++];
      try {
        const outcome = await restoreOne(svc, c);
        report.restored++;
        if (outcome === "running") report.running++;
        if (outcome === "exited-while-down") report.exitedWhileDown++;
      } catch (err) {
        report.failed.push({ id: c.id, reason: err instanceof Error ? err.message : String(err) });
        console.error(`restore: container ${c.id}: ${err}`);
      }
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  return report;
}

type Outcome = "running" | "exited-while-down" | "stopped" | "created" | "gc";

async function restoreOne(svc: ContainerService, c: Container): Promise<Outcome> {
  const st = c.rec.State;
  if (!svc.opts.images.find(c.rec.ImageID)) {
    st.Error = `image ${c.rec.Image} (${c.rec.ImageID}) is missing: the container cannot start`;
  }
  if (svc.gc?.has(c.id)) {
    setStatus(st, "gc");
    return "gc";
  }
  const wasLive = st.Status === "running" || st.Status === "paused" ||
    (st.Status === "created" && st.Pid > 0);
  if (st.Status === "restarting") {
    // The daemon died during a backoff wait: RestartCount was already
    // counted before the wait; restart once, without counting again.
    svc.scheduleRestart(c, svc.restartManager(c).backoff.initialMs, false);
    return "stopped";
  }
  if (!wasLive) {
    if (st.Status === "exited" && c.rec.HostConfig.AutoRemove) await svc.remove(c.id, true);
    return st.Status === "created" ? "created" : "stopped";
  }
  const info: PidInfo = {
    pid: st.Pid,
    startTime: st.StartTime,
    ppid: st.PPid,
    pStartTime: st.PStartTime,
  };
  const bundle = svc.bundle(c.id);
  const fifo = exitFifoPath(bundle);
  // Open the fifo first, then check the shim: a reader opened after the
  // last writer closed would never see HUP.
  const fd = existsSync(fifo) ? svc.supervisor.openExitFifo(fifo) : null;
  const shimAlive = isAlive({ pid: info.ppid, startTime: info.pStartTime });
  if (shimAlive && fd !== null) {
    const rs = st.Status === "created" || st.Status === "running"
      ? await svc.runc.state(c.id)
      : null;
    let resolveExit!: () => void;
    c.exitHandled = new Promise((r) => resolveExit = r);
    c.resolveExit = resolveExit;
    if (rs?.status === "created") {
      // The daemon died between runc create and runc start: a failed start.
      c.startFailure = {
        code: 125,
        message: "the daemon stopped between create and start of the container",
      };
      svc.supervisor.addExitMonitor(fd, c.id, info);
      await killAndWait({ pid: info.pid, startTime: info.startTime });
      await c.exitHandled;
      return "stopped";
    }
    svc.supervisor.addExitMonitor(fd, c.id, info);
    if (st.Status === "created") setStatus(st, "running");
    if (st.Health) Object.assign(st.Health, { Status: "starting", FailingStreak: 0 });
    await svc.save(c);
    svc.onStarted(c);
    return "running";
  }
  if (fd !== null) svc.supervisor.removeExitMonitor(fd);
  // It exited while the daemon was down: the shim's exit file has the real code.
  const exit = await readExitFile(bundle);
  const finishedAt = exit?.finishedAt ?? new Date().toISOString();
  const neverStarted = st.Status === "created";
  await svc.finishExit(c, info, {
    exitCode: neverStarted ? 125 : exit?.exitCode ?? 137,
    finishedAt,
    ranForMs: Math.max(0, Date.parse(finishedAt) - Date.parse(st.StartedAt)),
    error: neverStarted ? "the daemon stopped between create and start of the container" : "",
    noRestart: neverStarted,
  });
  return "exited-while-down";
}

/** Gc entries recovered from container states, for a corrupt gc list. */
export async function gcEntriesFromStates(svc: ContainerService): Promise<GcEntry[]> {
  const { loaded } = await svc.disk.loadAll();
  return loaded.filter((r) => r.State.Status === "gc").map((r) => ({
    id: r.Id,
    pid: r.State.Pid,
    startTime: r.State.StartTime,
    ppid: r.State.PPid,
    pStartTime: r.State.PStartTime,
    exitCode: r.State.ExitCode,
    finishedAt: r.State.FinishedAt,
    ranForMs: 0,
    lastError: r.State.GC?.LastError ?? "recovered from a corrupt gc list",
    tries: r.State.GC?.Tries ?? 0,
  }));
}
