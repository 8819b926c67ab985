/**
 * `docker stats`: a container's CPU, memory, pids and block I/O in the shape
 * of Docker's `GET /containers/ID/stats`, sampled from its cgroups. Each
 * sample carries the one before it as `precpu_stats`: the client computes
 * the CPU percentage from the difference.
 * @module
 */
import { type BlkioEntry, hostCpuNs, onlineCpus, readCgroupStats } from "../runtime/mod.ts";
import { waitOrCancel } from "../restart/mod.ts";
import { type InterfaceCounters, readNetDev } from "../sys/mod.ts";
import type { Container } from "./container.ts";
import type { ContainerService } from "./service.ts";

/** Docker's `cpu_stats` (and `precpu_stats`), times in ns. */
export interface CpuStats {
  cpu_usage: {
    total_usage: number;
    percpu_usage?: number[];
    usage_in_kernelmode: number;
    usage_in_usermode: number;
  };
  system_cpu_usage?: number;
  online_cpus?: number;
  throttling_data: { periods: number; throttled_periods: number; throttled_time: number };
}

/** Docker's `blkio_stats`: the lists corral has no counters for are null, as in Docker. */
export interface BlkioStats {
  io_service_bytes_recursive: BlkioEntry[] | null;
  io_serviced_recursive: BlkioEntry[] | null;
  io_queue_recursive: null;
  io_service_time_recursive: null;
  io_wait_time_recursive: null;
  io_merged_recursive: null;
  io_time_recursive: null;
  sectors_recursive: null;
}

/** One answer of `GET /containers/ID/stats` (Docker's ContainerStatsResponse, Linux fields). */
export interface ContainerStats {
  name: string;
  id: string;
  read: string;
  preread: string;
  pids_stats: { current?: number; limit?: number };
  blkio_stats: BlkioStats;
  num_procs: number;
  storage_stats: Record<string, never>;
  cpu_stats: CpuStats;
  precpu_stats: CpuStats;
  memory_stats: {
    usage?: number;
    max_usage?: number;
    stats?: Record<string, number>;
    failcnt?: number;
    limit?: number;
  };
  /** Per interface, for a container on a network of its own (absent otherwise, as in Docker). */
  networks?: Record<string, InterfaceCounters>;
}

/** How the stats are asked for (the query of `GET /containers/ID/stats`). */
export interface StatsOptions {
  /** One sample a second until the client goes away or the container stops. */
  stream: boolean;
  /** With `stream: false`: answer at once, without the sample a second earlier. */
  oneShot: boolean;
}

/** Go's zero time: what Docker answers for a time it has no sample of. */
const ZERO_TIME = "0001-01-01T00:00:00Z";
/** Between two samples of a stream, and between the two of a `stream=false` answer. */
const SAMPLE_INTERVAL_MS = 1000;

/**
 * The stats of a container as a stream of samples: one (`stream: false`) or
 * one a second, ended when the container stops or is removed. A container
 * that is not running answers one zeroed sample, as Docker does. Throws
 * not_found for an unknown container; cancelling the stream stops the timer
 * at once.
 *
 * @example
 * ```ts
 * import type { ContainerService } from "./service.ts";
 * declare const svc: ContainerService;
 * const reader = containerStats(svc, "web", { stream: false, oneShot: false }).getReader();
 * const { value } = await reader.read();
 * console.log(value?.memory_stats.usage);
 * ```
 */
export function containerStats(
  svc: ContainerService,
  ref: string,
  opts: StatsOptions,
): ReadableStream<ContainerStats> {
  const c = svc.store.get(ref);
  const { cgroupsPath } = svc.runtime.resources(c.id);
  const cancel = new AbortController();
  let previous: ContainerStats | null = null;
  return new ReadableStream<ContainerStats>({
    async pull(ctrl) {
      if (previous === null && !c.rec.State.Running) {
        ctrl.enqueue(zeroStats(c));
        return ctrl.close();
      }
      // Docker primes a one-object answer with a sample a second earlier, unless told one-shot.
      if (previous === null && !opts.stream && !opts.oneShot) {
        previous = sample(c, cgroupsPath, null);
      }
      if (previous !== null && !await waitOrCancel(SAMPLE_INTERVAL_MS, cancel.signal)) return;
      if (!c.rec.State.Running) {
        // Stopped during the wait: a stream ends, a one-object answer is Docker's zeroed one.
        if (!opts.stream) ctrl.enqueue(zeroStats(c));
        return ctrl.close();
      }
      previous = sample(c, cgroupsPath, previous);
      ctrl.enqueue(previous);
      if (!opts.stream) ctrl.close();
    },
    cancel() {
      cancel.abort();
    },
  });
}

/** A sample of the container's usage now, with `before`'s CPU as its precpu_stats. */
function sample(c: Container, cgroupsPath: string, before: ContainerStats | null): ContainerStats {
  const cg = readCgroupStats(cgroupsPath);
  const hostMemory = Deno.systemMemoryInfo().total;
  return {
    name: "/" + c.name,
    id: c.id,
    read: new Date().toISOString(),
    preread: before?.read ?? ZERO_TIME,
    pids_stats: { current: cg.pids.current, limit: cg.pids.limit },
    blkio_stats: blkioStats(cg.blkio.serviceBytes, cg.blkio.serviced),
    num_procs: 0,
    storage_stats: {},
    cpu_stats: {
      cpu_usage: {
        total_usage: cg.cpu.totalNs,
        percpu_usage: cg.cpu.perCpuNs,
        usage_in_kernelmode: cg.cpu.systemNs,
        usage_in_usermode: cg.cpu.userNs,
      },
      system_cpu_usage: hostCpuNs(),
      online_cpus: onlineCpus(),
      throttling_data: {
        periods: cg.cpu.periods,
        throttled_periods: cg.cpu.throttledPeriods,
        throttled_time: cg.cpu.throttledNs,
      },
    },
    precpu_stats: before?.cpu_stats ?? zeroCpuStats(),
    memory_stats: {
      usage: cg.memory.usage,
      max_usage: cg.memory.maxUsage,
      stats: cg.memory.stats,
      failcnt: cg.memory.failcnt,
      // Unlimited (or limited above the host's memory): the host's memory, as Docker shows it.
      limit: Math.min(cg.memory.limit ?? Infinity, hostMemory),
    },
    ...(Object.keys(c.rec.Networks ?? {}).length ? { networks: readNetDev(c.rec.State.Pid) } : {}),
  };
}

/** Docker's answer for a container that is not running: its name and id, every number zero. */
function zeroStats(c: Container): ContainerStats {
  return {
    name: "/" + c.name,
    id: c.id,
    read: ZERO_TIME,
    preread: ZERO_TIME,
    pids_stats: {},
    blkio_stats: blkioStats(null, null),
    num_procs: 0,
    storage_stats: {},
    cpu_stats: zeroCpuStats(),
    precpu_stats: zeroCpuStats(),
    memory_stats: {},
  };
}

function zeroCpuStats(): CpuStats {
  return {
    cpu_usage: { total_usage: 0, usage_in_kernelmode: 0, usage_in_usermode: 0 },
    throttling_data: { periods: 0, throttled_periods: 0, throttled_time: 0 },
  };
}

function blkioStats(serviceBytes: BlkioEntry[] | null, serviced: BlkioEntry[] | null): BlkioStats {
  return {
    io_service_bytes_recursive: serviceBytes,
    io_serviced_recursive: serviced,
    io_queue_recursive: null,
    io_service_time_recursive: null,
    io_wait_time_recursive: null,
    io_merged_recursive: null,
    io_time_recursive: null,
    sectors_recursive: null,
  };
}
