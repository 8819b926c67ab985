/**
 * Health checks: a per-container timer that runs the check command through
 * runc exec, keeps `State.Health`, and acts on unhealthy.
 * @module
 */
import type { Container, ContainerService, ExecManager, HealthLogEntry } from "../container/mod.ts";
import type { EventLog } from "../events/mod.ts";

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

/** The argv of a health test (`CMD-SHELL cmd` runs `sh -c cmd`); null when disabled. */
export function healthArgv(test: string[] | undefined): string[] | null {
  if (!test?.length || test[0] === "NONE") return null;
  if (test[0] === "CMD-SHELL") return ["sh", "-c", test.slice(1).join(" ")];
  if (test[0] === "CMD") return test.slice(1);
  return ["sh", "-c", test.join(" ")];
}

/**
 * Runs the health checks of running containers.
 *
 * @example
 * ```ts
 * const health = new HealthMonitor(service, execs, events);
 * service.onStarted = (c) => health.watch(c);
 * ```
 */
export class HealthMonitor {
  readonly #timers = new Map<
    string,
    { timer: ReturnType<typeof setTimeout> | undefined; gen: number }
  >();
  #gen = 0;

  constructor(
    readonly svc: ContainerService,
    readonly execs: ExecManager,
    readonly events: EventLog,
  ) {}

  /** Start (or restart, never duplicate) the checks of a running container. */
  watch(c: Container): void {
    this.unwatch(c.id);
    const hc = c.rec.Config.Healthcheck;
    const argv = healthArgv(hc?.Test);
    if (!hc || !argv) return;
    const interval = hc.Interval ? hc.Interval / NS_PER_MS : HEALTH_DEFAULTS.intervalMs;
    const slot = {
      timer: undefined as ReturnType<typeof setTimeout> | undefined,
      gen: ++this.#gen,
    };
    this.#timers.set(c.id, slot);
    const tick = async () => {
      if (this.#timers.get(c.id) !== slot || !c.rec.State.Running) return;
      await this.#probe(c, argv);
      if (this.#timers.get(c.id) === slot) slot.timer = setTimeout(tick, interval);
    };
    slot.timer = setTimeout(tick, interval);
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

  async #probe(c: Container, argv: string[]): Promise<void> {
    const hc = c.rec.Config.Healthcheck!;
    const timeout = hc.Timeout ? hc.Timeout / NS_PER_MS : HEALTH_DEFAULTS.timeoutMs;
    const retries = hc.Retries || HEALTH_DEFAULTS.retries;
    const startPeriod = hc.StartPeriod ? hc.StartPeriod / NS_PER_MS : HEALTH_DEFAULTS.startPeriodMs;
    const start = new Date();
    let entry: HealthLogEntry;
    try {
      const r = await this.execs.run(c.id, { Cmd: argv }, timeout);
      entry = {
        Start: start.toISOString(),
        End: new Date().toISOString(),
        ExitCode: r.timedOut ? -1 : r.exitCode,
        Output: r.timedOut
          ? `Health check exceeded timeout (${timeout}ms)`
          : r.output.slice(0, MAX_OUTPUT),
      };
    } catch (err) {
      entry = {
        Start: start.toISOString(),
        End: new Date().toISOString(),
        ExitCode: -1,
        Output: String(err instanceof Error ? err.message : err).slice(0, MAX_OUTPUT),
      };
    }
    const st = c.rec.State;
    if (!st.Running || !st.Health) return;
    const h = st.Health;
    const before = h.Status;
    h.Log = [...h.Log, entry].slice(-MAX_LOG);
    if (entry.ExitCode === 0) {
      h.FailingStreak = 0;
      h.Status = "healthy";
    } else {
      const inStartPeriod = Date.now() - Date.parse(st.StartedAt) < startPeriod;
      // Failures in the start period do not count, unless the container was already healthy.
      if (!(inStartPeriod && h.Status === "starting")) {
        h.FailingStreak++;
        if (h.FailingStreak >= retries) h.Status = "unhealthy";
      }
    }
    await this.svc.save(c);
    if (h.Status !== before) {
      this.events.emit("container", `health_status: ${h.Status}`, c.id, {
        name: c.name,
        image: c.rec.Image,
      });
      if (h.Status === "unhealthy") await this.#act(c);
    }
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
