/**
 * The restart flow of seed 003, above the exit path and the start path: at
 * its three trigger points (an exit the supervisor handled, a container the
 * gc finished, a container restore found exited) it asks the restart
 * decision, persists its facts, waits out the backoff (cancellable) and
 * starts the container again; or auto-removes it.
 * @module
 */
import { errorMessage } from "../errdefs/mod.ts";
import { type Backoff, decideRestart, type ExitFacts, waitOrCancel } from "../restart/mod.ts";
import type { Container } from "./container.ts";
import type { ContainerCore } from "./core.ts";
import { startContainer } from "./start.ts";
import { getLogger } from "@logtape/logtape";

const log = getLogger(["corral", "container"]);

/**
 * Restarts by policy.
 *
 * @example
 * ```ts
 * import type { ContainerCore } from "./core.ts";
 * import type { Container } from "./container.ts";
 * declare const core: ContainerCore;
 * declare const c: Container;
 * await new RestartFlow(core).afterExit(c, { exitCode: 1, ranForMs: 50 });
 * ```
 */
export class RestartFlow {
  constructor(readonly core: ContainerCore) {}

  /** The backoff of a container: the daemon's, with its own overrides. */
  backoff(c: Container): Backoff {
    const hc = c.rec.HostConfig;
    const dflt = this.core.opts.backoff;
    return {
      ...dflt,
      initialMs: hc.RestartDelay || dflt.initialMs,
      maxMs: hc.RestartMaxDelay || dflt.maxMs,
    };
  }

  /**
   * After an exit: restart after the backoff, or auto-remove. The decision
   * is in place before the exit is settled, so that a user operation waiting
   * for the exit sees the pending restart (and can cancel it).
   */
  async afterExit(c: Container, run: ExitFacts, atDaemonStart = false): Promise<void> {
    if (c.removing) return c.settled();
    const facts = c.restartFacts;
    const decision = decideRestart(facts, run, this.backoff(c), atDaemonStart);
    if (!decision.restart) {
      c.settled();
      await c.restartDeclined(decision);
      if (c.rec.HostConfig.AutoRemove) await this.#autoRemove(c);
      return;
    }
    // At daemon start an `always` container stopped by hand comes back: the stop no longer holds.
    if (facts.manuallyStopped) c.clearRestartIntent();
    const scheduled = c.restartScheduled(decision, true);
    c.settled();
    this.#restartAfter(c, await scheduled, decision.delayMs);
  }

  /**
   * Restore found a backoff wait that a crash cut short: restart once after
   * the first delay, without counting it again.
   */
  async resume(c: Container): Promise<void> {
    const facts = c.restartFacts;
    const signal = await c.restartScheduled(facts, false);
    this.#restartAfter(c, signal, this.backoff(c).initialMs);
  }

  /** Wait out the backoff, then start under the lock unless cancelled meanwhile. */
  #restartAfter(c: Container, signal: AbortSignal, delayMs: number): void {
    void (async () => {
      if (!(await waitOrCancel(delayMs, signal))) return;
      await c.lock.run(async () => {
        if (!c.restartDue(signal)) return;
        try {
          await startContainer(this.core, c);
          this.core.emit(c, "restart");
        } catch (err) {
          await this.#restartFailed(c, err);
        }
      });
    })().catch((err) =>
      log.error("container {id}: scheduled restart: {error}", {
        id: c.id,
        error: errorMessage(err),
      })
    );
  }

  /**
   * A failed restart is a failed exit: the policy decides again (not
   * awaited: an auto-remove would wait for the lock this holds). In gc, the
   * gc decides once it finished.
   */
  async #restartFailed(c: Container, err: unknown): Promise<void> {
    const message = errorMessage(err);
    log.error("container {id}: restart failed: {error}", { id: c.id, error: message });
    // Refused before anything ran (e.g. its image is gone): record it as a failed start.
    if (c.rec.State.Status === "restarting") await this.core.failedBeforeRun(c, 125, message);
    if (c.rec.State.Status === "gc") return;
    this.afterExit(c, { exitCode: c.rec.State.ExitCode, ranForMs: 0 }).catch((e) =>
      log.error("container {id}: restart policy: {error}", { id: c.id, error: errorMessage(e) })
    );
  }

  async #autoRemove(c: Container): Promise<void> {
    // As Docker's --rm: its anonymous volumes go with it.
    await c.lock.run(() => this.core.removeLocked(c, true)).catch((err) =>
      log.error("container {id}: auto-remove failed: {error}", {
        id: c.id,
        error: errorMessage(err),
      })
    );
  }

  /** Remove a --rm container (under its lock) whose start failed. */
  autoRemoveAfterFailedStart(c: Container): Promise<void> {
    return this.core.removeLocked(c, true).catch((e) =>
      log.error("container {id}: auto-remove after a failed start: {error}", {
        id: c.id,
        error: errorMessage(e),
      })
    );
  }
}
