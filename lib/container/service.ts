/**
 * The container service: create, start, stop, kill, restart, remove, wait,
 * and the handling of every exit (supervisor → cleanup → gc or restart
 * manager). Operations on one container are serialized by its lock.
 * @module
 */
import { join } from "node:path";
import { existsSync } from "node:fs";
import { conflict, errorMessage, invalid, notModified } from "../errdefs/mod.ts";
import type { EventLog } from "../events/mod.ts";
import type { GcEntry, GcHandler } from "../gc/mod.ts";
import type { Image, ImageStore } from "../image/mod.ts";
import {
  type Backoff,
  checkAutoRemove,
  RestartManager,
  validateRestartPolicy,
  waitOrCancel,
} from "../restart/mod.ts";
import {
  buildSpec,
  cgroupPids,
  cleanupContainer,
  type ContainerResources,
  launchShim,
  oomKillCount,
  rootfsPath,
  Runc,
  startFailureExitCode,
  thawCgroup,
} from "../runtime/mod.ts";
import { exitFilePath, readExitFile } from "../shim/mod.ts";
import { containerStateDir, type PidInfo, Supervisor } from "../supervisor/mod.ts";
import {
  isAlive,
  killAndWait,
  mountOverlay,
  parseSignal,
  removeAll,
  signalProcess,
  signals,
  sleep,
  writeFileAtomic,
  WriteRetry,
} from "../sys/mod.ts";
import {
  type ContainerConfig,
  type ContainerRecord,
  defaultHostConfig,
  healthArgv,
  type HostConfig,
  newState,
  runDurationMs,
  setStatus,
} from "./model.ts";
import { buildConfig, changedLimits, validateHostConfig } from "./config.ts";
import { generateName, newId, validateName } from "./names.ts";
import { ContainerDisk } from "./persist.ts";
import { Container, ContainerStore } from "./store.ts";
import { getLogger } from "@logtape/logtape";

const log = getLogger(["corral", "container"]);

/** Daemon settings the service needs. */
export interface ServiceOptions {
  root: string;
  stateRoot: string;
  runtime: string;
  /** Parent of every container's cgroup, e.g. "corral". */
  cgroupParent: string;
  backoff: Backoff;
  images: ImageStore;
  events: EventLog;
  logMaxSize: number;
  logMaxFiles: number;
  /** Bound of the shim's create phase (ms). */
  createTimeoutMs: number;
}

/** What create takes (the API's body, normalized). */
export interface CreateRequest {
  name?: string;
  config: Partial<ContainerConfig> & { Image: string };
  hostConfig?: Partial<HostConfig>;
}

/** The answer of wait. */
export interface WaitResult {
  StatusCode: number;
  Error: { Message: string } | null;
}

const HEALTH_STARTING = "starting";
/** How long kill with SIGKILL waits for the exit before it answers anyway. */
const KILL_WAIT_MS = 10_000;

/**
 * The container module's service.
 *
 * @example
 * ```ts
 * const svc = new ContainerService(opts);
 * const id = await svc.create({ config: { Image: "busybox", Cmd: ["true"] } });
 * await svc.start(id);
 * const { StatusCode } = await svc.wait(id, "not-running");
 * ```
 */
export class ContainerService {
  readonly store = new ContainerStore();
  readonly disk: ContainerDisk;
  readonly runc: Runc;
  readonly supervisor: Supervisor;
  gc: GcHandler | null = null;
  /** State writes that failed (a full disk), retried until they land. */
  readonly #writes = new WriteRetry({
    failed: (id, err) =>
      log.error("container {id}: saving its state failed, retrying until it lands: {error}", {
        id,
        error: errorMessage(err),
      }),
    recovered: (id, tries) =>
      log.info("container {id}: state saved after {tries} retries", { id, tries }),
  });
  /** Exit codes of recently removed containers, for `wait --condition removed`. */
  readonly #removedExit = new Map<string, number>();
  /** Hooks for health checks (set by the health module). */
  onStarted: (c: Container) => void = () => {};
  onStopped: (c: Container) => void = () => {};

  constructor(readonly opts: ServiceOptions) {
    this.disk = new ContainerDisk(opts.root);
    this.runc = new Runc(opts.runtime, join(opts.stateRoot, "runc"));
    this.supervisor = new Supervisor((id, info) =>
      void this.handleExit(id, info).catch((err) => {
        // Never let one exit take the daemon down; waiters are released.
        log.error("container {id}: exit handling failed: {error}", {
          id,
          error: errorMessage(err),
        });
        const c = this.store.find(id);
        if (c?.resolveExit) this.#releaseExit(c);
      })
    );
  }

  // ---- helpers -------------------------------------------------------------

  /** The state (bundle) dir of a container. */
  bundle(id: string): string {
    return containerStateDir(this.opts.stateRoot, id);
  }

  /** The resources the cleanup releases. */
  resources(id: string): ContainerResources {
    return { id, bundle: this.bundle(id), cgroupsPath: `/${this.opts.cgroupParent}/${id}` };
  }

  /**
   * Persist the state and wake waiters. A write that fails (a full disk) does
   * not fail the operation: signals and exits must go on whatever the disk
   * says, so the write is retried until it lands, and reported.
   */
  async save(c: Container): Promise<void> {
    await this.#writes.write(c.id, async () => {
      if (c.removed) return;
      try {
        await this.disk.saveState(c.rec);
      } catch (err) {
        // An `rm` took the directory away: there is nothing left to save.
        if (!(err instanceof Deno.errors.NotFound && (c.removing || c.removed))) throw err;
      }
    });
    c.changed();
  }

  /** Persist config, host config and state (rename, update), retried like `save`. */
  async #saveAll(c: Container): Promise<void> {
    await this.#writes.write(c.id, async () => {
      if (!c.removed) await this.disk.save(c.rec);
    });
    c.changed();
  }

  /**
   * Emit a container event with the container's name, image and labels, for
   * the modules around the service (health, restore).
   *
   * @example
   * ```ts
   * svc.emitEvent(c, "health_status: healthy");
   * ```
   */
  emitEvent(c: Container, action: string, extra: Record<string, string> = {}): void {
    this.opts.events.emit("container", action, c.id, {
      name: c.name,
      image: c.rec.Image,
      ...c.rec.Config.Labels,
      ...extra,
    });
  }

  /** The restart manager of a container (seed 003: one per container). */
  restartManager(c: Container): RestartManager {
    const hc = c.rec.HostConfig;
    const backoff: Backoff = {
      ...this.opts.backoff,
      initialMs: hc.RestartDelay || this.opts.backoff.initialMs,
      maxMs: hc.RestartMaxDelay || this.opts.backoff.maxMs,
    };
    if (!c.restartManager) {
      c.restartManager = new RestartManager(hc.RestartPolicy, c.rec.State.FailureCount, backoff);
    } else {
      c.restartManager.policy = hc.RestartPolicy;
      c.restartManager.backoff = backoff;
    }
    return c.restartManager;
  }

  /** A container restore could not load is only inspected and removed. */
  #refuseBroken(c: Container): void {
    if (c.loadError) {
      throw conflict(`container ${c.name} cannot be used: ${c.loadError}; remove it with rm -f`);
    }
  }

  #refuseInGc(c: Container): void {
    const entry = this.gc?.get(c.id);
    if (entry || c.rec.State.Status === "gc") {
      throw conflict(
        `container ${c.name} is being cleaned up (gc): ${
          entry?.lastError ?? c.rec.State.GC?.LastError ?? ""
        }`,
      );
    }
  }

  // ---- create --------------------------------------------------------------

  /** Create a container; returns its id. */
  async create(req: CreateRequest): Promise<string> {
    const cfg = req.config;
    if (!cfg.Image || typeof cfg.Image !== "string") throw invalid("no image given");
    const image = this.opts.images.resolve(cfg.Image);
    const hc: HostConfig = { ...defaultHostConfig(), ...(req.hostConfig ?? {}) };
    hc.RestartPolicy = validateRestartPolicy(
      hc.RestartPolicy ?? { Name: "no", MaximumRetryCount: 0 },
    );
    checkAutoRemove(hc.RestartPolicy, hc.AutoRemove);
    validateHostConfig(hc);
    const name = req.name ? validateName(req.name) : generateName((n) => this.store.hasName(n));
    if (this.store.hasName(name)) {
      throw conflict(`Conflict. The container name "/${name}" is already in use`);
    }
    const config = buildConfig(cfg, image);
    // As Docker: refused here, not at start (an imported image has no command).
    if (!config.Entrypoint?.length && !config.Cmd.length) throw invalid("no command specified");
    if (config.StopSignal && parseSignal(config.StopSignal) === null) {
      throw invalid(`invalid stop signal: ${config.StopSignal}`);
    }
    const id = newId();
    const rec: ContainerRecord = {
      Id: id,
      Name: name,
      Created: new Date().toISOString(),
      Image: cfg.Image,
      ImageID: image.Id,
      Config: config,
      HostConfig: hc,
      State: newState(),
      RestartCount: 0,
    };
    const c = new Container(rec);
    this.store.add(c);
    try {
      await this.disk.create(rec);
    } catch (err) {
      this.store.delete(id);
      throw err;
    }
    this.emitEvent(c, "create");
    return id;
  }

  // ---- start ---------------------------------------------------------------

  /** A user start: clears the manual-stop flag and any pending restart. */
  start(ref: string): Promise<void> {
    const c = this.store.get(ref);
    return c.exclusive(async () => {
      this.#refuseInGc(c);
      if (c.rec.State.Running) throw notModified(`container ${c.name} is already running`);
      this.#userStart(c);
      try {
        await this.startLocked(c);
      } catch (err) {
        // `docker run --rm` waits for the removal: a --rm container whose
        // start failed is removed now (by the gc once it released what the
        // start set up).
        if (c.rec.HostConfig.AutoRemove && c.rec.State.Status !== "gc") {
          await this.#removeLocked(c).catch((e) =>
            log.error("container {id}: auto-remove after a failed start: {error}", {
              id: c.id,
              error: errorMessage(e),
            })
          );
        }
        throw err;
      }
    });
  }

  /**
   * Start a container (its lock held). On failure the container is Exited
   * with 125/126/127 and `State.Error`, resources cleaned, and the error thrown.
   */
  async startLocked(c: Container): Promise<void> {
    if (c.exitHandled) await c.exitHandled;
    this.#refuseBroken(c);
    this.#refuseInGc(c);
    const image = this.opts.images.find(c.rec.ImageID);
    if (!image) {
      throw conflict(
        `container ${c.name} cannot start: its image ${c.rec.Image} (${c.rec.ImageID}) is missing`,
      );
    }
    const res = this.resources(c.id);
    const fifoPath = this.supervisor.createExitFifo(await mkdirp(res.bundle));
    const fd = this.supervisor.openExitFifo(fifoPath);
    let launched;
    try {
      launched = await this.#createRuntime(c, image);
    } catch (err) {
      this.supervisor.removeExitMonitor(fd);
      await this.#failStart(c, errorMessage(err));
      throw new Error(errorMessage(err));
    }
    const info: PidInfo = {
      pid: launched.pid,
      startTime: launched.startTime,
      ppid: launched.shimPid,
      pStartTime: launched.shimStartTime,
    };
    let resolveExit!: () => void;
    c.exitHandled = new Promise((r) => resolveExit = r);
    c.resolveExit = resolveExit;
    c.runSeq++;
    const st = c.rec.State;
    // Persist the pids before runc start: a crash now leaves a "created"
    // container that restore recognizes and cleans.
    Object.assign(st, {
      Pid: info.pid,
      StartTime: info.startTime,
      PPid: info.ppid,
      PStartTime: info.pStartTime,
    });
    await this.save(c);
    this.supervisor.addExitMonitor(fd, c.id, info);
    // Taken before `runc start`: a process that exits at once is seen by its
    // shim before runc returns, and FinishedAt must not precede StartedAt.
    const startedAt = new Date().toISOString();
    try {
      await this.runc.start(c.id);
    } catch (err) {
      const msg = errorMessage(err);
      c.startFailure = { code: startFailureExitCode(msg), message: msg };
      await killAndWait({ pid: info.pid, startTime: info.startTime });
      await c.exitHandled;
      throw new Error(msg);
    }
    setStatus(st, "running");
    Object.assign(st, {
      ExitCode: 0,
      Error: "",
      StartedAt: startedAt,
      OOMKilled: false,
    });
    // The same test as the health monitor's: a check with no test to run shows no health.
    if (healthArgv(c.rec.Config.Healthcheck?.Test)) {
      st.Health = { Status: HEALTH_STARTING, FailingStreak: 0, Log: st.Health?.Log ?? [] };
    }
    await this.save(c);
    this.emitEvent(c, "start");
    this.onStarted(c);
  }

  async #createRuntime(c: Container, image: Image) {
    const res = this.resources(c.id);
    const dir = this.disk.dir(c.id);
    const upper = await mkdirp(this.disk.upperDir(c.id));
    // The upper dir's root is the container's "/": a non-root User must traverse it.
    await Deno.chmod(upper, 0o755);
    const work = await mkdirp(join(dir, "work"));
    const rootfs = await mkdirp(rootfsPath(res.bundle));
    await removeAll(exitFilePath(res.bundle));
    mountOverlay(this.opts.images.layerDirs(image), upper, work, rootfs);
    const cfg = c.rec.Config;
    // Never empty: create refused a config without a command.
    const args = [...(cfg.Entrypoint ?? []), ...(cfg.Cmd ?? [])];
    const spec = buildSpec({
      id: c.id,
      args,
      env: cfg.Env,
      cwd: cfg.WorkingDir || "/",
      user: cfg.User,
      hostname: cfg.Hostname || c.id.slice(0, 12),
      rootfs,
      cgroupsPath: res.cgroupsPath,
      memory: c.rec.HostConfig.Memory,
      nanoCpus: c.rec.HostConfig.NanoCpus,
      pidsLimit: c.rec.HostConfig.PidsLimit,
      binds: c.rec.HostConfig.Binds ?? [],
    });
    await writeFileAtomic(join(res.bundle, "config.json"), JSON.stringify(spec));
    return await launchShim({
      id: c.id,
      bundle: res.bundle,
      runtime: this.opts.runtime,
      runtimeRoot: this.runc.root,
      logPath: this.disk.logPath(c.id),
      logMaxSize: this.opts.logMaxSize,
      logMaxFiles: this.opts.logMaxFiles,
      createTimeoutMs: this.opts.createTimeoutMs,
    });
  }

  /** A start that failed before the container ran: clean, Exited 125/126/127. */
  async #failStart(c: Container, message: string): Promise<void> {
    const st = c.rec.State;
    let failure = "";
    try {
      await cleanupContainer(this.runc, this.resources(c.id));
    } catch (err) {
      failure = errorMessage(err);
    }
    setStatus(st, "exited");
    Object.assign(st, {
      Pid: 0,
      ExitCode: startFailureExitCode(message),
      Error: message,
      FinishedAt: new Date().toISOString(),
    });
    c.runSeq++;
    this.emitEvent(c, "die", { exitCode: String(st.ExitCode) });
    if (failure && this.gc) {
      // What the start set up (the rootfs mount) is released by the gc, never leaked.
      const info = { pid: 0, startTime: 0, ppid: 0, pStartTime: 0 };
      const exit = { exitCode: st.ExitCode, finishedAt: st.FinishedAt, ranForMs: 0 };
      await this.#enterGc(c, info, { ...exit, noRestart: true }, failure);
    } else {
      await this.save(c);
    }
    c.changed();
  }

  // ---- exit ----------------------------------------------------------------

  /**
   * The supervisor's exit handler (behaviour.md §3): exit code from the exit
   * file (137 if none), kill a surviving init, clean up, Exited or gc, event,
   * then the restart manager.
   */
  async handleExit(id: string, info: PidInfo): Promise<void> {
    const c = this.store.find(id);
    if (!c) return;
    const exit = await this.readExit(c);
    const startFailure = c.startFailure;
    c.startFailure = null;
    // A failed start is reported to its caller; no restart is scheduled for it.
    await this.finishExit(c, info, {
      ...exit,
      exitCode: startFailure?.code ?? exit.exitCode,
      error: startFailure?.message ?? "",
      noRestart: startFailure !== null,
    });
  }

  /**
   * The run that ended, from the shim's exit file: its code (137 when the
   * shim left none: it was killed), when it finished and how long it ran.
   */
  async readExit(
    c: Container,
  ): Promise<{ exitCode: number; finishedAt: string; ranForMs: number }> {
    const exit = await readExitFile(this.bundle(c.id));
    const finishedAt = exit?.finishedAt ?? new Date().toISOString();
    return {
      exitCode: exit?.exitCode ?? 137,
      finishedAt,
      ranForMs: runDurationMs(c.rec.State, finishedAt),
    };
  }

  /** Shared by the supervisor and restore: clean up after an exit, then Exited or gc. */
  async finishExit(
    c: Container,
    info: PidInfo,
    exit: {
      exitCode: number;
      finishedAt: string;
      ranForMs: number;
      error: string;
      noRestart?: boolean;
    },
  ): Promise<void> {
    const st = c.rec.State;
    // The OOM killer's count lives in the memory cgroup, which the cleanup removes.
    const oomKilled = c.rec.HostConfig.Memory > 0 &&
      oomKillCount(this.resources(c.id).cgroupsPath) > 0;
    let failure = "";
    if (isAlive({ pid: info.pid, startTime: info.startTime })) {
      // The shim died, not the container: make sure the container dies too.
      if (!(await killAndWait({ pid: info.pid, startTime: info.startTime }))) {
        failure = `container process ${info.pid} would not die`;
      }
    }
    if (!failure) {
      try {
        await cleanupContainer(this.runc, this.resources(c.id));
      } catch (err) {
        failure = errorMessage(err);
      }
    }
    this.onStopped(c);
    Object.assign(st, { ExitCode: exit.exitCode, FinishedAt: exit.finishedAt, Error: exit.error });
    st.OOMKilled = oomKilled;
    if (oomKilled) this.emitEvent(c, "oom");
    if (failure && this.gc) {
      this.emitEvent(c, "die", { exitCode: String(exit.exitCode) });
      await this.#enterGc(c, info, { ...exit, noRestart: exit.noRestart ?? false }, failure);
      this.#releaseExit(c);
      return;
    }
    if (failure) st.Error = failure;
    await this.#markStopped(c, failure ? "dead" : "exited", "die", exit.exitCode);
    this.#releaseExit(c);
    if (!exit.noRestart) await this.afterExit(c, exit.exitCode, exit.ranForMs);
  }

  /** A cleanup failed: the gc owns the container until it succeeds. */
  async #enterGc(
    c: Container,
    info: PidInfo,
    exit: { exitCode: number; finishedAt: string; ranForMs: number; noRestart: boolean },
    failure: string,
  ): Promise<void> {
    const st = c.rec.State;
    setStatus(st, "gc");
    st.GC = { LastError: failure, Tries: 0 };
    await this.save(c);
    this.emitEvent(c, "gc-enter", { error: failure });
    // Logged here once; the gc logs only errors that differ from this one.
    log.warn("container {id}: cleanup failed, the gc retries it: {error}", {
      id: c.id,
      error: failure,
    });
    await this.gc!.add({ id: c.id, ...info, ...exit, lastError: failure });
  }

  /** The run is over and cleaned up: persist the stopped state, then say so. */
  async #markStopped(
    c: Container,
    status: "exited" | "dead",
    event: string,
    exitCode: number,
  ): Promise<void> {
    const st = c.rec.State;
    setStatus(st, status);
    delete st.GC;
    st.Pid = 0;
    if (st.Health) st.Health.Status = "unhealthy";
    await this.save(c);
    this.emitEvent(c, event, { exitCode: String(exitCode) });
  }

  #releaseExit(c: Container): void {
    c.runSeq++;
    const r = c.resolveExit;
    c.resolveExit = null;
    c.exitHandled = null;
    r?.();
    c.changed();
  }

  /** The gc finished a container: Exited, event, restart policy, auto-remove (trigger 2). */
  async gcFinished(entry: GcEntry): Promise<void> {
    const c = this.store.find(entry.id);
    if (!c) return;
    await this.#markStopped(c, "exited", "gc-leave", entry.exitCode);
    if (!entry.noRestart) await this.afterExit(c, entry.exitCode, entry.ranForMs);
    // A failed start of a --rm container is removed once its resources are released.
    else if (c.rec.HostConfig.AutoRemove) await this.#autoRemove(c);
  }

  /**
   * Release whatever a container still holds, whatever state a crash left it
   * in: thaw, kill what is left in its cgroups, then the cleanup of §3.4.
   */
  async reclaimResources(id: string): Promise<void> {
    const res = this.resources(id);
    thawCgroup(res.cgroupsPath);
    const left = cgroupPids(res.cgroupsPath);
    for (const pid of left) signalProcess({ pid, startTime: 0 }, signals.KILL);
    // A killed task leaves its cgroup only once it is reaped: wait a little
    // so the rmdir below does not fail on a task that is already dying.
    for (let i = 0; i < 50 && left.length > 0 && cgroupPids(res.cgroupsPath).length > 0; i++) {
      await sleep(10);
    }
    await cleanupContainer(this.runc, res);
  }

  /**
   * Record a failed gc try on the container (inspect and ps show it); a
   * distinct error is logged and persisted, a repeated one only counted.
   */
  gcFailed(entry: GcEntry, distinct: boolean): void {
    const c = this.store.find(entry.id);
    if (distinct) {
      log.warn("container {id}: gc cleanup failed (try {tries}): {error}", {
        id: entry.id,
        tries: entry.tries,
        error: entry.lastError,
      });
    }
    if (!c) return;
    c.rec.State.GC = { LastError: entry.lastError, Tries: entry.tries };
    if (distinct) void this.save(c).catch(() => {});
  }

  /**
   * After an exit: ask the restart manager; restart after the backoff, or
   * auto-remove (seed 003's three trigger points all land here).
   */
  async afterExit(c: Container, exitCode: number, ranForMs: number): Promise<void> {
    if (c.removing) return;
    const st = c.rec.State;
    const rm = this.restartManager(c);
    const decision = rm.shouldRestart(exitCode, st.HasBeenManuallyStopped, ranForMs);
    const countChanged = st.FailureCount !== rm.failureCount;
    st.FailureCount = rm.failureCount;
    if (decision.restart) {
      // Scheduled before anything awaits: a user op waiting for this exit
      // (#settleExit) then sees the pending restart and can cancel it.
      this.scheduleRestart(c, decision.delayMs);
      return;
    }
    if (countChanged) await this.save(c);
    if (c.rec.HostConfig.AutoRemove) await this.#autoRemove(c);
  }

  /**
   * Status restarting, RestartCount (and the failure count) persisted, then
   * start after `delayMs` unless cancelled. `count` is false when restore
   * resumes a wait whose restart was already counted.
   */
  scheduleRestart(c: Container, delayMs: number, count = true): void {
    const st = c.rec.State;
    setStatus(st, "restarting");
    if (count) c.rec.RestartCount++;
    const cancel = new AbortController();
    c.restartCancel = cancel;
    const saved = this.save(c);
    void (async () => {
      await saved;
      if (!(await waitOrCancel(delayMs, cancel.signal))) return;
      await c.lock.run(async () => {
        if (cancel.signal.aborted || c.removing) return;
        c.restartCancel = null;
        try {
          await this.startLocked(c);
          this.emitEvent(c, "restart");
        } catch (err) {
          const msg = errorMessage(err);
          log.error("container {id}: restart failed: {error}", { id: c.id, error: msg });
          // Refused before anything ran (e.g. the image is gone): record it as a failed start.
          if (st.Status === "restarting") await this.#failStart(c, msg);
          // A failed restart is a failed exit: the policy decides again, still
          // under the lock so no user op sees the gap (not awaited: an
          // auto-remove would wait for this lock). In gc, the gc decides.
          if (st.Status !== "gc") {
            this.afterExit(c, st.ExitCode, 0).catch((e) =>
              log.error("container {id}: restart policy: {error}", {
                id: c.id,
                error: errorMessage(e),
              })
            );
          }
        }
      });
    })().catch((err) =>
      log.error("container {id}: scheduled restart: {error}", {
        id: c.id,
        error: errorMessage(err),
      })
    )
      .finally(() => {
        if (c.restartCancel === cancel) c.restartCancel = null;
      });
  }

  /** Cancel a pending restart (seed 003 cancel); the container is left Exited. */
  #cancelRestart(c: Container): void {
    if (!c.restartCancel) return;
    c.restartCancel.abort();
    c.restartCancel = null;
    if (c.rec.State.Status === "restarting") setStatus(c.rec.State, "exited");
  }

  /**
   * A user stop (stop, kill with SIGKILL or the stop signal, rm -f): no
   * restart until the next user start. The caller persists the flag.
   */
  #manualStop(c: Container): void {
    c.rec.State.HasBeenManuallyStopped = true;
    this.restartManager(c).cancel();
    this.#cancelRestart(c);
  }

  /** A user start or restart: forget the manual stop, the backoff and the failures. */
  #userStart(c: Container): void {
    this.#cancelRestart(c);
    c.rec.State.HasBeenManuallyStopped = false;
    this.restartManager(c).reset();
    c.rec.State.FailureCount = 0;
  }

  /**
   * Let an exit that is being handled (state already Exited) finish, so that
   * a user op sees the restart it schedules and can cancel it.
   */
  async #settleExit(c: Container): Promise<void> {
    if (!c.rec.State.Running && c.exitHandled) await c.exitHandled;
  }

  async #autoRemove(c: Container): Promise<void> {
    await c.lock.run(() => this.#removeLocked(c)).catch((err) =>
      log.error("container {id}: auto-remove failed: {error}", {
        id: c.id,
        error: errorMessage(err),
      })
    );
  }

  // ---- stop, kill, restart --------------------------------------------------

  /** Stop: stop signal, then SIGKILL after `timeoutSec`; returns once the exit is handled. */
  stop(ref: string, timeoutSec?: number): Promise<void> {
    const c = this.store.get(ref);
    return c.exclusive(async () => {
      await this.#settleExit(c);
      const restarting = c.restartCancel !== null;
      if (!restarting && !c.rec.State.Running) {
        throw notModified(`container ${c.name} is not running`);
      }
      this.#manualStop(c);
      await this.save(c);
      if (!restarting) await this.#stopLocked(c, timeoutSec ?? c.rec.Config.StopTimeout ?? 10);
      this.emitEvent(c, "stop");
    });
  }

  async #stopLocked(c: Container, timeoutSec: number): Promise<void> {
    const done = c.exitHandled ?? Promise.resolve();
    const sig = parseSignal(c.rec.Config.StopSignal || "TERM") ?? signals.TERM;
    c.stopping = true;
    try {
      if (timeoutSec !== 0) {
        this.#signal(c, sig);
        if (await raceTimeout(done, timeoutSec < 0 ? Infinity : timeoutSec * 1000)) return;
      }
      this.#signal(c, signals.KILL);
      await done;
    } finally {
      c.stopping = false;
    }
  }

  /** Signal the current run's init (by pid and start time: a reused pid is never hit). */
  #signal(c: Container, sig: number): void {
    this.emitEvent(c, "kill", { signal: String(sig) });
    signalProcess({ pid: c.rec.State.Pid, startTime: c.rec.State.StartTime }, sig);
  }

  /** After a SIGKILL, wait (bounded) for the exit to be handled, as Docker's kill does. */
  async #awaitKilled(c: Container): Promise<void> {
    if (c.exitHandled) await raceTimeout(c.exitHandled, KILL_WAIT_MS);
  }

  /** Send a signal. SIGKILL or the stop signal counts as a manual stop. */
  kill(ref: string, signal = "KILL"): Promise<void> {
    const c = this.store.get(ref);
    const sig = parseSignal(signal);
    if (sig === null) throw invalid(`invalid signal: ${signal}`);
    const stopSig = parseSignal(c.rec.Config.StopSignal || "TERM");
    const manual = sig === signals.KILL || sig === stopSig;
    if (manual && c.stopping) {
      // A stop is waiting out its timeout under the lock: Docker's kill
      // interrupts it instead of queueing behind it. The stop already made
      // this a manual stop.
      this.#signal(c, sig);
      return sig === signals.KILL ? this.#awaitKilled(c) : Promise.resolve();
    }
    return c.exclusive(async () => {
      await this.#settleExit(c);
      const restarting = c.restartCancel !== null;
      if (!(manual && restarting) && !c.rec.State.Running) {
        throw conflict(`container ${c.name} is not running`);
      }
      if (manual) {
        this.#manualStop(c);
        await this.save(c);
        if (restarting) return;
      }
      this.#signal(c, sig);
      if (sig === signals.KILL) await this.#awaitKilled(c);
    });
  }

  /**
   * The health monitor's kill: SIGKILL that is not a manual stop, so the
   * restart policy applies; with `restartAnyway`, a policy that would not
   * restart is overridden by a start after the exit (Podman's "restart").
   */
  killUnhealthy(c: Container, restartAnyway: boolean): Promise<void> {
    return c.lock.run(() => {
      if (!c.rec.State.Running) return Promise.resolve();
      const seq = c.runSeq;
      this.#signal(c, signals.KILL);
      if (!restartAnyway) return Promise.resolve();
      queueMicrotask(async () => {
        await c.waitFor(() => c.runSeq > seq && !c.exitHandled);
        await c.lock.run(async () => {
          // The policy restarts it, or the user acted meanwhile: nothing to do.
          const st = c.rec.State;
          if (c.restartCancel || st.Running || st.HasBeenManuallyStopped || c.removing) return;
          c.rec.RestartCount++;
          await this.startLocked(c);
          this.emitEvent(c, "restart");
        }).catch((err) =>
          log.error("container {id}: restart after unhealthy failed: {error}", {
            id: c.id,
            error: errorMessage(err),
          })
        );
      });
      return Promise.resolve();
    });
  }

  /** Restart: stop (if running) then a user start. */
  restart(ref: string, timeoutSec?: number): Promise<void> {
    const c = this.store.get(ref);
    return c.exclusive(async () => {
      await this.#settleExit(c);
      this.#refuseInGc(c);
      if (c.rec.State.Running) {
        // Cancelled first, so the policy does not restart it behind our back.
        this.#manualStop(c);
        await this.#stopLocked(c, timeoutSec ?? c.rec.Config.StopTimeout ?? 10);
      }
      this.#userStart(c);
      await this.startLocked(c);
      this.emitEvent(c, "restart");
    });
  }

  // ---- remove --------------------------------------------------------------

  /** Remove a container; a running one only with `force` (SIGKILL first). */
  remove(ref: string, force = false): Promise<void> {
    const c = this.store.get(ref);
    // rm -f interrupts a pending stop (as Docker's does) rather than wait out its timeout.
    if (force && c.stopping) this.#signal(c, signals.KILL);
    return c.exclusive(async () => {
      await this.#settleExit(c);
      this.#refuseInGc(c);
      const restarting = c.restartCancel !== null;
      if ((c.rec.State.Running || restarting) && !force) {
        throw conflict(
          `cannot remove container ${c.name}: container is ${
            restarting ? "restarting" : "running"
          }: stop the container before removing or force remove`,
        );
      }
      this.#manualStop(c);
      if (c.rec.State.Running) {
        c.removing = true;
        await this.save(c);
        await this.#stopLocked(c, 0);
        this.#refuseInGc(c);
      }
      await this.#removeLocked(c);
    });
  }

  async #removeLocked(c: Container): Promise<void> {
    if (!this.store.find(c.id)) return;
    await this.#releaseBeforeRemove(c);
    c.removing = true;
    setStatus(c.rec.State, "removing");
    await this.disk.remove(c.id);
    this.#writes.cancel(c.id);
    this.store.delete(c.id);
    this.#removedExit.set(c.id, c.rec.State.ExitCode);
    setTimeout(() => this.#removedExit.delete(c.id), 60_000).unref?.();
    c.removed = true;
    c.changed();
    this.emitEvent(c, "destroy");
  }

  /**
   * A record is deleted only once what its runs held is released: a state
   * dir still there (a cleanup that never ran or failed) is cleaned now, and
   * when that fails the gc owns the container and rm is refused.
   */
  async #releaseBeforeRemove(c: Container): Promise<void> {
    if (!existsSync(this.bundle(c.id))) return;
    try {
      await cleanupContainer(this.runc, this.resources(c.id));
    } catch (err) {
      const failure = errorMessage(err);
      if (!this.gc) throw err;
      const st = c.rec.State;
      const info = {
        pid: st.Pid,
        startTime: st.StartTime,
        ppid: st.PPid,
        pStartTime: st.PStartTime,
      };
      const exit = { exitCode: st.ExitCode, finishedAt: st.FinishedAt, ranForMs: 0 };
      await this.#enterGc(c, info, { ...exit, noRestart: true }, failure);
      throw conflict(
        `cannot remove container ${c.name}: its resources are not released (the gc retries): ${failure}`,
      );
    }
  }

  // ---- wait, rename, update -------------------------------------------------

  /**
   * Wait for a container: "not-running" (default), "next-exit" or "removed".
   * `registered` resolves once the wait is armed (the API flushes headers then).
   */
  wait(ref: string, condition = "not-running"): { registered: true; result: Promise<WaitResult> } {
    if (!["not-running", "next-exit", "removed", ""].includes(condition)) {
      throw invalid(`invalid condition: "${condition}"`);
    }
    const c = this.store.get(ref);
    const seq = c.runSeq;
    const result = (async (): Promise<WaitResult> => {
      if (condition === "removed") {
        await c.waitFor(() => c.removed);
      } else if (condition === "next-exit") {
        await c.waitFor(() => c.runSeq > seq && !c.rec.State.Running && !c.exitHandled);
      } else {
        await c.waitFor(() => !c.rec.State.Running && !c.exitHandled);
      }
      const st = c.rec.State;
      return { StatusCode: st.ExitCode, Error: st.Error ? { Message: st.Error } : null };
    })();
    return { registered: true, result };
  }

  /** Rename a container. */
  rename(ref: string, newName: string): Promise<void> {
    const c = this.store.get(ref);
    const name = validateName(newName);
    return c.exclusive(async () => {
      this.#refuseBroken(c);
      const old = c.name;
      this.store.rename(c, name);
      await this.#saveAll(c);
      this.emitEvent(c, "rename", { oldName: old });
    });
  }

  /** Change the restart policy, backoff overrides and limits of a container, live. */
  update(ref: string, hc: Partial<HostConfig>): Promise<void> {
    const c = this.store.get(ref);
    return c.exclusive(async () => {
      this.#refuseBroken(c);
      const next = { ...c.rec.HostConfig, ...hc };
      if (hc.RestartPolicy) next.RestartPolicy = validateRestartPolicy(hc.RestartPolicy);
      checkAutoRemove(next.RestartPolicy, next.AutoRemove);
      validateHostConfig(next);
      // A running container gets its new limits now, not only at its next start.
      const limits = changedLimits(c.rec.HostConfig, next);
      if (c.rec.State.Running && limits) await this.runc.update(c.id, limits);
      c.rec.HostConfig = next;
      await this.#saveAll(c);
      this.restartManager(c);
      this.emitEvent(c, "update");
    });
  }

  /** Exit code of a removed container, kept a minute for late waiters. */
  removedExitCode(id: string): number | undefined {
    return this.#removedExit.get(id);
  }

  /** Stop watching exits; containers keep running under their shims. */
  async close(): Promise<void> {
    for (const c of this.store.list()) c.restartCancel?.abort();
    this.#writes.close();
    await this.supervisor.close();
  }
}

async function mkdirp(path: string): Promise<string> {
  await Deno.mkdir(path, { recursive: true, mode: 0o700 });
  return path;
}

/** setTimeout's longest delay; a longer one fires at once. */
const MAX_TIMER_MS = 2 ** 31 - 1;

async function raceTimeout(p: Promise<unknown>, ms: number): Promise<boolean> {
  // Beyond ~24.8 days a wait is as good as endless.
  if (ms > MAX_TIMER_MS) {
    await p;
    return true;
  }
  let timer: ReturnType<typeof setTimeout> | undefined;
  const t = new Promise<false>((r) => timer = setTimeout(() => r(false), ms));
  const won = await Promise.race([p.then(() => true), t]);
  clearTimeout(timer);
  return won;
}
