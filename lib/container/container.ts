/**
 * The container state machine: one object per container that owns every
 * lifecycle fact (status, the run's pids, exit, restart intent and backoff,
 * failure count, gc membership, removal, health). Its transitions are the only
 * way to change them; each checks that it is legal from the current status,
 * persists the state and emits its event, once. Everything else reads.
 *
 * ```
 * created ─▶ (starting) ─▶ running ─▶ (exiting) ─▶ exited ─▶ removing
 *    │            │                       │   ▲       │ ▲
 *    │            └──▶ exited (failed)    └─▶ gc ─────┘ │
 *    └──────────────────────────────────── restarting ◀─┘
 * ```
 * "starting" is a run whose pids are persisted before `runc start`;
 * "exiting" is a run whose exit is being handled (`exitPending`).
 * @module
 */
import type { PortMapping } from "../network/mod.ts";
import type { RestartFacts } from "../restart/mod.ts";
import type { PidInfo } from "../supervisor/mod.ts";
import {
  type ContainerConfig,
  type ContainerRecord,
  type ContainerState,
  type ContainerStatus,
  type EndpointRequest,
  type HealthLogEntry,
  type HostConfig,
  setStatus,
} from "./model.ts";
import { Mutex } from "./lock.ts";
import { notFound } from "../errdefs/mod.ts";

/** Where the machine persists and announces its transitions. */
export interface LifecycleSink {
  /** Persist the state (a failed write is retried until it lands; never throws). */
  persistState(c: Container): Promise<void>;
  /** Persist config, host config and state (rename, update). */
  persistAll(c: Container): Promise<void>;
  /** Emit a container event (Docker's `/events` shape). */
  emit(c: Container, action: string, extra?: Record<string, string>): void;
}

/** How a run ended, as the exit path found it. */
export interface RunEnd {
  exitCode: number;
  finishedAt: string;
  /** Why the run failed to start, or what its cleanup left ("" for none). */
  error: string;
  oomKilled: boolean;
}

/** Legal status changes (the states of the diagram above). */
const NEXT: Record<ContainerStatus, readonly ContainerStatus[]> = {
  created: ["running", "exited", "gc", "restarting", "removing"],
  running: ["exited", "dead", "gc"],
  restarting: ["running", "exited", "gc", "restarting", "removing"],
  exited: ["running", "exited", "gc", "restarting", "removing"],
  dead: ["running", "exited", "gc", "restarting", "removing"],
  gc: ["exited", "removing"],
  paused: ["running", "exited", "dead", "gc"],
  removing: [],
};

/** A run: from its pids being persisted until its exit is handled. */
interface Run {
  /** Resolves once the exit is handled (state exited, dead or gc). */
  handled: Promise<void>;
  resolve: () => void;
  /** `runc start` failed: the exit handler records this instead of the exit file's code. */
  startFailure: { code: number; message: string } | null;
}

/**
 * A container: its record, its lock and its lifecycle.
 *
 * @example
 * ```ts
 * import { defaultHostConfig, emptyConfig, newState } from "./model.ts";
 * import type { LifecycleSink } from "./container.ts";
 * declare const sink: LifecycleSink;
 * const c = new Container({
 *   Id: "0123", Name: "web", Created: new Date().toISOString(), Image: "busybox", ImageID: "sha256:0",
 *   Config: emptyConfig({ Cmd: ["true"] }), HostConfig: defaultHostConfig(), State: newState(),
 *   RestartCount: 0,
 * }, sink);
 * await c.exclusive(async () => {});
 * ```
 */
export class Container {
  readonly #rec: ContainerRecord;
  readonly #sink: LifecycleSink;
  /** User operations on this container run one at a time. */
  readonly lock = new Mutex();
  #run: Run | null = null;
  #runSeq = 0;
  #restartCancel: AbortController | null = null;
  #removal: "none" | "removing" | "removed" = "none";
  #stopping = false;
  #loadError: string | null = null;
  readonly #waiters = new Set<{ ready: () => boolean; resolve: () => void }>();

  constructor(rec: ContainerRecord, sink: LifecycleSink) {
    this.#rec = rec;
    this.#sink = sink;
  }

  // ---- reading ---------------------------------------------------------------

  /** The record, read-only: transitions change it. */
  get rec(): Readonly<Omit<ContainerRecord, "State">> & {
    readonly State: Readonly<ContainerState>;
  } {
    return this.#rec;
  }

  /** The id. */
  get id(): string {
    return this.#rec.Id;
  }

  /** The name. */
  get name(): string {
    return this.#rec.Name;
  }

  /** Counts runs and exits, so `wait --condition next-exit` knows a new exit. */
  get runSeq(): number {
    return this.#runSeq;
  }

  /** The persisted pids of the current (or last) run. */
  get runPids(): PidInfo {
    const st = this.#rec.State;
    return { pid: st.Pid, startTime: st.StartTime, ppid: st.PPid, pStartTime: st.PStartTime };
  }

  /** Resolves when the current run's exit has been handled; null when no run is pending. */
  get exitHandled(): Promise<void> | null {
    return this.#run?.handled ?? null;
  }

  /** A restart waits out its backoff. */
  get restartPending(): boolean {
    return this.#restartCancel !== null;
  }

  /** A stop waits for the exit (kill and rm -f interrupt it). */
  get stopping(): boolean {
    return this.#stopping;
  }

  /** rm has begun: nothing restarts it. */
  get removing(): boolean {
    return this.#removal !== "none";
  }

  /** The container is gone from the store. */
  get removed(): boolean {
    return this.#removal === "removed";
  }

  /** Why restore could not load the container's config: it can only be removed. */
  get loadError(): string | null {
    return this.#loadError;
  }

  /** The restart facts the restart decision reads. */
  get restartFacts(): RestartFacts {
    const st = this.#rec.State;
    return {
      policy: this.#rec.HostConfig.RestartPolicy,
      failureCount: st.FailureCount,
      lastDelayMs: st.LastRestartDelayMs ?? 0,
      manuallyStopped: st.HasBeenManuallyStopped,
    };
  }

  /**
   * Run a user operation under the lock. An operation that queued behind an
   * `rm` finds the container gone and fails: it must not recreate a removed
   * container's directories or start its process again.
   */
  exclusive<T>(fn: () => Promise<T>): Promise<T> {
    return this.lock.run(() => {
      if (this.removed) return Promise.reject(notFound(`no such container: ${this.name}`));
      return fn();
    });
  }

  /** Resolve when `ready()` holds (checked at every transition). */
  waitFor(ready: () => boolean): Promise<void> {
    if (ready()) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.add({ ready, resolve }));
  }

  // ---- a run -----------------------------------------------------------------

  /** starting: the run's pids are persisted before `runc start`, so restore can find it. */
  async beginRun(pids: PidInfo): Promise<void> {
    this.#expect("created", "exited", "dead", "restarting");
    let resolve!: () => void;
    const handled = new Promise<void>((r) => resolve = r);
    this.#run = { handled, resolve, startFailure: null };
    this.#runSeq++;
    Object.assign(this.#rec.State, {
      Pid: pids.pid,
      StartTime: pids.startTime,
      PPid: pids.ppid,
      PStartTime: pids.pStartTime,
    });
    await this.#persist();
  }

  /**
   * Restore found a run alive: supervise it again. Its exit is handled like
   * any other.
   */
  adoptRun(): void {
    let resolve!: () => void;
    const handled = new Promise<void>((r) => resolve = r);
    this.#run = { handled, resolve, startFailure: this.#run?.startFailure ?? null };
  }

  /** running: `runc start` succeeded (or restore found it did). */
  async running(startedAt: string, withHealth: boolean): Promise<void> {
    this.#move("running");
    const st = this.#rec.State;
    Object.assign(st, { ExitCode: 0, Error: "", StartedAt: startedAt, OOMKilled: false });
    if (withHealth) st.Health = { Status: "starting", FailingStreak: 0, Log: st.Health?.Log ?? [] };
    else delete st.Health;
    await this.#persist();
    this.#sink.emit(this, "start");
  }

  /** `runc start` failed: the exit that follows is recorded as this failed start. */
  startFailed(code: number, message: string): void {
    if (this.#run) this.#run.startFailure = { code, message };
  }

  /** The failed start of the pending run, if any. */
  get startFailure(): { code: number; message: string } | null {
    return this.#run?.startFailure ?? null;
  }

  /**
   * exited: a start failed before its run began (nothing to supervise), or
   * the run ended and was cleaned up (`dead` when its cleanup failed without
   * a gc to retry it).
   */
  async exited(end: RunEnd, status: "exited" | "dead" = "exited"): Promise<void> {
    this.#move(status);
    this.#endRun(end);
    await this.#persist();
    if (end.oomKilled) this.#sink.emit(this, "oom");
    this.#sink.emit(this, "die", { exitCode: String(end.exitCode) });
    // A start that failed before its run began has no run to settle: it
    // still counts as a run that ended, for `wait --condition next-exit`.
    if (!this.#run) this.#releaseRun();
  }

  /**
   * The exit's handling is over (after the restart decision, so that a user
   * operation waiting for the exit sees a restart the policy scheduled).
   */
  settled(): void {
    if (this.#run) this.#releaseRun();
  }

  /** gc: the run ended but its cleanup failed; the gc owns it until it succeeds. */
  async enterGc(end: RunEnd, failure: string): Promise<void> {
    this.#move("gc");
    this.#endRun(end);
    this.#rec.State.GC = { LastError: failure, Tries: 0 };
    await this.#persist();
    if (end.oomKilled) this.#sink.emit(this, "oom");
    this.#sink.emit(this, "die", { exitCode: String(end.exitCode) });
    this.#sink.emit(this, "gc-enter", { error: failure });
    this.#releaseRun();
  }

  /** A gc try failed; a distinct error is persisted (a repeated one only counted). */
  async gcTried(lastError: string, tries: number, distinct: boolean): Promise<void> {
    if (this.#rec.State.Status !== "gc") return;
    this.#rec.State.GC = { LastError: lastError, Tries: tries };
    if (distinct) await this.#persist();
  }

  /** exited: the gc finished the cleanup. */
  async leaveGc(exitCode: number): Promise<void> {
    this.#move("exited");
    delete this.#rec.State.GC;
    await this.#persist();
    this.#sink.emit(this, "gc-leave", { exitCode: String(exitCode) });
  }

  #endRun(end: RunEnd): void {
    const st = this.#rec.State;
    Object.assign(st, {
      ExitCode: end.exitCode,
      FinishedAt: end.finishedAt,
      Error: end.error,
      OOMKilled: end.oomKilled,
      Pid: 0,
    });
    delete st.GC;
    if (st.Health) st.Health.Status = "unhealthy";
  }

  #releaseRun(): void {
    this.#runSeq++;
    const run = this.#run;
    this.#run = null;
    run?.resolve();
    this.#changed();
  }

  // ---- restart intent ----------------------------------------------------------

  /**
   * restarting: the policy decided a restart after `delayMs`; RestartCount
   * (unless `counted` already) and the decision's facts are persisted first.
   * Returns the signal that a cancel aborts.
   */
  async restartScheduled(
    facts: { failureCount: number; lastDelayMs: number },
    count: boolean,
  ): Promise<AbortSignal> {
    this.#move("restarting");
    const st = this.#rec.State;
    st.FailureCount = facts.failureCount;
    st.LastRestartDelayMs = facts.lastDelayMs;
    if (count) this.#rec.RestartCount++;
    this.#restartCancel?.abort();
    const cancel = new AbortController();
    this.#restartCancel = cancel;
    await this.#persist();
    return cancel.signal;
  }

  /**
   * A restart outside the policy (the health monitor's `restart` action):
   * counted in RestartCount, persisted by the run it starts.
   */
  countRestart(): void {
    this.#rec.RestartCount++;
  }

  /** The backoff wait is over: the restart's start begins. */
  restartDue(signal: AbortSignal): boolean {
    if (signal.aborted || this.removing || this.#restartCancel?.signal !== signal) return false;
    this.#restartCancel = null;
    return true;
  }

  /** No restart: keep the decision's facts (the failure count moves only on a restart). */
  async restartDeclined(facts: { failureCount: number; lastDelayMs: number }): Promise<void> {
    const st = this.#rec.State;
    if (st.FailureCount === facts.failureCount && st.LastRestartDelayMs === facts.lastDelayMs) {
      return;
    }
    st.FailureCount = facts.failureCount;
    st.LastRestartDelayMs = facts.lastDelayMs;
    await this.#persist();
  }

  /** A user stop (stop, kill, rm -f): no restart until the next user start. */
  async manualStop(): Promise<void> {
    this.#rec.State.HasBeenManuallyStopped = true;
    this.#cancelRestart();
    await this.#persist();
  }

  /**
   * A user start or restart, or restore bringing an `always` container back:
   * forget the manual stop, the backoff and the failures.
   */
  clearRestartIntent(): void {
    this.#cancelRestart();
    const st = this.#rec.State;
    st.HasBeenManuallyStopped = false;
    st.FailureCount = 0;
    st.LastRestartDelayMs = 0;
  }

  #cancelRestart(): void {
    if (!this.#restartCancel) return;
    this.#restartCancel.abort();
    this.#restartCancel = null;
    if (this.#rec.State.Status === "restarting") setStatus(this.#rec.State, "exited");
  }

  /** Daemon shutdown: pending restarts are dropped (restore resumes them). */
  abandonRestart(): void {
    this.#restartCancel?.abort();
  }

  // ---- stop, removal, load -------------------------------------------------------

  /** Run `stop` while marked stopping, so kill and rm -f know to interrupt it. */
  async whileStopping<T>(fn: () => Promise<T>): Promise<T> {
    this.#stopping = true;
    try {
      return await fn();
    } finally {
      this.#stopping = false;
    }
  }

  /** removing: rm has begun. */
  removingBegun(): void {
    this.#move("removing");
    this.#removal = "removing";
  }

  /** removed: the record is gone from disk and store. */
  removedDone(): void {
    this.#removal = "removed";
    this.#changed();
    this.#sink.emit(this, "destroy");
  }

  /** Restore could not load the config: mark the container unusable (start is refused). */
  markUnloadable(reason: string): void {
    this.#loadError = reason;
    // Nothing restarts a container restore could not load.
    if (this.#rec.State.Status === "restarting") setStatus(this.#rec.State, "exited");
  }

  /** A reason the container cannot start, shown in `State.Error` (e.g. its image is gone). */
  blocked(reason: string): void {
    this.#rec.State.Error = reason;
  }

  // ---- config changes ------------------------------------------------------------

  /** Rename (the store checked the name); `persist` false keeps it in memory only. */
  async renamed(name: string, persist = true): Promise<void> {
    this.#rec.Name = name;
    if (persist) await this.#sink.persistAll(this);
  }

  /** A new host config (update). */
  async hostConfigChanged(hc: HostConfig): Promise<void> {
    this.#rec.HostConfig = hc;
    await this.#sink.persistAll(this);
  }

  /** The host ports a run holds: persisted with the run's pids by `beginRun`. */
  portsHeld(ports: PortMapping[]): void {
    this.#rec.State.Ports = ports;
  }

  /** The networks the container is on changed (connect, disconnect). */
  async networksChanged(networks: Record<string, EndpointRequest>): Promise<void> {
    this.#rec.Networks = networks;
    await this.#sink.persistAll(this);
  }

  /** The config, for create-time code that built it. */
  get config(): Readonly<ContainerConfig> {
    return this.#rec.Config;
  }

  // ---- health --------------------------------------------------------------------

  /**
   * A health check result; returns the new status when it changed (and
   * emits `health_status`), else null.
   */
  async healthChecked(
    entry: HealthLogEntry,
    opts: { retries: number; inStartPeriod: boolean; keep: number },
  ): Promise<"healthy" | "unhealthy" | null> {
    const h = this.#rec.State.Health;
    if (!h) return null;
    const before = h.Status;
    h.Log = [...h.Log, entry].slice(-opts.keep);
    if (entry.ExitCode === 0) {
      h.FailingStreak = 0;
      h.Status = "healthy";
    } else if (!(opts.inStartPeriod && h.Status === "starting")) {
      // Failures in the start period do not count, unless it was already healthy.
      h.FailingStreak++;
      if (h.FailingStreak >= opts.retries) h.Status = "unhealthy";
    }
    await this.#persist();
    if (h.Status === before || h.Status === "starting") return null;
    this.#sink.emit(this, `health_status: ${h.Status}`);
    return h.Status;
  }

  /** Restore resumes health checks from the start. */
  healthRestarted(): void {
    const h = this.#rec.State.Health;
    if (h) Object.assign(h, { Status: "starting", FailingStreak: 0 });
  }

  // ---- internals ----------------------------------------------------------------

  #expect(...from: ContainerStatus[]): void {
    const now = this.#rec.State.Status;
    if (!from.includes(now)) throw illegal(this.id, now, from.join("|"));
  }

  /** Change the status, if the diagram allows it (else a bug: thrown). */
  #move(to: ContainerStatus): void {
    const from = this.#rec.State.Status;
    if (!NEXT[from].includes(to)) throw illegal(this.id, from, to);
    setStatus(this.#rec.State, to);
  }

  async #persist(): Promise<void> {
    await this.#sink.persistState(this);
    this.#changed();
  }

  #changed(): void {
    for (const w of this.#waiters) {
      if (w.ready()) {
        this.#waiters.delete(w);
        w.resolve();
      }
    }
  }
}

function illegal(id: string, from: string, to: string): Error {
  return new Error(`container ${id}: illegal lifecycle transition ${from} -> ${to}`);
}
