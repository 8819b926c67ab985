/**
 * Child reaping for a subreaper (the shim): waitpid(pid, WNOHANG) only on
 * pids that are our children and not spawned through Deno.Command, because
 * waitpid(-1) would steal Deno's own children (platform.md).
 * @module
 */
import { check, libc } from "./libc.ts";

const PR_SET_CHILD_SUBREAPER = 36;
const WNOHANG = 1;

/** Make this process the reaper of its orphaned descendants. */
export function becomeSubreaper(): void {
  check("prctl", libc().prctl(PR_SET_CHILD_SUBREAPER, 1n, 0n, 0n, 0n));
}

/** Pids whose parent is this process, from /proc/self/task/TID/children. */
export function childPids(): number[] {
  const pids: number[] = [];
  for (const t of Deno.readDirSync("/proc/self/task")) {
    try {
      const text = Deno.readTextFileSync(`/proc/self/task/${t.name}/children`).trim();
      if (text) pids.push(...text.split(" ").map(Number));
    } catch {
      // The thread ended while we listed it.
    }
  }
  return pids;
}

/**
 * Exit code of a wait status: the code for a normal exit, 128+signal for a
 * signal death.
 */
export function exitCodeOfStatus(status: number): number {
  const sig = status & 0x7f;
  return sig === 0 ? (status >> 8) & 0xff : 128 + sig;
}

/** waitpid(pid, WNOHANG): the exit code if it has exited (and is now reaped), else null. */
export function reap(pid: number): number | null {
  const status = new Int32Array(1);
  const r = libc().waitpid(pid, new Uint8Array(status.buffer), WNOHANG);
  if (r <= 0) return null;
  return exitCodeOfStatus(status[0]);
}
