/**
 * The restart manager of seed 003: whether an exit leads to a restart and
 * after which backoff (a pure decision over the container's persisted
 * facts), and the cancellable wait.
 * @module
 */
import type { RestartPolicy } from "./policy.ts";

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

/** What the decision reads: the container's persisted restart facts. */
export interface RestartFacts {
  policy: RestartPolicy;
  /** Failed exits in a row that were restarted (`State.FailureCount`). */
  failureCount: number;
  /** The last backoff delay (0: none yet, or reset). */
  lastDelayMs: number;
  /** A user stop (stop, kill, rm -f) since the last user start. */
  manuallyStopped: boolean;
}

/** The run that ended. */
export interface ExitFacts {
  exitCode: number;
  ranForMs: number;
}

/** The decision, with the facts to persist whatever it is. */
export interface RestartDecision {
  restart: boolean;
  /** Wait this long before restarting (0 when not restarting). */
  delayMs: number;
  failureCount: number;
  lastDelayMs: number;
}

/**
 * Decide whether an exit leads to a restart and after which backoff: a pure
 * function of the persisted facts, so deciding again from the same state
 * (restore after a crash) decides the same and counts nothing twice.
 *
 * A zero exit resets the failure count; a restart after a failed exit counts
 * it; a run of `resetAfterMs` or more starts the backoff again. A user stop
 * holds every policy, except that at daemon start (`atDaemonStart`) an
 * `always` container comes back even if it was stopped by hand, as in Docker.
 *
 * @example
 * ```ts
 * const facts = { policy: { Name: "on-failure", MaximumRetryCount: 3 }, failureCount: 0, lastDelayMs: 0, manuallyStopped: false } as const;
 * const first = decideRestart(facts, { exitCode: 1, ranForMs: 50 }); // restart after 100 ms
 * decideRestart({ ...facts, ...first }, { exitCode: 1, ranForMs: 50 }).delayMs; // 200
 * ```
 */
export function decideRestart(
  facts: RestartFacts,
  exit: ExitFacts,
  backoff: Backoff = DEFAULT_BACKOFF,
  atDaemonStart = false,
): RestartDecision {
  const failureCount = exit.exitCode === 0 ? 0 : facts.failureCount;
  const lastDelayMs = exit.ranForMs >= backoff.resetAfterMs ? 0 : facts.lastDelayMs;
  const held = facts.manuallyStopped && !(atDaemonStart && facts.policy.Name === "always");
  if (held || !policyRestarts(facts.policy, exit.exitCode, failureCount)) {
    return { restart: false, delayMs: 0, failureCount, lastDelayMs };
  }
  const delayMs = Math.min(lastDelayMs === 0 ? backoff.initialMs : lastDelayMs * 2, backoff.maxMs);
  return {
    restart: true,
    delayMs,
    failureCount: exit.exitCode !== 0 ? failureCount + 1 : failureCount,
    lastDelayMs: delayMs,
  };
}

/** The policy's own answer (seed 003's table), before any user stop. */
function policyRestarts(policy: RestartPolicy, exitCode: number, failureCount: number): boolean {
  switch (policy.Name) {
    case "always":
    case "unless-stopped":
      return true;
    case "on-failure":
      return exitCode !== 0 &&
        (policy.MaximumRetryCount === 0 || failureCount < policy.MaximumRetryCount);
    case "on-reboot":
      return exitCode === REBOOT_EXIT_CODE;
    default:
      return false;
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
