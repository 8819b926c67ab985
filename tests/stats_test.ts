/**
 * `docker stats` on real runc containers: the numbers come from the
 * container's cgroups (CPU of a busy loop, memory under a limit, pids), one
 * answer or one a second, zeroed for a stopped container; and the real
 * docker CLI prints them.
 */
import assert from "node:assert/strict";
import { ApiClient } from "../lib/api/mod.ts";
import type { ContainerStats } from "../lib/container/mod.ts";
import { Docker, dockerTestOptions } from "./docker.ts";
import { fdCount, integration, JsonLines, type TestDaemon, withDaemon } from "./harness.ts";

const MiB = 1024 * 1024;
const ZERO_TIME = "0001-01-01T00:00:00Z";

/** The docker CLI's CPU %: the container's share of the host's CPU time between two samples. */
function cpuPercent(s: ContainerStats): number {
  const cpu = s.cpu_stats.cpu_usage.total_usage - s.precpu_stats.cpu_usage.total_usage;
  const system = (s.cpu_stats.system_cpu_usage ?? 0) - (s.precpu_stats.system_cpu_usage ?? 0);
  return system > 0 && cpu > 0 ? cpu / system * (s.cpu_stats.online_cpus ?? 0) * 100 : 0;
}

/** `GET /containers/REF/stats?QUERY`, read to its end: every JSON line of the body. */
async function statsLines(d: TestDaemon, ref: string, query: string): Promise<ContainerStats[]> {
  const res = await d.api.call("GET", `/containers/${ref}/stats?${query}`);
  const text = await res.text();
  return text.split("\n").filter((l) => l !== "").map((l) => JSON.parse(l));
}

/** A shell command that writes `mib` MiB to the tmpfs at /dev/shm, charged to the container's memory. */
function fillShm(mib: number): string {
  return `dd if=/dev/zero of=/dev/shm/fill bs=1M count=${mib} && touch /tmp/filled`;
}

/** Wait until `fillShm` has written all it writes in container `ref`. */
function untilFilled(d: TestDaemon, ref: string): Promise<void> {
  return d.until(
    async () => (await d.cli("exec", ref, "test", "-e", "/tmp/filled")).code === 0,
    10_000,
    "the memory fill",
  );
}

/** Run a detached container with the corral CLI; its id. */
function runDetached(d: TestDaemon, name: string, ...args: string[]): Promise<string> {
  return d.ok("run", "-d", "--name", name, ...args);
}

Deno.test(
  "stats: CPU of a busy loop, memory under -m 64m, pids; stream=false primes precpu, one-shot does not",
  integration,
  () =>
    withDaemon(async (d) => {
      const busyId = await runDetached(d, "busy", "busybox", "sh", "-c", "while :; do :; done");
      const t0 = performance.now();
      const primed = await statsLines(d, "busy", "stream=false");
      const took = performance.now() - t0;
      assert.equal(primed.length, 1, "stream=false answers one object and ends");
      const [s] = primed;
      assert.equal(s.id, busyId);
      assert.equal(s.name, "/busy");
      assert.ok(took >= 900 && took < 5000, `a sample a second apart (${took} ms)`);
      const readGap = Date.parse(s.read) - Date.parse(s.preread);
      assert.ok(readGap >= 900 && readGap < 3000, `preread a second before read (${readGap} ms)`);
      const used = s.cpu_stats.cpu_usage.total_usage - s.precpu_stats.cpu_usage.total_usage;
      assert.ok(used > 100e6, `the busy loop used ${used} ns of CPU in a second`);
      assert.ok(cpuPercent(s) > 10, `CPU ${cpuPercent(s)} %`);
      assert.equal(s.cpu_stats.online_cpus, navigator.hardwareConcurrency);
      assert.ok(s.cpu_stats.cpu_usage.usage_in_usermode > 0, "user time");
      assert.equal(s.memory_stats.limit, Deno.systemMemoryInfo().total, "unlimited: the host's");
      assert.equal(s.pids_stats.current, 1);

      const oneShot = await statsLines(d, "busy", "stream=false&one-shot=true");
      assert.equal(oneShot.length, 1);
      assert.equal(oneShot[0].preread, ZERO_TIME, "one-shot: no sample before");
      assert.equal(oneShot[0].precpu_stats.cpu_usage.total_usage, 0);
      assert.ok(oneShot[0].cpu_stats.cpu_usage.total_usage > s.cpu_stats.cpu_usage.total_usage);
      const refused = await d.api.request("GET", "/containers/busy/stats?stream=1&one-shot=1");
      assert.equal(refused.status, 400);
      await refused.body?.cancel();

      await runDetached(d, "mem", "-m", "64m", "busybox", "sh", "-c", `${fillShm(40)}; sleep 1000`);
      await untilFilled(d, "mem");
      const [mem] = await statsLines(d, "mem", "stream=false&one-shot=true");
      assert.equal(mem.memory_stats.limit, 64 * MiB);
      assert.ok(
        mem.memory_stats.usage! > 40 * MiB && mem.memory_stats.usage! <= 64 * MiB,
        `memory usage ${mem.memory_stats.usage}`,
      );
      assert.ok(Object.keys(mem.memory_stats.stats ?? {}).length > 0, "memory.stat's counters");

      await runDetached(
        d,
        "procs",
        "--pids-limit",
        "20",
        "busybox",
        "sh",
        "-c",
        "sleep 1000 & sleep 1000 & sleep 1000 & wait",
      );
      await d.until(
        async () =>
          (await statsLines(d, "procs", "stream=0&one-shot=1"))[0].pids_stats.current === 4,
        10_000,
        "sh and its three sleeps",
      );
      const [procs] = await statsLines(d, "procs", "stream=0&one-shot=1");
      assert.deepEqual(procs.pids_stats, { current: 4, limit: 20 });
    }),
);

Deno.test(
  "stats stream: one object a second with the previous one as precpu, ends on cancel and on stop",
  integration,
  () =>
    withDaemon(async (d) => {
      await runDetached(d, "busy", "busybox", "sh", "-c", "while :; do :; done");
      await d.api.json("GET", "/containers/busy/json");
      const fdsBefore = fdCount(d.pid);
      const client = new ApiClient(d.host);
      try {
        const lines = new JsonLines<ContainerStats>(
          await client.call("GET", "/containers/busy/stats"),
        );
        const samples: ContainerStats[] = [];
        for (let i = 0; i < 4; i++) samples.push((await lines.next())!);
        await lines.close();
        assert.equal(samples[0].preread, ZERO_TIME, "the first object has no sample before it");
        for (let i = 1; i < samples.length; i++) {
          const [before, s] = [samples[i - 1], samples[i]];
          assert.equal(s.preread, before.read);
          assert.deepEqual(s.precpu_stats, before.cpu_stats);
          const gap = Date.parse(s.read) - Date.parse(before.read);
          // Not faster than once a second; the upper bound is a sanity bound for a loaded CI.
          assert.ok(gap >= 900 && gap < 3000, `one a second (${gap} ms)`);
          assert.ok(cpuPercent(s) > 10, `CPU ${cpuPercent(s)} %`);
        }
      } finally {
        client.close();
      }
      // The daemon let go of the cancelled stream's connection.
      await d.until(() => fdCount(d.pid) <= fdsBefore, 5000, "the stream's fd to close");

      const stream = await d.api.call("GET", "/containers/busy/stats?stream=1");
      const lines = new JsonLines<ContainerStats>(stream);
      assert.ok((await lines.next())!.cpu_stats.cpu_usage.total_usage > 0);
      await d.ok("kill", "busy");
      const t0 = performance.now();
      while (await lines.next() !== null) {
        assert.ok(performance.now() - t0 < 5000, "the stream ends once the container stops");
      }
    }),
);

Deno.test(
  "stats of a stopped container are zeroed; an unknown container is a 404",
  integration,
  () =>
    withDaemon(async (d) => {
      const id = await d.ok("create", "--name", "idle", "busybox", "true");
      for (const query of ["stream=false", "stream=true"]) {
        const answers = await statsLines(d, "idle", query);
        assert.equal(answers.length, 1, `${query}: one object`);
        const [s] = answers;
        assert.equal(s.id, id);
        assert.equal(s.name, "/idle");
        assert.equal(s.read, ZERO_TIME);
        assert.deepEqual(s.cpu_stats.cpu_usage, {
          total_usage: 0,
          usage_in_kernelmode: 0,
          usage_in_usermode: 0,
        });
        assert.deepEqual(s.memory_stats, {});
        assert.deepEqual(s.pids_stats, {});
        assert.equal(s.blkio_stats.io_service_bytes_recursive, null);
      }
      await d.ok("start", "idle");
      assert.equal(await d.ok("wait", "idle"), "0");
      assert.equal((await statsLines(d, "idle", "stream=0"))[0].read, ZERO_TIME, "exited");

      const res = await d.api.request("GET", "/containers/nope/stats?stream=false");
      assert.equal(res.status, 404);
      assert.deepEqual(await res.json(), { message: "No such container: nope" });
    }),
);

const cliTest = dockerTestOptions("tests/stats_test.ts");

Deno.test(
  "docker CLI: stats --no-stream prints real numbers; stats streams",
  cliTest,
  () =>
    withDaemon(async (d) => {
      const docker = new Docker(d);
      await docker.ok(
        "run",
        "-d",
        "--name",
        "busy",
        "-m",
        "64m",
        "busybox",
        "sh",
        "-c",
        "dd if=/dev/zero of=/dev/shm/fill bs=1M count=20; while :; do :; done",
      );
      await d.until(
        async () => (await docker.run("exec", "busy", "test", "-e", "/dev/shm/fill")).code === 0,
        10_000,
        "the memory fill",
      );

      const table = await docker.lines("stats", "--no-stream", "busy");
      assert.match(
        table[0],
        /^CONTAINER ID\s+NAME\s+CPU %\s+MEM USAGE \/ LIMIT\s+MEM %\s+NET I\/O\s+BLOCK I\/O\s+PIDS$/,
      );
      assert.equal(table.length, 2);
      assert.match(table[1], /\sbusy\s/);

      const format =
        "{{.Name}}|{{.CPUPerc}}|{{.MemUsage}}|{{.MemPerc}}|{{.NetIO}}|{{.BlockIO}}|{{.PIDs}}";
      const [name, cpu, memUsage, memPerc, netIO, blockIO, pids] = (await docker.ok(
        "stats",
        "--no-stream",
        "--format",
        format,
        "busy",
      )).split("|");
      assert.equal(name, "busy");
      assert.ok(parseFloat(cpu) > 10, `CPU % ${cpu}`);
      const [usage, limit] = memUsage.split(" / ");
      assert.equal(limit, "64MiB");
      assert.match(usage, /MiB$/);
      assert.ok(parseFloat(usage) > 10, `MEM USAGE ${usage}`);
      assert.ok(parseFloat(memPerc) > 15, `MEM % ${memPerc}`);
      assert.equal(netIO, "0B / 0B", "no network");
      assert.match(blockIO, /^\S+ \/ \S+$/);
      assert.equal(pids, "1");

      // Streaming: the CLI redraws the row until it is killed; the first object has no precpu
      // (as from Docker), so the busy loop's share shows from the second one on.
      const child = docker.spawn(["stats", "--format", "{{.Name}} {{.CPUPerc}}", "busy"]);
      const giveUp = setTimeout(() => child.kill("SIGKILL"), 15_000);
      const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
      const rows = () => (out.match(/busy [\d.]+%/g) ?? []).map((r) => parseFloat(r.slice(5)));
      let out = "";
      try {
        while (rows().filter((cpu) => cpu > 10).length < 3) {
          const { value, done } = await reader.read();
          if (done) break;
          out += value;
        }
      } finally {
        clearTimeout(giveUp);
        child.kill("SIGKILL");
        await reader.cancel();
        await child.stderr.cancel();
        await child.status;
      }
      assert.ok(rows().filter((cpu) => cpu > 10).length >= 3, `the busy loop's CPU %:\n${out}`);
    }),
);
