/**
 * A container's resource usage read from its cgroups, v1 and v2 alike (CPU
 * time, memory, pids, block I/O), and the host figures Docker's stats are
 * measured against (the host's CPU time and its online CPUs).
 * @module
 */
import { join } from "node:path";
import { cgroupDirs } from "./cgroups.ts";
import { onlineCpuList, parseCpuList } from "./spec_resources.ts";

/** One device's counter of one operation (`blkio.*` of v1, `io.stat` of v2). */
export interface BlkioEntry {
  major: number;
  minor: number;
  /** v1: `Read`, `Write`, `Sync`, `Async`, `Discard`, `Total`; v2: `read`, `write` (as Docker names them). */
  op: string;
  value: number;
}

/** What the cgroups tell of a container, in bytes, nanoseconds and counts. */
export interface CgroupStats {
  cpu: {
    totalNs: number;
    userNs: number;
    systemNs: number;
    /** Per CPU, from v1's `cpuacct.usage_percpu` (v2 has no such file). */
    perCpuNs?: number[];
    periods: number;
    throttledPeriods: number;
    throttledNs: number;
  };
  memory: {
    usage: number;
    /** v1 only: the peak usage and the times the limit was hit. */
    maxUsage?: number;
    failcnt?: number;
    /** The cgroup's limit; undefined when unlimited (v2 `max`). */
    limit?: number;
    /** `memory.stat` as it is (v1 and v2 name their counters differently). */
    stats: Record<string, number>;
  };
  pids: { current: number; limit?: number };
  blkio: { serviceBytes: BlkioEntry[]; serviced: BlkioEntry[] };
}

/**
 * A cgroup file's contents in every hierarchy that has it, joined by
 * newlines; undefined when none has it. Joined because a hybrid host splits
 * one file between hierarchies: v1's `cpu` has the throttling counters of
 * `cpu.stat`, the v2 one its usage.
 */
export type CgroupFiles = (name: string) => string | undefined;

// USER_HZ, the unit of cpuacct.stat, is 100 on every Linux ABI.
const NS_PER_TICK = 1e9 / 100;

/**
 * The current usage of the container whose cgroups are at `cgroupsPath`
 * (e.g. "/corral/ID"); zeros for what no hierarchy has (a cgroup removed
 * meanwhile).
 *
 * @example
 * ```ts
 * const { memory, pids } = readCgroupStats("/corral/ID");
 * console.log(memory.usage, pids.current);
 * ```
 */
export function readCgroupStats(cgroupsPath: string): CgroupStats {
  const dirs = cgroupDirs(cgroupsPath);
  return cgroupStatsOf((name) => {
    const found = dirs.flatMap((d) => {
      try {
        return [Deno.readTextFileSync(join(d, name))];
      } catch {
        return []; // Not in this hierarchy, or removed meanwhile.
      }
    });
    return found.length ? found.join("\n") : undefined;
  });
}

/**
 * The usage told by a container's cgroup files, v1 files where they exist
 * (on a hybrid host the v1 controllers hold the counters), v2 files
 * otherwise.
 *
 * @example
 * ```ts
 * const files: Record<string, string> = { "memory.current": "4096\n", "memory.max": "max\n" };
 * cgroupStatsOf((name) => files[name]).memory; // { usage: 4096, limit: undefined, stats: {} }
 * ```
 */
export function cgroupStatsOf(read: CgroupFiles): CgroupStats {
  return {
    cpu: cpuStats(read),
    memory: memoryStats(read),
    pids: { current: counter(read("pids.current")), limit: cgroupLimit(read("pids.max")) },
    blkio: blkioStats(read),
  };
}

function cpuStats(read: CgroupFiles): CgroupStats["cpu"] {
  const stat = keyedValues(read("cpu.stat") ?? "");
  const throttling = {
    periods: stat.nr_periods ?? 0,
    throttledPeriods: stat.nr_throttled ?? 0,
    // v1 counts the throttled time in ns, v2 in µs.
    throttledNs: stat.throttled_time ?? (stat.throttled_usec ?? 0) * 1000,
  };
  const v1Total = read("cpuacct.usage");
  if (v1Total === undefined) {
    return {
      totalNs: (stat.usage_usec ?? 0) * 1000,
      userNs: (stat.user_usec ?? 0) * 1000,
      systemNs: (stat.system_usec ?? 0) * 1000,
      ...throttling,
    };
  }
  const ticks = keyedValues(read("cpuacct.stat") ?? "");
  const perCpu = read("cpuacct.usage_percpu")?.split(/\s+/).filter((v) => v !== "").map(Number);
  return {
    totalNs: counter(v1Total),
    userNs: (ticks.user ?? 0) * NS_PER_TICK,
    systemNs: (ticks.system ?? 0) * NS_PER_TICK,
    perCpuNs: perCpu,
    ...throttling,
  };
}

function memoryStats(read: CgroupFiles): CgroupStats["memory"] {
  const stats = keyedValues(read("memory.stat") ?? "");
  const v1Usage = read("memory.usage_in_bytes");
  if (v1Usage === undefined) {
    return {
      usage: counter(read("memory.current")),
      limit: cgroupLimit(read("memory.max")),
      stats,
    };
  }
  return {
    usage: counter(v1Usage),
    maxUsage: counter(read("memory.max_usage_in_bytes")),
    failcnt: counter(read("memory.failcnt")),
    limit: cgroupLimit(read("memory.limit_in_bytes")),
    stats,
  };
}

function blkioStats(read: CgroupFiles): CgroupStats["blkio"] {
  const v2 = read("io.stat");
  if (v2 !== undefined) {
    const entries = ioStatEntries(v2);
    const pick = (ops: Record<string, string>) =>
      entries.flatMap((e) => e.op in ops ? [{ ...e, op: ops[e.op] }] : []);
    return {
      serviceBytes: pick({ rbytes: "read", wbytes: "write" }),
      serviced: pick({ rios: "read", wios: "write" }),
    };
  }
  // The _recursive files count the descendants too; older kernels have only the plain ones.
  const v1 = (name: string) => blkioEntries(read(`${name}_recursive`) ?? read(name) ?? "");
  return {
    serviceBytes: v1("blkio.throttle.io_service_bytes"),
    serviced: v1("blkio.throttle.io_serviced"),
  };
}

/**
 * `key value` lines (`memory.stat`, `cpu.stat`, `cpuacct.stat`) as numbers
 * by key; the first line of a key wins.
 *
 * @example
 * ```ts
 * keyedValues("usage_usec 1500\nuser_usec 1000\n"); // { usage_usec: 1500, user_usec: 1000 }
 * ```
 */
export function keyedValues(text: string): Record<string, number> {
  const values: Record<string, number> = {};
  for (const line of text.split("\n")) {
    const [key, value, extra] = line.trim().split(/\s+/);
    if (key && value !== undefined && extra === undefined && !(key in values)) {
      values[key] = Number(value);
    }
  }
  return values;
}

/**
 * A limit file (`memory.max`, `pids.max`, `memory.limit_in_bytes`): its
 * number, or undefined for `max` or a missing file.
 *
 * @example
 * ```ts
 * cgroupLimit("67108864\n"); // 67108864
 * cgroupLimit("max\n"); // undefined
 * ```
 */
export function cgroupLimit(text: string | undefined): number | undefined {
  const value = text?.trim();
  return value === undefined || value === "" || value === "max" ? undefined : Number(value);
}

/** A one-number file (`memory.current`, `pids.current`); 0 when missing. */
function counter(text: string | undefined): number {
  return Number(text?.trim() || 0);
}

/**
 * v1's `blkio.throttle.io_service_bytes` and `io_serviced`: `MAJ:MIN Op
 * value` lines (the device-less `Total` line is left out, as Docker does).
 *
 * @example
 * ```ts
 * blkioEntries("8:0 Read 4096\n8:0 Write 0\nTotal 4096\n");
 * // [{ major: 8, minor: 0, op: "Read", value: 4096 }, { major: 8, minor: 0, op: "Write", value: 0 }]
 * ```
 */
export function blkioEntries(text: string): BlkioEntry[] {
  return text.split("\n").flatMap((line) => {
    const m = line.trim().match(/^(\d+):(\d+) (\w+) (\d+)$/);
    return m ? [{ major: Number(m[1]), minor: Number(m[2]), op: m[3], value: Number(m[4]) }] : [];
  });
}

/**
 * v2's `io.stat`: one line per device of `key=value` counters, one entry per
 * counter with the key as its op.
 *
 * @example
 * ```ts
 * ioStatEntries("8:0 rbytes=4096 wbytes=0\n").map((e) => e.op); // ["rbytes", "wbytes"]
 * ```
 */
export function ioStatEntries(text: string): BlkioEntry[] {
  return text.split("\n").flatMap((line) => {
    const [device, ...counters] = line.trim().split(/\s+/);
    const m = device.match(/^(\d+):(\d+)$/);
    if (!m) return [];
    return counters.flatMap((c) => {
      const [op, value] = c.split("=");
      return value === undefined ? [] : [{
        major: Number(m[1]),
        minor: Number(m[2]),
        op,
        value: Number(value),
      }];
    });
  });
}

/**
 * The host's CPU time in ns from `/proc/stat`'s `cpu` line, as Docker
 * counts it: user, nice, system, idle, iowait, irq and softirq (steal and
 * guest time left out).
 *
 * @example
 * ```ts
 * hostCpuNs("cpu  100 0 50 850 0 0 0 0 0 0\n"); // 10_000_000_000
 * ```
 */
export function hostCpuNs(procStat = Deno.readTextFileSync("/proc/stat")): number {
  const fields = procStat.match(/^cpu\s+(.*)$/m)?.[1].trim().split(/\s+/) ?? [];
  return fields.slice(0, 7).reduce((sum, v) => sum + Number(v), 0) * NS_PER_TICK;
}

/**
 * How many CPUs are online: the size of a CPU list such as
 * `/sys/devices/system/cpu/online`'s `0-3,6`; the CPUs Deno sees when the
 * list cannot be read.
 *
 * @example
 * ```ts
 * onlineCpus("0-3,6\n"); // 5
 * ```
 */
export function onlineCpus(cpuList = onlineCpuList()): number {
  return parseCpuList(cpuList.trim())?.length ?? navigator.hardwareConcurrency;
}
