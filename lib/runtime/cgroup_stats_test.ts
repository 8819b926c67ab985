import assert from "node:assert/strict";
import {
  blkioEntries,
  cgroupLimit,
  cgroupStatsOf,
  hostCpuNs,
  ioStatEntries,
  keyedValues,
  onlineCpus,
} from "./cgroup_stats.ts";

/** A container's cgroup files as one hierarchy or several would give them. */
function files(contents: Record<string, string>): (name: string) => string | undefined {
  return (name) => contents[name];
}

const MiB = 1024 * 1024;

Deno.test("cgroup v2: cpu.stat in µs, memory.current/max/stat, pids, io.stat as read/write", () => {
  const stats = cgroupStatsOf(files({
    "cpu.stat": "usage_usec 2500000\nuser_usec 2000000\nsystem_usec 500000\n" +
      "nr_periods 10\nnr_throttled 4\nthrottled_usec 30000\n",
    "memory.current": "45088768\n",
    "memory.max": "67108864\n",
    "memory.stat": "anon 1048576\nfile 41943040\ninactive_file 4096\nshmem 41943040\n",
    "pids.current": "3\n",
    "pids.max": "max\n",
    "io.stat": "8:0 rbytes=8192 wbytes=4096 rios=2 wios=1 dbytes=0 dios=0\n" +
      "253:1 rbytes=512 wbytes=0 rios=1 wios=0 dbytes=0 dios=0\n",
  }));
  assert.deepEqual(stats.cpu, {
    totalNs: 2_500_000_000,
    userNs: 2_000_000_000,
    systemNs: 500_000_000,
    periods: 10,
    throttledPeriods: 4,
    throttledNs: 30_000_000,
  });
  assert.deepEqual(stats.memory, {
    usage: 45088768,
    limit: 64 * MiB,
    stats: { anon: 1048576, file: 41943040, inactive_file: 4096, shmem: 41943040 },
  });
  assert.deepEqual(stats.pids, { current: 3, limit: undefined });
  assert.deepEqual(stats.blkio.serviceBytes, [
    { major: 8, minor: 0, op: "read", value: 8192 },
    { major: 8, minor: 0, op: "write", value: 4096 },
    { major: 253, minor: 1, op: "read", value: 512 },
    { major: 253, minor: 1, op: "write", value: 0 },
  ]);
  assert.deepEqual(stats.blkio.serviced.map((e) => `${e.major}:${e.minor} ${e.op} ${e.value}`), [
    "8:0 read 2",
    "8:0 write 1",
    "253:1 read 1",
    "253:1 write 0",
  ]);
});

Deno.test("cgroup v2: an unlimited memory.max is no limit", () => {
  const stats = cgroupStatsOf(files({ "memory.current": "4096\n", "memory.max": "max\n" }));
  assert.equal(stats.memory.limit, undefined);
  assert.equal(stats.memory.usage, 4096);
});

Deno.test("cgroup v1: cpuacct in ns and ticks, memory.*_in_bytes, blkio.throttle", () => {
  const stats = cgroupStatsOf(files({
    // A hybrid host: v1's cpu.stat (throttling) joined with the unified hierarchy's (usage).
    "cpu.stat": "nr_periods 7\nnr_throttled 2\nthrottled_time 1500000\n\n" +
      "usage_usec 99\nuser_usec 98\nsystem_usec 1\n",
    "cpuacct.usage": "3833748828\n",
    "cpuacct.stat": "user 371\nsystem 11\n",
    "cpuacct.usage_percpu": "78113884 3755634944 \n",
    "memory.usage_in_bytes": "21364736\n",
    "memory.max_usage_in_bytes": "22876160\n",
    "memory.failcnt": "0\n",
    "memory.limit_in_bytes": "9223372036854771712\n",
    "memory.stat": "cache 20971520\nrss 61440\ntotal_inactive_file 0\n",
    "pids.current": "1\n",
    "pids.max": "20\n",
    "blkio.throttle.io_service_bytes_recursive": "8:0 Read 4096\n8:0 Write 8192\n" +
      "8:0 Sync 12288\n8:0 Async 0\n8:0 Discard 0\n8:0 Total 12288\nTotal 12288\n",
    "blkio.throttle.io_serviced": "8:0 Read 9\nTotal 9\n",
  }));
  assert.deepEqual(stats.cpu, {
    totalNs: 3833748828,
    userNs: 3_710_000_000,
    systemNs: 110_000_000,
    perCpuNs: [78113884, 3755634944],
    periods: 7,
    throttledPeriods: 2,
    throttledNs: 1_500_000,
  });
  assert.deepEqual(stats.memory, {
    usage: 21364736,
    maxUsage: 22876160,
    failcnt: 0,
    limit: 9223372036854771712,
    stats: { cache: 20971520, rss: 61440, total_inactive_file: 0 },
  });
  assert.deepEqual(stats.pids, { current: 1, limit: 20 });
  assert.deepEqual(stats.blkio.serviceBytes.map((e) => e.op), [
    "Read",
    "Write",
    "Sync",
    "Async",
    "Discard",
    "Total",
  ]);
  assert.deepEqual(
    stats.blkio.serviced,
    [{ major: 8, minor: 0, op: "Read", value: 9 }],
    "the plain file where the kernel has no _recursive one",
  );
});

Deno.test("a cgroup removed meanwhile reads as zeros", () => {
  const stats = cgroupStatsOf(files({}));
  assert.equal(stats.cpu.totalNs, 0);
  assert.equal(stats.memory.usage, 0);
  assert.equal(stats.memory.limit, undefined);
  assert.deepEqual(stats.memory.stats, {});
  assert.deepEqual(stats.pids, { current: 0, limit: undefined });
  assert.deepEqual(stats.blkio, { serviceBytes: [], serviced: [] });
});

Deno.test("the parsers: keyed values, limits, blkio and io.stat lines", () => {
  assert.deepEqual(keyedValues("a 1\nb 2\na 3\nnot a pair here\n\n"), { a: 1, b: 2 });
  assert.equal(cgroupLimit("max"), undefined);
  assert.equal(cgroupLimit(""), undefined);
  assert.equal(cgroupLimit(undefined), undefined);
  assert.equal(cgroupLimit("1024\n"), 1024);
  assert.deepEqual(blkioEntries("Total 0\n"), [], "no device, no entry");
  assert.deepEqual(ioStatEntries("\n8:16 rbytes=1\n"), [
    { major: 8, minor: 16, op: "rbytes", value: 1 },
  ]);
});

Deno.test("host figures: /proc/stat's cpu line in ns, CPU lists", () => {
  const procStat = "cpu  100 20 30 800 40 5 5 7 0 0\ncpu0 50 10 15 400 20 2 3 3 0 0\nctxt 1\n";
  // user+nice+system+idle+iowait+irq+softirq = 1000 ticks of 10 ms; steal left out.
  assert.equal(hostCpuNs(procStat), 10_000_000_000);
  assert.ok(hostCpuNs() > 0, "this host's");
  assert.equal(onlineCpus("0\n"), 1);
  assert.equal(onlineCpus("0-3,6,8-9\n"), 7);
  assert.equal(onlineCpus(), navigator.hardwareConcurrency);
});
