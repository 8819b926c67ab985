/**
 * The exit handling of seed 000 (behaviour.md §3), once the supervisor saw a
 * shim's exit fifo hang up: the run's end from the shim's exit file (137 when
 * there is none: the shim was killed), a surviving init killed, the cleanup
 * run. It returns the outcome; what follows (state, gc, restart policy) is the
 * container core's decision.
 * @module
 */
import type { PidInfo } from "./supervisor.ts";

/** What the exit handling needs from the system (a fake in unit tests). */
export interface ExitSystem {
  /** The shim's durable exit file: code and finish time, or null when it left none. */
  readExitFile(id: string): Promise<{ exitCode: number; finishedAt: string } | null>;
  /** Whether a process with this pid and start time is alive. */
  isAlive(p: { pid: number; startTime: number }): boolean;
  /** SIGKILL and wait; false when it would not die. */
  killAndWait(p: { pid: number; startTime: number }): Promise<boolean>;
  /** Whether the OOM killer killed in the container's memory cgroup. */
  oomKilled(id: string): boolean;
  /** runc delete, unmount, cgroups, state dir; throws with the reason it failed. */
  cleanup(id: string): Promise<void>;
}

/** The shim was killed before it wrote the exit file: the run counts as SIGKILLed. */
export const EXIT_CODE_NO_EXIT_FILE = 137;

/** How a run ended. */
export interface RunEndRead {
  exitCode: number;
  finishedAt: string;
  /** How long it ran (0 if it never started): the restart backoff resets after a long run. */
  ranForMs: number;
}

/** The outcome of an exit's handling. */
export interface ExitOutcome extends RunEndRead {
  oomKilled: boolean;
  /** Why the cleanup failed ("" when it succeeded): the gc then retries it. */
  failure: string;
}

/**
 * Read how a run ended from the shim's exit file.
 *
 * @example
 * ```ts
 * declare const sys: ExitSystem;
 * const end = await readRunEnd(sys, "ID", "2024-01-01T00:00:00Z");
 * end.exitCode; // the container's, or 137 when the shim left no exit file
 * ```
 */
export async function readRunEnd(
  sys: ExitSystem,
  id: string,
  startedAt: string,
  now: () => string = () => new Date().toISOString(),
): Promise<RunEndRead> {
  const exit = await sys.readExitFile(id);
  const finishedAt = exit?.finishedAt ?? now();
  return {
    exitCode: exit?.exitCode ?? EXIT_CODE_NO_EXIT_FILE,
    finishedAt,
    ranForMs: runDurationMs(startedAt, finishedAt),
  };
}

/**
 * How long a run lasted (0 if it never started: Docker's zero time).
 *
 * @example
 * ```ts
 * runDurationMs("2024-01-01T00:00:00Z", "2024-01-01T00:00:02Z"); // 2000
 * runDurationMs("0001-01-01T00:00:00Z", "2024-01-01T00:00:02Z"); // 0
 * ```
 */
export function runDurationMs(startedAt: string, finishedAt: string): number {
  if (startedAt.startsWith("0001-")) return 0;
  return Math.max(0, Date.parse(finishedAt) - Date.parse(startedAt)) || 0;
}

/**
 * Release what a run held: the init if it outlived its shim, then the
 * cleanup. Never throws: a failure is the outcome's `failure`.
 *
 * @example
 * ```ts
 * declare const sys: ExitSystem;
 * declare const info: import("./supervisor.ts").PidInfo;
 * const { oomKilled, failure } = await reclaimRun(sys, "ID", info, true);
 * ```
 */
export async function reclaimRun(
  sys: ExitSystem,
  id: string,
  info: PidInfo,
  memoryLimited: boolean,
): Promise<{ oomKilled: boolean; failure: string }> {
  // The OOM killer's count lives in the memory cgroup, which the cleanup removes.
  const oomKilled = memoryLimited && sys.oomKilled(id);
  const init = { pid: info.pid, startTime: info.startTime };
  // The shim died, not the container: make sure the container dies too.
  if (sys.isAlive(init) && !(await sys.killAndWait(init))) {
    return { oomKilled, failure: `container process ${info.pid} would not die` };
  }
  try {
    await sys.cleanup(id);
  } catch (err) {
    return { oomKilled, failure: err instanceof Error ? err.message : String(err) };
  }
  return { oomKilled, failure: "" };
}

/**
 * The whole exit handling of one run: its end, then its reclaim.
 *
 * @example
 * ```ts
 * declare const sys: ExitSystem;
 * declare const info: import("./supervisor.ts").PidInfo;
 * const outcome = await handleExit(sys, "ID", info, { startedAt: "2024-01-01T00:00:00Z", memoryLimited: false });
 * if (outcome.failure) console.log("the gc takes over:", outcome.failure);
 * ```
 */
export async function handleExit(
  sys: ExitSystem,
  id: string,
  info: PidInfo,
  run: { startedAt: string; memoryLimited: boolean },
): Promise<ExitOutcome> {
  const end = await readRunEnd(sys, id, run.startedAt);
  return { ...end, ...(await reclaimRun(sys, id, info, run.memoryLimited)) };
}
