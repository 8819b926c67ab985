/**
 * The container core's shared parts: the store, the disk, the system, the
 * gc, and the sink through which every state machine persists (failed writes
 * retried until they land) and emits. On top of it: the start path
 * (`start.ts`), the restart flow (`restart_flow.ts`), the user operations
 * (`service.ts`); restore talks to it through `RestorePort`.
 * @module
 */
import { conflict, errorMessage } from "../errdefs/mod.ts";
import type { EventLog } from "../events/mod.ts";
import type { GcEntry, GcHandler } from "../gc/mod.ts";
import type { ImageStore } from "../image/mod.ts";
import type { VolumeStore } from "../volume/mod.ts";
import type { NetworkManager } from "../network/mod.ts";
import type { Backoff } from "../restart/mod.ts";
import { type ExitOutcome, handleExit, type PidInfo, reclaimRun } from "../supervisor/mod.ts";
import { WriteRetry } from "../sys/mod.ts";
import { Container, type LifecycleSink, type RunEnd } from "./container.ts";
import type { ContainerRecord } from "./model.ts";
import { ContainerNetworking } from "./networking.ts";
import { ContainerDisk } from "./persist.ts";
import { ContainerStore } from "./store.ts";
import type { ContainerSystem } from "./system.ts";
import { volumeUsers } from "./volumes.ts";
import { getLogger } from "@logtape/logtape";

const log = getLogger(["corral", "container"]);

/** The pids of no run: a start that failed before its shim was up, leftovers of a crash. */
export const NO_RUN: PidInfo = { pid: 0, startTime: 0, ppid: 0, pStartTime: 0 };

/** Daemon settings the core needs. */
export interface CoreOptions {
  root: string;
  stateRoot: string;
  runtime: string;
  /** Parent of every container's cgroup, e.g. "corral". */
  cgroupParent: string;
  backoff: Backoff;
  images: ImageStore;
  volumes: VolumeStore;
  events: EventLog;
  logMaxSize: number;
  logMaxFiles: number;
  /** Bound of the shim's create phase (ms). */
  createTimeoutMs: number;
  /** Networks (CNI); without them containers have `none` or `host` networking only. */
  networks?: NetworkManager | null;
}

/** How an exit's handling ended, for the restart flow. */
export interface ExitResult {
  exitCode: number;
  ranForMs: number;
  /** The gc owns the container now: it decides once the cleanup succeeds. */
  inGc: boolean;
  /** A failed start: reported to its caller, never restarted. */
  failedStart: boolean;
}

/** Hooks of the modules around the core (health checks). */
export interface CoreHooks {
  started(c: Container): void;
  stopped(c: Container): void;
}

/** How long a start waits for the clients waiting to attach to connect. */
const ATTACH_CONNECT_MS = 3000;

/**
 * The core.
 *
 * @example
 * ```ts
 * import type { ContainerSystem } from "./system.ts";
import { volumeUsers } from "./volumes.ts";
 * declare const opts: CoreOptions;
 * declare const sys: ContainerSystem;
 * const core = new ContainerCore(opts, () => sys);
 * ```
 */
export class ContainerCore implements LifecycleSink {
  readonly store = new ContainerStore();
  readonly disk: ContainerDisk;
  readonly networking: ContainerNetworking;
  readonly sys: ContainerSystem;
  gc: GcHandler | null = null;
  hooks: CoreHooks = { started: () => {}, stopped: () => {} };
  /**
   * Clients waiting to attach to a container's next run, by container id:
   * called once its shim created the init, before `runc start`, so they see
   * all of its output (attach.ts).
   */
  readonly attachWaiters = new Map<string, Set<() => Promise<void>>>();
  readonly #writes = new WriteRetry({
    failed: (id, err) =>
      log.error("container {id}: saving its state failed, retrying until it lands: {error}", {
        id,
        error: errorMessage(err),
      }),
    recovered: (id, tries) =>
      log.info("container {id}: state saved after {tries} retries", { id, tries }),
  });

  constructor(
    readonly opts: CoreOptions,
    system: (disk: ContainerDisk, networking: ContainerNetworking) => ContainerSystem,
  ) {
    this.disk = new ContainerDisk(opts.root);
    this.networking = new ContainerNetworking(opts.networks ?? null, {
      find: (ref) => this.store.find(ref)?.rec,
      hostsPath: (id) => this.disk.etcFiles(id).hosts,
    });
    this.sys = system(this.disk, this.networking);
  }

  /**
   * Connect the clients waiting for this run (bounded: a client that does
   * not connect in time misses the start of the output, nothing more).
   */
  async connectAttachWaiters(c: Container): Promise<void> {
    const waiters = this.attachWaiters.get(c.id);
    if (!waiters?.size) return;
    this.attachWaiters.delete(c.id);
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([
      Promise.all([...waiters].map((w) => w().catch(() => {}))),
      new Promise((r) => timer = setTimeout(r, ATTACH_CONNECT_MS)),
    ]);
    clearTimeout(timer);
  }

  /** A container object for a record (not yet in the store). */
  container(rec: ContainerRecord): Container {
    return new Container(rec, this);
  }

  // ---- the sink ----------------------------------------------------------------

  /** Persist a container's state; a failed write is retried until it lands. */
  async persistState(c: Container): Promise<void> {
    await this.#writes.write(c.id, async () => {
      if (c.removed) return;
      try {
        await this.disk.saveState(c.rec);
      } catch (err) {
        // An `rm` took the directory away: there is nothing left to save.
        if (!(err instanceof Deno.errors.NotFound && c.removing)) throw err;
      }
    });
  }

  /** Persist config, host config and state, retried like `persistState`. */
  async persistAll(c: Container): Promise<void> {
    await this.#writes.write(c.id, async () => {
      if (!c.removed) await this.disk.save(c.rec);
    });
  }

  /** Emit a container event with its name, image and labels. */
  emit(c: Container, action: string, extra: Record<string, string> = {}): void {
    this.opts.events.emit("container", action, c.id, {
      name: c.name,
      image: c.rec.Image,
      ...c.rec.Config.Labels,
      ...extra,
    });
  }

  // ---- guards ------------------------------------------------------------------

  /** Refuse an operation on a container the gc owns. */
  refuseInGc(c: Container): void {
    const entry = this.gc?.get(c.id);
    if (entry || c.rec.State.Status === "gc") {
      throw conflict(
        `container ${c.name} is being cleaned up (gc): ${
          entry?.lastError ?? c.rec.State.GC?.LastError ?? ""
        }`,
      );
    }
  }

  /** A container restore could not load is only inspected and removed. */
  refuseUnloadable(c: Container): void {
    if (c.loadError) {
      throw conflict(`container ${c.name} cannot be used: ${c.loadError}; remove it with rm -f`);
    }
  }

  // ---- the exit path -----------------------------------------------------------------

  /**
   * The supervisor saw a run's shim go: handle the exit (seed 000) and
   * record it. A failed `runc start` is recorded as that failure.
   */
  async supervisedExit(c: Container, pids: PidInfo): Promise<ExitResult> {
    const failure = c.startFailure;
    const outcome = await handleExit(this.sys, c.id, pids, {
      startedAt: c.rec.State.StartedAt,
      memoryLimited: c.rec.HostConfig.Memory > 0,
    });
    if (failure) Object.assign(outcome, { exitCode: failure.code, ranForMs: 0 });
    return await this.recordExit(c, pids, outcome, failure?.message ?? "");
  }

  /**
   * Record a handled exit: exited (or dead without a gc), or gc when the
   * cleanup failed. `error` is a failed start's message.
   */
  async recordExit(
    c: Container,
    pids: PidInfo,
    outcome: ExitOutcome,
    error: string,
  ): Promise<ExitResult> {
    this.hooks.stopped(c);
    const end: RunEnd = {
      exitCode: outcome.exitCode,
      finishedAt: outcome.finishedAt,
      error: outcome.failure && !this.gc ? outcome.failure : error,
      oomKilled: outcome.oomKilled,
    };
    const result = {
      exitCode: outcome.exitCode,
      ranForMs: outcome.ranForMs,
      inGc: false,
      failedStart: error !== "",
    };
    if (outcome.failure && this.gc) {
      await this.enterGc(c, pids, end, outcome, result.failedStart);
      return { ...result, inGc: true };
    }
    await c.exited(end, outcome.failure ? "dead" : "exited");
    return result;
  }

  /** Hand a container whose cleanup failed to the gc (it retries until it succeeds). */
  async enterGc(
    c: Container,
    pids: PidInfo,
    end: RunEnd,
    outcome: { ranForMs: number; failure: string },
    noRestart: boolean,
  ): Promise<void> {
    await c.enterGc(end, outcome.failure);
    // Logged here once; the gc logs only errors that differ from this one.
    log.warn("container {id}: cleanup failed, the gc retries it: {error}", {
      id: c.id,
      error: outcome.failure,
    });
    await this.gc!.add({
      id: c.id,
      ...pids,
      exitCode: end.exitCode,
      finishedAt: end.finishedAt,
      ranForMs: outcome.ranForMs,
      noRestart,
      lastError: outcome.failure,
    });
  }

  /**
   * A start failed before its run began: release what it set up; exited
   * with the failure's code, or gc when the release fails.
   */
  async failedBeforeRun(c: Container, exitCode: number, message: string): Promise<void> {
    const { failure } = await reclaimRun(this.sys, c.id, NO_RUN, false);
    const end = {
      exitCode,
      finishedAt: new Date().toISOString(),
      error: message,
      oomKilled: false,
    };
    if (failure && this.gc) await this.enterGc(c, NO_RUN, end, { ranForMs: 0, failure }, true);
    else await c.exited(end);
  }

  /**
   * What a stopped container left could not be released: the gc owns it
   * (its recorded exit kept, never restarted by the gc).
   */
  async gcLeftovers(c: Container, pids: PidInfo, failure: string): Promise<void> {
    const st = c.rec.State;
    const end = { exitCode: st.ExitCode, finishedAt: st.FinishedAt, error: "", oomKilled: false };
    await this.enterGc(c, pids, end, { ranForMs: 0, failure }, true);
  }

  // ---- the gc's hooks -------------------------------------------------------------------

  /** A gc try failed: recorded on the container; a distinct error logged. */
  async gcFailed(entry: GcEntry, distinct: boolean): Promise<void> {
    if (distinct) {
      log.warn("container {id}: gc cleanup failed (try {tries}): {error}", {
        id: entry.id,
        tries: entry.tries,
        error: entry.lastError,
      });
    }
    await this.store.find(entry.id)?.gcTried(entry.lastError, entry.tries, distinct);
  }

  // ---- removal -------------------------------------------------------------------------

  /**
   * Remove a stopped container (its lock held). The record is deleted only
   * once what its runs held is released: a state dir still there is cleaned
   * now, and when that fails the gc owns the container and rm is refused.
   * With `volumes` (`rm -v`, `--rm`), its anonymous volumes go too.
   */
  async removeLocked(c: Container, volumes = false): Promise<void> {
    if (!this.store.find(c.id)) return;
    if (this.sys.hasStateDir(c.id)) {
      const { failure } = await reclaimRun(this.sys, c.id, c.runPids, false);
      if (failure && this.gc) {
        await this.gcLeftovers(c, c.runPids, failure);
        throw conflict(
          `cannot remove container ${c.name}: its resources are not released (the gc retries): ${failure}`,
        );
      }
      if (failure) throw new Error(failure);
    }
    c.removingBegun();
    await this.disk.remove(c.id);
    this.#writes.cancel(c.id);
    this.store.delete(c.id);
    this.#removedExit.set(c.id, c.rec.State.ExitCode);
    setTimeout(() => this.#removedExit.delete(c.id), 60_000).unref?.();
    c.removedDone();
    if (volumes) await this.#removeAnonymousVolumes(c);
  }

  /** Remove a removed container's anonymous volumes that no other container mounts. */
  async #removeAnonymousVolumes(c: Container): Promise<void> {
    const others = this.store.list().map((o) => o.rec);
    for (const v of c.rec.MountPoints ?? []) {
      if (!v.Anonymous || volumeUsers(others, v.Name).length > 0) continue;
      await this.opts.volumes.remove(v.Name).catch((err) =>
        log.warn("container {id}: removing its volume {name} failed: {error}", {
          id: c.id,
          name: v.Name,
          error: errorMessage(err),
        })
      );
    }
  }

  /** Exit codes of recently removed containers, for `wait --condition removed`. */
  readonly #removedExit = new Map<string, number>();

  /** Exit code of a removed container, kept a minute for late waiters. */
  removedExitCode(id: string): number | undefined {
    return this.#removedExit.get(id);
  }

  /** Stop persisting and supervising; containers keep running under their shims. */
  close(): void {
    for (const c of this.store.list()) c.abandonRestart();
    this.#writes.close();
  }
}
