/**
 * The restart manager of seed 003: one per container, deciding whether an
 * exit leads to a restart and after which backoff, with a cancellable wait.
 * @module
 */
import type { RestartPolicy } from "../container/model.ts";

/** Backoff settings (defaults as Docker and iSulad: 100 ms doubling to 60 s, reset after 10 s up). */
export interface Backoff {
  initialMs: number;
  maxMs: number;
  resetAfterMs: number;
}

/** The defaults of the reference engine. */
export const DEFAULT_BACKOFF: Backoff = { initialMs: 100, maxMs: 60_000, resetAfterMs: 10_000 };

/** The exit code of `reboot` inside a system container. */
export const REBOOT_EXIT_CODE = 129;

/** The answer of shouldRestart. */
export interface RestartDecision {
  restart: boolean;
  /** Wait this long before restarting (0 when not restarting). */
  delayMs: number;
}

/**
 * Decides restarts for one container.
 *
 * The failure count is the number of failed exits in a row that led to a
 * restart. It only moves when a restart is decided, so the caller persists it
 * together with the `restarting` state, and deciding again from a persisted
 * `exited` state (restore after a crash) counts nothing twice.
 *
 * A user stop cancels the manager (the seed's cancel). The cancel lives in
 * memory on purpose: after a daemon start an `always` container comes back
 * even if it had been stopped by hand, while `unless-stopped` (and the other
 * policies) also respect the persisted `HasBeenManuallyStopped`, as in Docker.
 *
 * @example
 * ```ts
 * const rm = new RestartManager({ Name: "on-failure", MaximumRetryCount: 3 }, 0);
 * rm.shouldRestart(1, false, 50); // { restart: true, delayMs: 100 }
 * rm.shouldRestart(1, false, 50); // { restart: true, delayMs: 200 }
 * ```
 */
export class RestartManager {
  policy: RestartPolicy;
  /** Failed exits in a row that were restarted (persisted as State.FailureCount). */
  failureCount: number;
  backoff: Backoff;
  #delayMs = 0;
  #cancelled = false;

  constructor(policy: RestartPolicy, failureCount = 0, backoff: Backoff = DEFAULT_BACKOFF) {
    this.policy = policy;
    this.failureCount = failureCount;
    this.backoff = backoff;
  }

  /** Whether a user stop cancelled the restarts (until `reset`). */
  get cancelled(): boolean {
    return this.#cancelled;
  }

  /**
   * Decide for one exit: whether to restart and after how long. A zero exit
   * resets the failure count; a restart after a failed exit counts it; a run
   * of `resetAfterMs` or more starts the backoff again from `initialMs`.
   */
  shouldRestart(exitCode: number, manuallyStopped: boolean, ranForMs: number): RestartDecision {
    if (exitCode === 0) this.failureCount = 0;
    if (ranForMs >= this.backoff.resetAfterMs) this.#delayMs = 0;
    if (this.#cancelled || !this.#decide(exitCode, manuallyStopped)) {
      return { restart: false, delayMs: 0 };
    }
    if (exitCode !== 0) this.failureCount++;
    this.#delayMs = Math.min(
      this.#delayMs === 0 ? this.backoff.initialMs : this.#delayMs * 2,
      this.backoff.maxMs,
    );
    return { restart: true, delayMs: this.#delayMs };
  }

  #decide(exitCode: number, manuallyStopped: boolean): boolean {
    switch (this.policy.Name) {
      case "always":
        return true;
      case "unless-stopped":
        return !manuallyStopped;
      case "on-failure":
        return !manuallyStopped && exitCode !== 0 &&
          (this.policy.MaximumRetryCount === 0 ||
            this.failureCount < this.policy.MaximumRetryCount);
      case "on-reboot":
        return !manuallyStopped && exitCode === REBOOT_EXIT_CODE;
      default:
        return false;
    }
  }

  /** A user stop: no restart until the next user start (`reset`). */
  cancel(): void {
    this.#cancelled = true;
  }

  /** A user start: forget the cancel, the backoff and the failure count. */
  reset(): void {
    this.#cancelled = false;
    this.#delayMs = 0;
    this.failureCount = 0;
  }
}

/**
 * The seed's wait_cancel: resolve true after `ms`, or false as soon as
 * `signal` is aborted (the restart was cancelled).
 *
 * @example
 * ```ts
 * const cancel = new AbortController();
 * const waited = waitOrCancel(100, cancel.signal);
 * cancel.abort();
 * await waited; // false
 * ```
 */
export function waitOrCancel(ms: number, signal: AbortSignal): Promise<boolean> {
  if (signal.aborted) return Promise.resolve(false);
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      signal.removeEventListener("abort", onAbort);
      resolve(true);
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      resolve(false);
    };
    signal.addEventListener("abort", onAbort, { once: true });
  });
}
