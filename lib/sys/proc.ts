/**
 * Process identity from /proc: a process is the pair (pid, start time), so a
 * reused pid is never mistaken for the process corral started.
 * @module
 */
import { errno, libc } from "./libc.ts";

/** A process as corral records it. */
export interface ProcessIdentity {
  /** The pid. */
  pid: number;
  /** Field 22 of /proc/PID/stat (clock ticks since boot). */
  startTime: number;
}

/** Parse /proc/PID/stat: state and start time, reading after the last ")". */
export function readProcStat(
  pid: number,
): { state: string; startTime: number; ppid: number } | null {
  let text: string;
  try {
    text = Deno.readTextFileSync(`/proc/${pid}/stat`);
  } catch {
    return null;
  }
  const rest = text.slice(text.lastIndexOf(")") + 2).split(" ");
  // rest[0] is field 3 (state); field 22 is rest[19]; field 4 (ppid) is rest[1].
  return { state: rest[0], ppid: Number(rest[1]), startTime: Number(rest[19]) };
}

/** The start time of a pid, or 0 when it does not exist. */
export function processStartTime(pid: number): number {
  return readProcStat(pid)?.startTime ?? 0;
}

/** The identity of a live pid, or null. */
export function identify(pid: number): ProcessIdentity | null {
  const st = readProcStat(pid);
  return st ? { pid, startTime: st.startTime } : null;
}

/**
 * True when the process with this pid and start time is alive. A zombie is
 * not alive, and a pid now used by another process (other start time) is not
 * the same process.
 */
export function isAlive(proc: ProcessIdentity | null | undefined): boolean {
  if (!proc || proc.pid <= 0) return false;
  const st = readProcStat(proc.pid);
  if (!st || st.state === "Z" || st.state === "X") return false;
  return proc.startTime === 0 || st.startTime === proc.startTime;
}

/** Signal numbers by name, as the kill(1) names them. */
export const signals: Record<string, number> = {
  HUP: 1,
  INT: 2,
  QUIT: 3,
  ILL: 4,
  TRAP: 5,
  ABRT: 6,
  BUS: 7,
  FPE: 8,
  KILL: 9,
  USR1: 10,
  SEGV: 11,
  USR2: 12,
  PIPE: 13,
  ALRM: 14,
  TERM: 15,
  STKFLT: 16,
  CHLD: 17,
  CONT: 18,
  STOP: 19,
  TSTP: 20,
  TTIN: 21,
  TTOU: 22,
  URG: 23,
  XCPU: 24,
  XFSZ: 25,
  VTALRM: 26,
  PROF: 27,
  WINCH: 28,
  IO: 29,
  PWR: 30,
  SYS: 31,
};

/**
 * Parse a signal given as a number, a name or a SIG-name ("9", "KILL",
 * "SIGKILL"); null when it is not a signal.
 */
export function parseSignal(s: string | number): number | null {
  if (typeof s === "number") return Number.isInteger(s) && s > 0 && s <= 64 ? s : null;
  const t = s.trim().toUpperCase();
  if (/^\d+$/.test(t)) return parseSignal(Number(t));
  const name = t.startsWith("SIG") ? t.slice(3) : t;
  return signals[name] ?? null;
}

/**
 * Send a signal to a process only if it is still the same process (pid and
 * start time). Returns false when it was already gone.
 */
export function signalProcess(proc: ProcessIdentity, sig: number): boolean {
  if (!isAlive(proc)) return false;
  if (libc().kill(proc.pid, sig) < 0) return errno() !== 3 ? true : false;
  return true;
}

/** Resolve after `ms` milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * SIGKILL a process and wait until it is gone: up to `retries` tries,
 * `intervalMs` apart (ref: 10 × 100 ms). Returns true when it is dead.
 */
export async function killAndWait(
  proc: ProcessIdentity,
  retries = 10,
  intervalMs = 100,
): Promise<boolean> {
  for (let i = 0; i < retries; i++) {
    if (!signalProcess(proc, 9)) return true;
    // Poll quickly first: a SIGKILLed process is usually gone within a few ms.
    for (let t = 0; t < intervalMs; t += 5) {
      await sleep(5);
      if (!isAlive(proc)) return true;
    }
  }
  return !isAlive(proc);
}

/** Pids whose parent is one of `parents`, from a scan of /proc. */
function childrenOf(parents: Set<number>): number[] {
  const out: number[] = [];
  for (const e of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(e.name)) continue;
    const st = readProcStat(Number(e.name));
    if (st && parents.has(st.ppid)) out.push(Number(e.name));
  }
  return out;
}

/**
 * SIGKILL a process and every descendant. The tree is frozen with SIGSTOP
 * first, level by level, so that no member can fork or be reparented out
 * of reach (a killed parent's children would move to the container's init)
 * while it is collected. Returns how many processes were killed.
 *
 * @example
 * ```ts
 * const child = new Deno.Command("sleep", { args: ["60"] }).spawn();
 * const proc = identify(child.pid);
 * if (proc) killProcessTree(proc);
 * ```
 */
export function killProcessTree(root: ProcessIdentity): number {
  if (!signalProcess(root, signals.STOP)) return 0;
  const tree = new Set([root.pid]);
  for (let added = true; added;) {
    added = false;
    for (const pid of childrenOf(tree)) {
      if (tree.has(pid)) continue;
      tree.add(pid);
      added = true;
      signalProcess({ pid, startTime: 0 }, signals.STOP);
    }
  }
  for (const pid of tree) {
    signalProcess({ pid, startTime: pid === root.pid ? root.startTime : 0 }, signals.KILL);
  }
  return tree.size;
}

/**
 * The live processes one of whose arguments is exactly `arg` (a path only
 * one tool of corral's is ever given), from a scan of /proc.
 *
 * @example
 * ```ts
 * for (const p of processesWithArgument("/var/lib/corral/volumes/v/_data/.corral-copy-up")) {
 *   await killAndWait(p);
 * }
 * ```
 */
export function processesWithArgument(arg: string): ProcessIdentity[] {
  const out: ProcessIdentity[] = [];
  for (const e of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(e.name) || Number(e.name) === Deno.pid) continue;
    let argv: string[];
    try {
      argv = Deno.readTextFileSync(`/proc/${e.name}/cmdline`).split("\0");
    } catch {
      continue; // Gone meanwhile.
    }
    const proc = argv.includes(arg) ? identify(Number(e.name)) : null;
    if (proc) out.push(proc);
  }
  return out;
}
/** One interface's counters from `/proc/PID/net/dev`, Docker's stats names. */
export interface InterfaceCounters {
  rx_bytes: number;
  rx_packets: number;
  rx_errors: number;
  rx_dropped: number;
  tx_bytes: number;
  tx_packets: number;
  tx_errors: number;
  tx_dropped: number;
}

/**
 * The counters of every interface but the loopback in `/proc/net/dev`'s text.
 *
 * @example
 * ```ts
 * const text = "Inter-|...\n face |...\n" +
 *   "    lo: 10 1 0 0 0 0 0 0 10 1 0 0 0 0 0 0\n" +
 *   "  eth0: 500 5 0 1 0 0 0 0 300 3 0 0 0 0 0 0\n";
 * parseNetDev(text).eth0.rx_bytes; // 500
 * ```
 */
export function parseNetDev(text: string): Record<string, InterfaceCounters> {
  const out: Record<string, InterfaceCounters> = {};
  for (const line of text.split("\n").slice(2)) {
    const m = /^\s*([^:\s]+):\s*(.*)$/.exec(line);
    if (!m || m[1] === "lo") continue;
    const f = m[2].trim().split(/\s+/).map(Number);
    out[m[1]] = {
      rx_bytes: f[0],
      rx_packets: f[1],
      rx_errors: f[2],
      rx_dropped: f[3],
      tx_bytes: f[8],
      tx_packets: f[9],
      tx_errors: f[10],
      tx_dropped: f[11],
    };
  }
  return out;
}

/** The network counters of a process's network namespace (none once it is gone). */
export function readNetDev(pid: number): Record<string, InterfaceCounters> {
  try {
    return parseNetDev(Deno.readTextFileSync(`/proc/${pid}/net/dev`));
  } catch {
    return {};
  }
}
