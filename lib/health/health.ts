/**
 * Health checks: a per-container timer that runs the check command through
 * runc exec, keeps `State.Health`, and acts on unhealthy.
 * @module
 */
import type {
  Container,
  ContainerService,
  ExecManager,
  HealthConfig,
  HealthLogEntry,
} from "../container/mod.ts";
import { healthArgv } from "../container/mod.ts";
import { errorMessage } from "../errdefs/mod.ts";

const NS_PER_MS = 1e6;
/** Docker's defaults. */
export const HEALTH_DEFAULTS = {
  intervalMs: 30_000,
  timeoutMs: 30_000,
  retries: 3,
  startPeriodMs: 0,
};
const MAX_OUTPUT = 4096;
const MAX_LOG = 5;

/** A health check's timings, in milliseconds, with Docker's defaults filled in. */
export interface HealthTimings {
  intervalMs: number;
  timeoutMs: number;
  retries: number;
  startPeriodMs: number;
}

/**
 * The timings of a `Config.Healthcheck` (durations in ns; 0 means the default).
 *
 * @example
 * ```ts
 * healthTimings({ Test: ["CMD-SHELL", "true"], Interval: 2e8 }).intervalMs; // 200
 * ```
 */
export function healthTimings(hc: HealthConfig): HealthTimings {
  const ms = (ns: number | undefined, dflt: number) => ns ? ns / NS_PER_MS : dflt;
  return {
    intervalMs: ms(hc.Interval, HEALTH_DEFAULTS.intervalMs),
    timeoutMs: ms(hc.Timeout, HEALTH_DEFAULTS.timeoutMs),
    retries: hc.Retries || HEALTH_DEFAULTS.retries,
    startPeriodMs: ms(hc.StartPeriod, HEALTH_DEFAULTS.startPeriodMs),
  };
}

/**
 * Runs the health checks of running containers.
 *
 * @example
 * ```ts
 * import type { ContainerService, ExecManager } from "../container/mod.ts";
 * declare const service: ContainerService, execs: ExecManager;
 * const health = new HealthMonitor(service, execs);
 * service.setHooks({ started: (c) => health.watch(c), stopped: (c) => health.unwatch(c.id) });
 * ```
 */
export class HealthMonitor {
  /** One timer slot per container; a slot replaced or removed ends its loop. */
  readonly #timers = new Map<string, { timer: ReturnType<typeof setTimeout> | undefined }>();

  constructor(
    readonly svc: ContainerService,
    readonly execs: ExecManager,
  ) {}

  /** Start (or restart, never duplicate) the checks of a running container. */
  watch(c: Container): void {
    this.unwatch(c.id);
    const hc = c.rec.Config.Healthcheck;
    const argv = healthArgv(hc?.Test);
    if (!hc || !argv) return;
    const timings = healthTimings(hc);
    const slot = { timer: undefined as ReturnType<typeof setTimeout> | undefined };
    this.#timers.set(c.id, slot);
    // A result is only applied while this slot is the container's current one:
    // a check still running when the container stopped (or restarted) is void.
    const current = () => this.#timers.get(c.id) === slot && c.rec.State.Running;
    const tick = async () => {
      if (!current()) return;
      await this.#probe(c, argv, timings, current);
      if (this.#timers.get(c.id) === slot) slot.timer = setTimeout(tick, timings.intervalMs);
    };
    slot.timer = setTimeout(tick, timings.intervalMs);
  }

  /** Stop the checks of a container. */
  unwatch(id: string): void {
    const slot = this.#timers.get(id);
    if (slot) clearTimeout(slot.timer);
    this.#timers.delete(id);
  }

  /** Number of containers with active checks. */
  get size(): number {
    return this.#timers.size;
  }

  async #probe(
    c: Container,
    argv: string[],
    t: HealthTimings,
    current: () => boolean,
  ): Promise<void> {
    const start = new Date();
    let result: { exitCode: number; output: string };
    try {
      const r = await this.execs.run(c.id, { Cmd: argv }, t.timeoutMs, MAX_OUTPUT);
      result = r.timedOut
        ? { exitCode: -1, output: `Health check exceeded timeout (${t.timeoutMs}ms)` }
        : r;
    } catch (err) {
      result = { exitCode: -1, output: errorMessage(err) };
    }
    if (!current()) return;
    const entry: HealthLogEntry = {
      Start: start.toISOString(),
      End: new Date().toISOString(),
      ExitCode: result.exitCode,
      Output: result.output.slice(0, MAX_OUTPUT),
    };
    const inStartPeriod = start.getTime() - Date.parse(c.rec.State.StartedAt) < t.startPeriodMs;
    const changed = await c.healthChecked(entry, {
      retries: t.retries,
      inStartPeriod,
      keep: MAX_LOG,
    });
    if (changed === "unhealthy") await this.#act(c);
  }

  async #act(c: Container): Promise<void> {
    const action = c.rec.HostConfig.HealthOnFailure ?? "none";
    if (action === "none") return;
    if (action === "stop") {
      await this.svc.stop(c.id).catch(() => {});
      return;
    }
    // kill and restart are not manual stops: the restart policy still applies.
    await this.svc.killUnhealthy(c, action === "restart");
  }

  /** Stop every timer (daemon shutdown). */
  close(): void {
    for (const id of [...this.#timers.keys()]) this.unwatch(id);
  }
}
