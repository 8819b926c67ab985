/**
 * The container service: the user operations (create, start, stop, kill,
 * restart, remove, wait, rename, update), each under the container's lock,
 * and the wiring of the exit path (supervisor → exit handling → restart
 * flow). The state changes are the state machine's (`container.ts`).
 * @module
 */
import { conflict, errorMessage, invalid, notModified } from "../errdefs/mod.ts";
import type { GcEntry, GcHandler } from "../gc/mod.ts";
import { checkAutoRemove, validateRestartPolicy } from "../restart/mod.ts";
import type { PidInfo } from "../supervisor/mod.ts";
import { parseSignal, signals } from "../sys/mod.ts";
import { buildConfig, changedLimits, MAX_TIMER_MS, validateHostConfig } from "./config.ts";
import type { Container } from "./container.ts";
import { etcFilesInput, validateEtcFiles } from "./etc_files.ts";
import { ContainerCore, type CoreHooks, type CoreOptions } from "./core.ts";
import { type RestorePort, restorePort } from "./restore_port.ts";
import {
  type ContainerConfig,
  defaultHostConfig,
  type EndpointRequest,
  type HostConfig,
  newState,
} from "./model.ts";
import { generateName, newId, validateName } from "./names.ts";
import type { NetworkingRequest } from "./networking.ts";
import { connectContainer, disconnectContainer } from "./network_ops.ts";
import { RestartFlow } from "./restart_flow.ts";
import { startContainer } from "./start.ts";
import { createVolumes, planVolumes } from "./volumes.ts";
import { type ContainerSystem, RuncSystem } from "./system.ts";
import { getLogger } from "@logtape/logtape";

const log = getLogger(["corral", "container"]);

/** Daemon settings the service needs. */
export type ServiceOptions = CoreOptions;

/** What create takes (the API's body, normalized). */
export interface CreateRequest {
  name?: string;
  config: Partial<ContainerConfig> & { Image: string };
  hostConfig?: Partial<HostConfig>;
  /** Docker's `NetworkingConfig`: the networks to be on and what to ask of each. */
  networkingConfig?: NetworkingRequest;
}

/** The answer of wait. */
export interface WaitResult {
  StatusCode: number;
  Error: { Message: string } | null;
}

/** How long kill with SIGKILL waits for the exit before it answers anyway. */
const KILL_WAIT_MS = 10_000;

/**
 * The container module's service.
 *
 * @example
 * ```ts
 * declare const opts: ServiceOptions;
 * const svc = new ContainerService(opts);
 * const id = await svc.create({ config: { Image: "busybox", Cmd: ["true"] } });
 * await svc.start(id);
 * const { StatusCode } = await svc.wait(id, "not-running").result;
 * ```
 */
export class ContainerService {
  readonly core: ContainerCore;
  readonly restarts: RestartFlow;

  /** `system` replaces the real runc system (unit tests). */
  constructor(
    readonly opts: ServiceOptions,
    system?: (
      disk: ContainerCore["disk"],
      onExit: (id: string, p: PidInfo) => void,
    ) => ContainerSystem,
  ) {
    const onExit = (id: string, pids: PidInfo) => void this.#onExit(id, pids);
    this.core = new ContainerCore(
      opts,
      (disk, networking) =>
        system ? system(disk, onExit) : new RuncSystem(opts, opts.images, disk, networking, onExit),
    );
    this.restarts = new RestartFlow(this.core);
  }

  /** The containers. */
  get store(): ContainerCore["store"] {
    return this.core.store;
  }

  /** Where containers are persisted. */
  get disk(): ContainerCore["disk"] {
    return this.core.disk;
  }

  /** The real runc system (exec and `info` use runc directly). */
  get runtime(): RuncSystem {
    if (!(this.core.sys instanceof RuncSystem)) throw new Error("no runc system");
    return this.core.sys;
  }

  /**
   * Emit a container event with the container's name, image and labels, for
   * the modules around the service (exec).
   */
  emitEvent(c: Container, action: string, extra: Record<string, string> = {}): void {
    this.core.emit(c, action, extra);
  }

  /** Wire the health checks: told when a run starts and when it stops. */
  setHooks(hooks: CoreHooks): void {
    this.core.hooks = hooks;
  }

  /** Wire the gc: failed cleanups go to it. */
  setGc(gc: GcHandler): void {
    this.core.gc = gc;
  }

  /** The interface restore works through. */
  restorePort(): RestorePort {
    return restorePort(this.core, this.restarts, (c) => this.remove(c.id, true, true));
  }

  // ---- the exit path --------------------------------------------------------

  async #onExit(id: string, pids: PidInfo): Promise<void> {
    const c = this.store.find(id);
    if (!c) return;
    try {
      const result = await this.core.supervisedExit(c, pids);
      if (result.inGc) return;
      // A failed start is reported to its caller; no restart is scheduled for it.
      if (result.failedStart) return c.settled();
      await this.restarts.afterExit(c, result);
    } catch (err) {
      // Never let one exit take the daemon down; waiters are released.
      log.error("container {id}: exit handling failed: {error}", { id, error: errorMessage(err) });
      c.settled();
    }
  }

  /** The gc finished a container: Exited, then its restart policy (seed 003 trigger 2). */
  async gcFinished(entry: GcEntry): Promise<void> {
    const c = this.store.find(entry.id);
    if (!c) return;
    await c.leaveGc(entry.exitCode);
    if (!entry.noRestart) {
      await this.restarts.afterExit(c, entry);
    } else if (c.rec.HostConfig.AutoRemove) {
      // A failed start of a --rm container is removed once its resources are released.
      await c.lock.run(() => this.restarts.autoRemoveAfterFailedStart(c));
    }
  }

  /** A gc try failed. */
  gcFailed(entry: GcEntry, distinct: boolean): Promise<void> {
    return this.core.gcFailed(entry, distinct);
  }

  /** The gc's reclaim: thaw, kill what is left in the cgroups, clean up. */
  reclaimResources(id: string): Promise<void> {
    return this.core.sys.reclaim(id);
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
    const wanted = req.name ? this.#freeName(validateName(req.name)) : null;
    const config = buildConfig(cfg, image);
    const volumes = planVolumes(config, hc, (ref) => this.store.find(ref)?.rec ?? null);
    hc.Binds = [...(hc.Binds ?? []), ...volumes.binds];
    validateHostConfig(hc, volumes.volumes.map((v) => v.Destination));
    const networks = this.core.networking.decide(
      hc,
      config.ExposedPorts ?? {},
      req.networkingConfig,
    );
    validateEtcFiles(etcFilesInput({ Id: "", Config: config, HostConfig: hc }));
    // As Docker: refused here, not at start (an imported image has no command).
    if (!config.Entrypoint?.length && !config.Cmd.length) throw invalid("no command specified");
    if (config.StopSignal && parseSignal(config.StopSignal) === null) {
      throw invalid(`invalid stop signal: ${config.StopSignal}`);
    }
    // Last, once everything else is checked: a refused create makes no volume.
    const mountPoints = await createVolumes(this.opts.volumes, volumes);
    let c: Container | null = null;
    try {
      // Named with no await before the store takes it: a concurrent create cannot take
      // the same name in between (it could while the volumes were made).
      c = this.core.container({
        ...(mountPoints.length ? { MountPoints: mountPoints } : {}),
        Id: newId(),
        Name: wanted ? this.#freeName(wanted) : generateName((n) => this.store.hasName(n)),
        Created: new Date().toISOString(),
        Image: cfg.Image,
        ImageID: image.Id,
        Config: config,
        HostConfig: hc,
        State: newState(),
        RestartCount: 0,
        ...(networks ? { Networks: networks } : {}),
      });
      this.store.add(c);
      await this.disk.create(c.rec);
    } catch (err) {
      if (c) this.store.delete(c.id);
      for (const v of mountPoints) {
        if (v.Anonymous) await this.opts.volumes.remove(v.Name).catch(() => {});
      }
      throw err;
    }
    this.core.emit(c, "create");
    return c.id;
  }

  /** `name` if no container has it, else Docker's conflict. */
  #freeName(name: string): string {
    if (this.store.hasName(name)) {
      throw conflict(`Conflict. The container name "/${name}" is already in use`);
    }
    return name;
  }

  // ---- start, stop, kill, restart ----------------------------------------------

  /** A user start: clears the manual stop and any pending restart. */
  start(ref: string): Promise<void> {
    const c = this.store.get(ref);
    return c.exclusive(async () => {
      this.core.refuseInGc(c);
      if (c.rec.State.Running) throw notModified(`container ${c.name} is already running`);
      c.clearRestartIntent();
      try {
        await startContainer(this.core, c);
      } catch (err) {
        // `docker run --rm` waits for the removal: a --rm container whose
        // start failed is removed now (by the gc once it released what the
        // start set up).
        if (c.rec.HostConfig.AutoRemove && c.rec.State.Status !== "gc") {
          await this.restarts.autoRemoveAfterFailedStart(c);
        }
        throw err;
      }
    });
  }

  /** Stop: stop signal, then SIGKILL after `timeoutSec`; returns once the exit is handled. */
  stop(ref: string, timeoutSec?: number): Promise<void> {
    const c = this.store.get(ref);
    return c.exclusive(async () => {
      await settleExit(c);
      const restarting = c.restartPending;
      if (!restarting && !c.rec.State.Running) {
        throw notModified(`container ${c.name} is not running`);
      }
      await c.manualStop();
      if (!restarting) await this.#stopLocked(c, timeoutSec ?? c.rec.Config.StopTimeout ?? 10);
      this.core.emit(c, "stop");
    });
  }

  #stopLocked(c: Container, timeoutSec: number): Promise<void> {
    const done = c.exitHandled ?? Promise.resolve();
    const sig = parseSignal(c.rec.Config.StopSignal || "TERM") ?? signals.TERM;
    return c.whileStopping(async () => {
      if (timeoutSec !== 0) {
        this.#signal(c, sig);
        if (await raceTimeout(done, timeoutSec < 0 ? Infinity : timeoutSec * 1000)) return;
      }
      this.#signal(c, signals.KILL);
      await done;
    });
  }

  /** Signal the current run's init (by pid and start time: a reused pid is never hit). */
  #signal(c: Container, sig: number): void {
    this.core.emit(c, "kill", { signal: String(sig) });
    this.core.sys.signal({ pid: c.rec.State.Pid, startTime: c.rec.State.StartTime }, sig);
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
    const manual = sig === signals.KILL || sig === parseSignal(c.rec.Config.StopSignal || "TERM");
    if (manual && c.stopping) {
      // A stop is waiting out its timeout under the lock: Docker's kill
      // interrupts it instead of queueing behind it. The stop already made
      // this a manual stop.
      this.#signal(c, sig);
      return sig === signals.KILL ? this.#awaitKilled(c) : Promise.resolve();
    }
    return c.exclusive(async () => {
      await settleExit(c);
      const restarting = c.restartPending;
      if (!(manual && restarting) && !c.rec.State.Running) {
        throw conflict(`container ${c.name} is not running`);
      }
      if (manual) {
        await c.manualStop();
        if (restarting) return;
      }
      this.#signal(c, sig);
      if (sig === signals.KILL) await this.#awaitKilled(c);
    });
  }

  /** Connect a container to a network (`docker network connect`). */
  connect(ref: string, network: string, request: EndpointRequest = {}): Promise<void> {
    const c = this.store.get(ref);
    return c.exclusive(async () => {
      await connectContainer(this.core, c, network, request);
      this.#networkEvent("connect", c, network);
    });
  }

  /** Disconnect a container from a network (`docker network disconnect`). */
  disconnect(ref: string, network: string): Promise<void> {
    const c = this.store.get(ref);
    return c.exclusive(async () => {
      await disconnectContainer(this.core, c, network);
      this.#networkEvent("disconnect", c, network);
    });
  }

  /** Docker's network event of a container joining or leaving a network. */
  #networkEvent(action: string, c: Container, ref: string): void {
    const network = this.core.networking.manager?.inspect(ref);
    if (!network) return;
    this.opts.events.emit("network", action, network.Id, {
      container: c.id,
      name: network.Name,
      type: network.Driver,
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
      if (restartAnyway) queueMicrotask(() => void this.#restartAfterUnhealthy(c, seq));
      return Promise.resolve();
    });
  }

  async #restartAfterUnhealthy(c: Container, seq: number): Promise<void> {
    await c.waitFor(() => c.runSeq > seq && !c.exitHandled);
    await c.lock.run(async () => {
      // The policy restarts it, or the user acted meanwhile: nothing to do.
      const st = c.rec.State;
      if (c.restartPending || st.Running || st.HasBeenManuallyStopped || c.removing) return;
      c.countRestart();
      await startContainer(this.core, c);
      this.core.emit(c, "restart");
    }).catch((err) =>
      log.error("container {id}: restart after unhealthy failed: {error}", {
        id: c.id,
        error: errorMessage(err),
      })
    );
  }

  /** Restart: stop (if running) then a user start. */
  restart(ref: string, timeoutSec?: number): Promise<void> {
    const c = this.store.get(ref);
    return c.exclusive(async () => {
      await settleExit(c);
      this.core.refuseInGc(c);
      if (c.rec.State.Running) {
        // Cancelled first, so the policy does not restart it behind our back.
        await c.manualStop();
        await this.#stopLocked(c, timeoutSec ?? c.rec.Config.StopTimeout ?? 10);
      }
      c.clearRestartIntent();
      await startContainer(this.core, c);
      this.core.emit(c, "restart");
    });
  }

  // ---- remove --------------------------------------------------------------

  /**
   * Remove a container; a running one only with `force` (SIGKILL first).
   * With `volumes` (`rm -v`), its anonymous volumes too.
   */
  remove(ref: string, force = false, volumes = false): Promise<void> {
    const c = this.store.get(ref);
    // rm -f interrupts a pending stop (as Docker's does) rather than wait out its timeout.
    if (force && c.stopping) this.#signal(c, signals.KILL);
    return c.exclusive(async () => {
      await settleExit(c);
      this.core.refuseInGc(c);
      const restarting = c.restartPending;
      if ((c.rec.State.Running || restarting) && !force) {
        throw conflict(
          `cannot remove container ${c.name}: container is ${
            restarting ? "restarting" : "running"
          }: stop the container before removing or force remove`,
        );
      }
      await c.manualStop();
      if (c.rec.State.Running) {
        await this.#stopLocked(c, 0);
        this.core.refuseInGc(c);
      }
      await this.core.removeLocked(c, volumes);
    });
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
    const stopped = () => !c.rec.State.Running && !c.exitHandled;
    const ready = condition === "removed"
      ? () => c.removed
      : condition === "next-exit"
      ? () => c.runSeq > seq && stopped()
      : stopped;
    const result = c.waitFor(ready).then((): WaitResult => {
      const st = c.rec.State;
      return { StatusCode: st.ExitCode, Error: st.Error ? { Message: st.Error } : null };
    });
    return { registered: true, result };
  }

  /** Rename a container. */
  rename(ref: string, newName: string): Promise<void> {
    const c = this.store.get(ref);
    const name = validateName(newName);
    return c.exclusive(async () => {
      this.core.refuseUnloadable(c);
      const old = c.name;
      this.store.rename(c, name);
      await c.renamed(name);
      this.core.emit(c, "rename", { oldName: old });
    });
  }

  /** Change the restart policy, backoff overrides and limits of a container, live. */
  update(ref: string, hc: Partial<HostConfig>): Promise<void> {
    const c = this.store.get(ref);
    return c.exclusive(async () => {
      this.core.refuseUnloadable(c);
      const next = { ...c.rec.HostConfig, ...hc };
      if (hc.RestartPolicy) next.RestartPolicy = validateRestartPolicy(hc.RestartPolicy);
      checkAutoRemove(next.RestartPolicy, next.AutoRemove);
      validateHostConfig(next);
      // A running container gets its new limits now, not only at its next start.
      const limits = changedLimits(c.rec.HostConfig, next);
      if (c.rec.State.Running && limits) await this.core.sys.update(c.id, limits);
      await c.hostConfigChanged(next);
      this.core.emit(c, "update");
    });
  }

  /** Exit code of a removed container, kept a minute for late waiters. */
  removedExitCode(id: string): number | undefined {
    return this.core.removedExitCode(id);
  }

  /** Stop watching exits; containers keep running under their shims. */
  async close(): Promise<void> {
    this.core.close();
    if (this.core.sys instanceof RuncSystem) await this.core.sys.supervisor.close();
  }
}

/**
 * Let an exit that is being handled (state already Exited) finish, so that a
 * user op sees the restart it schedules and can cancel it.
 */
async function settleExit(c: Container): Promise<void> {
  if (!c.rec.State.Running && c.exitHandled) await c.exitHandled;
}

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
