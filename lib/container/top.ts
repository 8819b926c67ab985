/**
 * `docker top`: the processes of a running container (every pid in its
 * cgroups, execs included) in the columns of `ps -ef`, read from /proc so
 * no `ps` binary is needed on the host.
 * @module
 */
import { cgroupPids } from "../runtime/mod.ts";
import { conflict, invalid } from "../errdefs/mod.ts";
import type { ContainerService } from "./service.ts";

/** Docker's `GET /containers/ID/top` answer. */
export interface ProcessTable {
  Titles: string[];
  Processes: string[][];
}

/** The columns of `ps -ef`, the only listing corral produces. */
export const TOP_TITLES = ["UID", "PID", "PPID", "C", "STIME", "TTY", "TIME", "CMD"];

// USER_HZ, the unit of the times in /proc/PID/stat, is 100 on every Linux ABI.
const CLOCK_TICKS = 100;

/**
 * The processes of a running container, as `ps -ef` shows them. `psArgs` is
 * the docker CLI's `docker top C [ps OPTIONS]`: only `-ef` (the default) is
 * served, anything else is refused rather than ignored.
 *
 * @example
 * ```ts
 * import type { ContainerService } from "./service.ts";
 * declare const svc: ContainerService;
 * const { Titles, Processes } = containerTop(svc, "web");
 * ```
 */
export function containerTop(svc: ContainerService, ref: string, psArgs = ""): ProcessTable {
  if (psArgs !== "" && psArgs !== "-ef") {
    throw invalid(
      `ps options "${psArgs}" are not supported by corral: top lists ${TOP_TITLES.join(" ")} ` +
        `(ps -ef)`,
    );
  }
  const c = svc.store.get(ref);
  if (!c.rec.State.Running) throw conflict(`container ${c.name} is not running`);
  return processTable(cgroupPids(svc.runtime.resources(c.id).cgroupsPath));
}

/**
 * `ps -ef` rows for `pids`, sorted by pid; a pid that exits meanwhile is left out.
 *
 * @example
 * ```ts
 * processTable([Deno.pid]).Processes[0][1]; // String(Deno.pid)
 * ```
 */
export function processTable(pids: number[], now = Date.now()): ProcessTable {
  const boot = bootTimeMs();
  const users = userNames();
  const rows = [...pids].sort((a, b) => a - b).flatMap((pid) => {
    const p = readProcess(pid);
    if (!p) return [];
    const startMs = boot + p.startTicks * 1000 / CLOCK_TICKS;
    const cpuSec = Math.floor(p.cpuTicks / CLOCK_TICKS);
    const elapsedSec = Math.max(1, (now - startMs) / 1000);
    return [[
      users.get(p.uid) ?? String(p.uid),
      String(pid),
      String(p.ppid),
      String(Math.min(99, Math.floor(p.cpuTicks / CLOCK_TICKS * 100 / elapsedSec))),
      startColumn(startMs, now),
      ttyName(p.tty),
      cpuTime(cpuSec),
      p.cmd,
    ]];
  });
  return { Titles: [...TOP_TITLES], Processes: rows };
}

interface ProcessFacts {
  uid: number;
  ppid: number;
  tty: number;
  cpuTicks: number;
  startTicks: number;
  cmd: string;
}

function readProcess(pid: number): ProcessFacts | null {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    const comm = stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")"));
    // Fields from 3 (state) on; the command name before them may hold spaces.
    const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const status = Deno.readTextFileSync(`/proc/${pid}/status`);
    const uid = Number(status.match(/^Uid:\s+\d+\s+(\d+)/m)?.[1] ?? 0);
    const argv = Deno.readTextFileSync(`/proc/${pid}/cmdline`).split("\0").filter((a) => a);
    return {
      uid,
      ppid: Number(f[1]),
      tty: Number(f[4]),
      cpuTicks: Number(f[11]) + Number(f[12]),
      startTicks: Number(f[19]),
      cmd: argv.length ? argv.join(" ") : `[${comm}]`,
    };
  } catch {
    return null;
  }
}

function bootTimeMs(): number {
  const m = Deno.readTextFileSync("/proc/stat").match(/^btime (\d+)/m);
  return Number(m?.[1] ?? 0) * 1000;
}

/** Host user names by uid, as `ps` prints them. */
function userNames(): Map<number, string> {
  const names = new Map<number, string>();
  try {
    for (const line of Deno.readTextFileSync("/etc/passwd").split("\n")) {
      const [name, , uid] = line.split(":");
      if (name && uid && !names.has(Number(uid))) names.set(Number(uid), name);
    }
  } catch {
    // No passwd file: numeric uids.
  }
  return names;
}

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/** ps's STIME: HH:MM within a day, else MonDD, else the year. */
function startColumn(startMs: number, now: number): string {
  const d = new Date(startMs);
  const two = (n: number) => String(n).padStart(2, "0");
  if (now - startMs < 24 * 3600_000) return `${two(d.getHours())}:${two(d.getMinutes())}`;
  if (d.getFullYear() === new Date(now).getFullYear()) {
    return `${MONTHS[d.getMonth()]}${two(d.getDate())}`;
  }
  return String(d.getFullYear());
}

/** ps's TIME: [DD-]HH:MM:SS of CPU time. */
function cpuTime(sec: number): string {
  const two = (n: number) => String(n).padStart(2, "0");
  const days = Math.floor(sec / 86400);
  const hms = `${two(Math.floor(sec / 3600) % 24)}:${two(Math.floor(sec / 60) % 60)}:${
    two(sec % 60)
  }`;
  return days ? `${days}-${hms}` : hms;
}

/** The controlling terminal from stat's tty_nr: pseudo terminals by name, else "?". */
function ttyName(ttyNr: number): string {
  const major = (ttyNr >> 8) & 0xfff;
  const minor = (ttyNr & 0xff) | ((ttyNr >> 12) & 0xfff00);
  if (ttyNr === 0) return "?";
  if (major >= 136 && major <= 143) return `pts/${(major - 136) * 256 + minor}`;
  return "?";
}
