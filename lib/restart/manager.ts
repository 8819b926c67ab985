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
  /** Wait this long before restarting. */
  delayMs: number;
}

/**
 * Decides restarts for one container.
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
  /** Failed exits in a row (persisted as State.FailureCount). */
  failureCount: number;
  backoff: Backoff;
  #delayMs = 0;

  constructor(policy: RestartPolicy, failureCount = 0, backoff: Backoff = DEFAULT_BACKOFF) {
    this.policy = policy;
    this.failureCount = failureCount;
    this.backoff = backoff;
  }

  /** The delay the next restart would wait (0 before the first exit). */
  get currentDelayMs(): number {
    return this.#delayMs;
  }

  /**
   * Decide for one exit. Counts the failure (once), moves the backoff, and
   * says whether to restart and after how long.
   */
  shouldRestart(exitCode: number, manuallyStopped: boolean, ranForMs: number): RestartDecision {
    if (exitCode !== 0) this.failureCount++;
    else this.failureCount = 0;
    if (ranForMs >= this.backoff.resetAfterMs) this.#delayMs = 0;
    this.#delayMs = this.#delayMs === 0
      ? this.backoff.initialMs
      : Math.min(this.#delayMs * 2, this.backoff.maxMs);
    const delayMs = Math.min(this.#delayMs, this.backoff.maxMs);
    return { restart: this.#decide(exitCode, manuallyStopped), delayMs };
  }

  #decide(exitCode: number, manuallyStopped: boolean): boolean {
    switch (this.policy.Name) {
      case "always":
        return !manuallyStopped;
      case "unless-stopped":
        return !manuallyStopped;
      case "on-failure":
        return !manuallyStopped && exitCode !== 0 &&
          (this.policy.MaximumRetryCount === 0 ||
            this.failureCount <= this.policy.MaximumRetryCount);
      case "on-reboot":
        return !manuallyStopped && exitCode === REBOOT_EXIT_CODE;
      default:
        return false;
    }
  }

  /** Forget the backoff (a user start). */
  reset(): void {
    this.#delayMs = 0;
    this.failureCount = 0;
  }
}

/**
 * The seed's wait_cancel: resolve true after `ms`, or false as soon as
 * `signal` is aborted (the restart was cancelled).
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
