/**
 * The limits of a container's OCI spec: its cgroup resources (memory, swap,
 * reservation, CPU quota, shares and set, pids) and its rlimits
 * (`--ulimit`), in Docker's units and with Docker's checks.
 * @module
 */
import { invalid } from "../errdefs/mod.ts";
import type { HostOptions, Ulimit } from "./spec.ts";
import { engineHasCapability } from "./spec_security.ts";

/**
 * The CFS quota and period (µs) for Docker's `NanoCpus` (CPUs × 1e9).
 *
 * @example
 * ```ts
 * cpuQuota(1.5e9); // { quota: 150000, period: 100000 }
 * ```
 */
export function cpuQuota(nanoCpus: number): { quota: number; period: number } {
  return { quota: Math.round(nanoCpus / 1e9 * 100_000), period: 100_000 };
}

/**
 * The memory-plus-swap limit of a container with a memory limit (runc's
 * unit; -1 is unlimited): `MemorySwap` when set, else the memory limit
 * itself (no swap beyond it); undefined without a memory limit.
 *
 * @example
 * ```ts
 * memorySwapOf({ Memory: 64 << 20 }); // 67108864
 * memorySwapOf({ Memory: 64 << 20, MemorySwap: -1 }); // -1
 * ```
 */
export function memorySwapOf(host: { Memory?: number; MemorySwap?: number }): number | undefined {
  if (!host.Memory || host.Memory <= 0) return undefined;
  return host.MemorySwap ? host.MemorySwap : host.Memory;
}

/** Parse a cpuset list ("0-2,5") into its CPUs; null when malformed. */
export function parseCpuList(list: string): number[] | null {
  const cpus: number[] = [];
  for (const part of list.split(",")) {
    const m = part.match(/^(\d+)(?:-(\d+))?$/);
    if (!m) return null;
    const [from, to] = [Number(m[1]), Number(m[2] ?? m[1])];
    if (to < from || to > 8191) return null;
    for (let cpu = from; cpu <= to; cpu++) cpus.push(cpu);
  }
  return cpus;
}

/** The host's online CPUs, as the kernel lists them ("0-3"). */
export function onlineCpuList(): string {
  try {
    return Deno.readTextFileSync("/sys/devices/system/cpu/online").trim();
  } catch {
    return `0-${navigator.hardwareConcurrency - 1}`;
  }
}

/** Check `CpusetCpus` with Docker's messages: well formed, and only CPUs the host has. */
function checkCpuset(list: string): string {
  const cpus = parseCpuList(list);
  if (!cpus) throw invalid(`Invalid value ${list} for cpuset cpus`);
  const online = onlineCpuList();
  const available = new Set(parseCpuList(online) ?? []);
  if (cpus.some((cpu) => !available.has(cpu))) {
    throw invalid(`Requested CPUs are not available - requested ${list}, available: ${online}`);
  }
  return list;
}

/** The CPU part of the resources, or undefined when nothing is set. */
function cpuOf(host: HostOptions): Record<string, unknown> | undefined {
  const cpu: Record<string, unknown> = {};
  if (host.NanoCpus && host.NanoCpus > 0) Object.assign(cpu, cpuQuota(host.NanoCpus));
  if (host.CpuShares && host.CpuShares > 0) cpu.shares = host.CpuShares;
  if (host.CpusetCpus) cpu.cpus = checkCpuset(host.CpusetCpus);
  return Object.keys(cpu).length ? cpu : undefined;
}

/** The memory part of the resources, or undefined when nothing is set. */
function memoryOf(host: HostOptions): Record<string, unknown> | undefined {
  const memory: Record<string, unknown> = {};
  if (host.Memory && host.Memory > 0) {
    memory.limit = host.Memory;
    memory.swap = memorySwapOf(host);
  }
  if (host.MemoryReservation && host.MemoryReservation > 0) {
    memory.reservation = host.MemoryReservation;
  }
  return Object.keys(memory).length ? memory : undefined;
}

/**
 * The cgroup limits of the spec; `devices` are its device rules (all
 * denied, then what is allowed).
 *
 * @example
 * ```ts
 * resourcesOf({ Memory: 64 << 20, CpuShares: 512 }, [{ allow: false, access: "rwm" }]);
 * // { devices: [...], memory: { limit: 67108864, swap: 67108864 }, cpu: { shares: 512 } }
 * ```
 */
export function resourcesOf(host: HostOptions, devices: unknown[]): Record<string, unknown> {
  const resources: Record<string, unknown> = { devices };
  const memory = memoryOf(host);
  if (memory) resources.memory = memory;
  const cpu = cpuOf(host);
  if (cpu) resources.cpu = cpu;
  if (host.PidsLimit && host.PidsLimit > 0) resources.pids = { limit: host.PidsLimit };
  return resources;
}

/**
 * The kernel's rlimits, in its order (/proc/PID/limits lists them so); the
 * `--ulimit` names are these but `as`, as in Docker.
 */
const RLIMITS = [
  "cpu",
  "fsize",
  "data",
  "stack",
  "core",
  "rss",
  "nproc",
  "nofile",
  "memlock",
  "as",
  "locks",
  "sigpending",
  "msgqueue",
  "nice",
  "rtprio",
  "rttime",
];

/**
 * RLIM_INFINITY, Docker's -1: 2^64 - 1 is beyond a double's precision, so
 * it goes into config.json as raw JSON text (V8's JSON.rawJSON, not yet in
 * TypeScript's lib).
 */
const RLIM_INFINITY = (JSON as unknown as { rawJSON(text: string): unknown }).rawJSON(
  "18446744073709551615",
);

let nrOpen: number | undefined;
let engineLimits: string[] | undefined;

/** The most open files a process may have (fs.nr_open): a higher nofile fails setrlimit. */
function maxOpenFiles(): number {
  if (nrOpen === undefined) {
    try {
      nrOpen = Number(Deno.readTextFileSync("/proc/sys/fs/nr_open"));
    } catch {
      nrOpen = 1024 * 1024;
    }
  }
  return nrOpen;
}

/**
 * corral's own hard limit of an rlimit (-1: unlimited): a container cannot
 * go above it unless corral has CAP_SYS_RESOURCE.
 */
function engineHardLimit(name: string): number {
  engineLimits ??= Deno.readTextFileSync("/proc/self/limits").split("\n");
  const row = engineLimits[1 + RLIMITS.indexOf(name)];
  // The kernel pads each name to 25 characters and a space: soft, then hard.
  const hard = row.slice(26).trim().split(/\s+/)[1];
  return hard === "unlimited" ? -1 : Number(hard);
}

/** Check one ulimit with Docker's messages, and what setrlimit would refuse at start. */
function checkUlimit(u: Ulimit): void {
  if (u.Name === "as" || !RLIMITS.includes(u.Name)) {
    throw invalid(`invalid ulimit type: ${u.Name}`);
  }
  const whole = (n: number) => Number.isSafeInteger(n) && n >= -1;
  if (!whole(u.Soft) || !whole(u.Hard)) {
    throw invalid(`invalid ulimit ${u.Name}: soft and hard are whole numbers (-1: unlimited)`);
  }
  if (u.Hard !== -1 && (u.Soft === -1 || u.Soft > u.Hard)) {
    const soft = u.Soft === -1 ? "unlimited" : u.Soft;
    throw invalid(
      `ulimit soft limit must be less than or equal to hard limit: ${soft} > ${u.Hard}`,
    );
  }
  if (u.Name === "nofile" && (u.Hard === -1 || u.Hard > maxOpenFiles())) {
    throw invalid(
      `ulimit nofile: the kernel allows at most ${maxOpenFiles()} open files (fs.nr_open)`,
    );
  }
  const own = engineHasCapability("CAP_SYS_RESOURCE") ? -1 : engineHardLimit(u.Name);
  if (own !== -1 && (u.Hard === -1 || u.Hard > own)) {
    throw invalid(
      `ulimit ${u.Name}: the hard limit cannot go above corral's own, ${own} ` +
        "(corral has no CAP_SYS_RESOURCE)",
    );
  }
}

/**
 * The process's rlimits: 1024 open files unless `--ulimit nofile` says
 * otherwise, and every `--ulimit`.
 *
 * @example
 * ```ts
 * rlimitsOf([{ Name: "nproc", Soft: 64, Hard: 128 }]);
 * // [{ type: "RLIMIT_NOFILE", hard: 1024, soft: 1024 }, { type: "RLIMIT_NPROC", hard: 128, soft: 64 }]
 * ```
 */
export function rlimitsOf(ulimits: Ulimit[]): { type: string; hard: unknown; soft: unknown }[] {
  const limit = (n: number) => n === -1 ? RLIM_INFINITY : n;
  const byType = new Map<string, { type: string; hard: unknown; soft: unknown }>([
    ["RLIMIT_NOFILE", { type: "RLIMIT_NOFILE", hard: 1024, soft: 1024 }],
  ]);
  for (const u of ulimits) {
    checkUlimit(u);
    const type = `RLIMIT_${u.Name.toUpperCase()}`;
    byType.set(type, { type, hard: limit(u.Hard), soft: limit(u.Soft) });
  }
  return [...byType.values()];
}

/**
 * The process's `oomScoreAdj`: the one asked for, else corral's own (0 unless
 * corral's was changed), always stated so that a container never inherits
 * its shim's (a shim lowers its own so that the OOM killer takes a container
 * first). Lowering it needs CAP_SYS_RESOURCE, checked here rather than
 * failing runc.
 *
 * @example
 * ```ts
 * oomScoreAdjOf(500); // 500
 * ```
 */
export function oomScoreAdjOf(score: number | undefined): number {
  const own = Number(Deno.readTextFileSync("/proc/self/oom_score_adj"));
  if (!score) return own;
  if (score < own && !engineHasCapability("CAP_SYS_RESOURCE")) {
    throw invalid(
      `--oom-score-adj ${score}: corral cannot go below its own, ${own} ` +
        "(corral has no CAP_SYS_RESOURCE)",
    );
  }
  return score;
}
