/**
 * The HostConfig options that map onto the OCI spec, each looked at from
 * inside a real container: capabilities, no-new-privileges, groups, OOM
 * score, sysctls, devices, a read-only root with tmpfs mounts, /dev/shm's
 * size, binds and tmpfs by --mount, ulimits, an init as pid 1, and the
 * cgroup limits (shares, cpuset, reservation, swap), live updates included;
 * all of it again after a daemon restart; bad values refused with a 400 and
 * nothing created; and the docker CLI's shapes of a few of them.
 */
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { Docker, dockerTestOptions } from "./docker.ts";
import { integration, type TestDaemon, withDaemon } from "./harness.ts";

/** Docker's default capabilities as /proc/PID/status shows them. */
const DEFAULT_CAP_EFF = "00000000a80425fb";

/**
 * Every capability a container can get here, as CapEff shows it: those of
 * the kernel (up to CAP_CHECKPOINT_RESTORE, bit 40) in the engine's
 * bounding set, which this process, root like the daemon, shares.
 */
function allCapsEff(): string {
  const last = Math.min(40, Number(Deno.readTextFileSync("/proc/sys/kernel/cap_last_cap")));
  const bounding = Deno.readTextFileSync("/proc/self/status").match(/^CapBnd:\s*(\w+)$/m)![1];
  const known = (1n << BigInt(last + 1)) - 1n;
  return (BigInt(`0x${bounding}`) & known).toString(16).padStart(16, "0");
}

/** `corral run --rm [flags] busybox sh -c script`: its stdout (fails on a non-zero exit). */
function runSh(d: TestDaemon, flags: string[], script: string): Promise<string> {
  return d.ok("run", "--rm", ...flags, "busybox", "sh", "-c", script);
}

/** A field of /proc/self/status in the container. */
function statusField(d: TestDaemon, flags: string[], field: string): Promise<string> {
  return runSh(d, flags, `grep '^${field}:' /proc/self/status | cut -f2`);
}

/** The options of a mount in its /proc/mounts line. */
function mountOptions(mountsLine: string): string[] {
  return mountsLine.split(" ")[3].split(",");
}

Deno.test(
  "capabilities, no-new-privileges, groups, OOM score, sysctls and devices inside the container",
  integration,
  () =>
    withDaemon(async (d) => {
      assert.equal(await statusField(d, [], "CapEff"), DEFAULT_CAP_EFF);
      assert.equal(await statusField(d, ["--cap-drop", "ALL"], "CapEff"), "0000000000000000");
      // NET_ADMIN is bit 12, CHOWN bit 0; names with or without CAP_, any case.
      assert.equal(
        await statusField(d, ["--cap-add", "net_admin", "--cap-drop", "CAP_CHOWN"], "CapEff"),
        "00000000a80435fa",
      );
      assert.equal(
        await statusField(d, ["--cap-drop", "ALL", "--cap-add", "ALL"], "CapEff"),
        allCapsEff(),
      );
      // Privileged: every capability, /sys writable, /proc/kcore not masked, host devices.
      const priv = await runSh(
        d,
        ["--privileged"],
        "grep CapEff /proc/self/status | cut -f2; grep ' /sys ' /proc/mounts; " +
          "grep -c ' /proc/kcore ' /proc/mounts; test -e /dev/kmsg && echo devices",
      );
      const [capEff, sysLine, kcoreMounts, devices] = priv.split("\n");
      assert.equal(capEff, allCapsEff());
      assert.ok(mountOptions(sysLine).includes("rw"), sysLine);
      assert.equal(kcoreMounts, "0", "/proc/kcore is not masked");
      assert.equal(devices, "devices");

      // no-new-privileges: off by default, as in Docker.
      assert.equal(await statusField(d, [], "NoNewPrivs"), "0");
      assert.equal(
        await statusField(d, ["--security-opt", "no-new-privileges"], "NoNewPrivs"),
        "1",
      );
      assert.equal(
        await statusField(d, ["--security-opt", "no-new-privileges=false"], "NoNewPrivs"),
        "0",
      );

      assert.equal(
        await runSh(d, ["--group-add", "10", "--group-add", "nobody"], "id -G"),
        "0 10 65534",
      );
      const noGroup = await d.cli("run", "--rm", "--group-add", "nosuchgroup", "busybox", "true");
      assert.notEqual(noGroup.code, 0);
      assert.match(noGroup.stderr, /unable to find group nosuchgroup/);

      assert.equal(
        await runSh(d, ["--oom-score-adj", "321"], "cat /proc/self/oom_score_adj"),
        "321",
      );
      assert.equal(
        await runSh(
          d,
          ["--sysctl", "net.ipv4.ip_forward=1", "--sysctl", "kernel.shm_rmid_forced=1"],
          "cat /proc/sys/net/ipv4/ip_forward /proc/sys/kernel/shm_rmid_forced",
        ),
        "1\n1",
      );
      assert.equal(
        await runSh(
          d,
          ["--device", "/dev/null:/dev/mynull:rw"],
          "test -c /dev/mynull && echo data > /dev/mynull && echo written",
        ),
        "written",
      );
    }),
);

Deno.test(
  "a read-only root with tmpfs mounts, /dev/shm's size, --mount bind and tmpfs, ulimits, --init",
  integration,
  () =>
    withDaemon(async (d) => {
      const ro = await d.cli(
        "run",
        "--rm",
        "--read-only",
        "--tmpfs",
        "/run:size=1m,exec",
        "busybox",
        "sh",
        "-c",
        "touch /run/ok && grep ' /run ' /proc/mounts && touch /denied",
      );
      assert.notEqual(ro.code, 0, "a write to / fails");
      assert.match(ro.stderr, /Read-only file system/);
      const runOptions = mountOptions(ro.stdout.trim());
      for (const o of ["rw", "nosuid", "nodev", "size=1024k"]) assert.ok(runOptions.includes(o));
      assert.ok(!runOptions.includes("noexec"), "exec overrides Docker's noexec");

      const shm = await runSh(d, ["--shm-size", "128m"], "grep ' /dev/shm ' /proc/mounts");
      assert.ok(mountOptions(shm).includes("size=131072k"), shm);

      const host = join(d.dir, "shared");
      await Deno.mkdir(host);
      await Deno.writeTextFile(join(host, "in.txt"), "from host\n");
      const mounted = await d.cli(
        "run",
        "--rm",
        "--mount",
        `type=bind,source=${host},target=/data,readonly`,
        "--mount",
        "type=tmpfs,target=/scratch,tmpfs-size=2m,tmpfs-mode=1770",
        "busybox",
        "sh",
        "-c",
        "cat /data/in.txt; grep ' /scratch ' /proc/mounts; touch /scratch/ok; touch /data/denied",
      );
      assert.notEqual(mounted.code, 0);
      assert.match(mounted.stderr, /Read-only file system/);
      const [content, scratch] = mounted.stdout.trim().split("\n");
      assert.equal(content, "from host");
      const scratchOptions = mountOptions(scratch);
      assert.ok(scratchOptions.includes("size=2048k") && scratchOptions.includes("mode=1770"));
      // Inspect lists them in Docker's shape.
      const listed = await d.ok(
        "create",
        "--mount",
        `type=bind,source=${host},target=/data,readonly`,
        "--mount",
        "type=tmpfs,target=/scratch",
        "busybox",
        "true",
      );
      assert.deepEqual((await d.inspect(listed)).Mounts, [
        {
          Type: "bind",
          Source: host,
          Destination: "/data",
          Mode: "",
          RW: false,
          Propagation: "rprivate",
        },
        { Type: "tmpfs", Source: "", Destination: "/scratch", Mode: "", RW: true, Propagation: "" },
      ]);
      await d.ok("rm", listed);

      assert.equal(
        await runSh(
          d,
          ["--ulimit", "nofile=512:1024", "--ulimit", "nproc=77"],
          "ulimit -n; ulimit -Hn; ulimit -u",
        ),
        "512\n1024\n77",
      );

      // --init: tini is pid 1, and a signal sent to the container reaches the command.
      await d.ok(
        "run",
        "-d",
        "--init",
        "--name",
        "ini",
        "busybox",
        "sh",
        "-c",
        "trap 'echo got USR1' USR1; echo ready; while :; do sleep 0.1; done",
      );
      await d.until(async () => (await d.ok("logs", "ini")).includes("ready"), 10_000, "ready");
      const init = await d.ok("exec", "ini", "cat", "/proc/1/cmdline");
      assert.equal(init.split("\0").slice(0, 3).join(" "), "/sbin/docker-init -- sh");
      await d.ok("kill", "-s", "USR1", "ini");
      await d.until(async () => (await d.ok("logs", "ini")).includes("got USR1"), 10_000, "USR1");
      // SIGTERM reaches sh, which is not pid 1 and so dies of it: no wait for SIGKILL.
      const t0 = Date.now();
      await d.ok("stop", "-t", "20", "ini");
      assert.ok(Date.now() - t0 < 10_000, "stopped by SIGTERM");
      assert.equal((await d.inspect("ini")).State.ExitCode, 143);
    }),
);

/** Whether this host has the unified cgroup hierarchy (v2) alone. */
const CGROUP_V2 = existsSync("/sys/fs/cgroup/cgroup.controllers");

/** What the cgroup shows for cpu shares: cpu.shares on v1, the cpu.weight runc makes of them on v2. */
function cpuWeight(shares: number): string {
  return String(CGROUP_V2 ? 1 + Math.floor((shares - 2) * 9999 / 262142) : shares);
}

/** The container's CPU weight, CPU set, memory soft limit and memory+swap limit (v1 or v2). */
function cgroupLimits(d: TestDaemon, id: string): Record<string, string> {
  const file = (v1: string, v2: string) => d.cgroupFile(id, [CGROUP_V2 ? v2 : v1]);
  return {
    cpu: file("cpu.shares", "cpu.weight"),
    cpuset: file("cpuset.cpus", "cpuset.cpus"),
    reservation: file("memory.soft_limit_in_bytes", "memory.low"),
    // v2 limits the swap alone; v1 memory and swap together, as Docker's MemorySwap.
    swap: CGROUP_V2
      ? String(Number(file("", "memory.swap.max")) + Number(file("", "memory.max")))
      : file("memory.memsw.limit_in_bytes", ""),
  };
}

Deno.test(
  "cgroup limits (shares, cpuset, reservation, swap), updated live, and every option after a daemon restart",
  integration,
  () =>
    withDaemon(async (d) => {
      const lastCpu = String(navigator.hardwareConcurrency - 1);
      const id = await d.ok(
        "create",
        "--name",
        "lim",
        "--cpu-shares",
        "512",
        "--cpuset-cpus",
        "0",
        "-m",
        "64m",
        "--memory-reservation",
        "32m",
        "--memory-swap",
        "128m",
        "--read-only",
        "--tmpfs",
        "/run",
        "--cap-drop",
        "ALL",
        "--ulimit",
        "nofile=300",
        "busybox",
        "sh",
        "-c",
        "echo $(grep CapEff /proc/self/status | cut -f2) $(ulimit -n); exec sleep 600",
      );
      const expectAll = async (run: number) => {
        await d.until(
          async () => (await d.ok("logs", "lim")).split("\n").length >= run,
          10_000,
          `run ${run} of lim`,
        );
        const line = (await d.ok("logs", "lim")).split("\n")[run - 1];
        assert.equal(line, "0000000000000000 300", `run ${run}: caps and ulimit`);
        const touch = await d.cli("exec", "lim", "touch", "/denied");
        assert.notEqual(touch.code, 0, `run ${run}: the root is read-only`);
        await d.ok("exec", "lim", "touch", "/run/ok");
      };
      await d.ok("start", "lim");
      await expectAll(1);
      assert.deepEqual(cgroupLimits(d, id), {
        cpu: cpuWeight(512),
        cpuset: "0",
        reservation: String(32 << 20),
        swap: String(128 << 20),
      });

      await d.ok(
        "update",
        "--cpu-shares",
        "256",
        "--cpuset-cpus",
        lastCpu,
        "--memory-reservation",
        "16m",
        "--memory-swap",
        "256m",
        "lim",
      );
      const updated = {
        cpu: cpuWeight(256),
        cpuset: lastCpu,
        reservation: String(16 << 20),
        swap: String(256 << 20),
      };
      assert.deepEqual(cgroupLimits(d, id), updated, "applied to the running container");
      const hc = (await d.inspect("lim")).HostConfig;
      assert.deepEqual(
        [hc.CpuShares, hc.CpusetCpus, hc.MemoryReservation, hc.MemorySwap, hc.ReadonlyRootfs],
        [256, lastCpu, 16 << 20, 256 << 20, true],
      );

      // Stopped, the daemon restarted, started again: every option holds.
      await d.ok("stop", "-t", "1", "lim");
      await d.stop();
      await d.start();
      await d.ok("start", "lim");
      await expectAll(2);
      assert.deepEqual(cgroupLimits(d, id), updated, "after a daemon restart");
    }),
);

/** What a create with `hostConfig` answers: its status and message. */
async function createWith(
  d: TestDaemon,
  hostConfig: Record<string, unknown>,
): Promise<{ status: number; message: string }> {
  const res = await d.api.request("POST", "/containers/create", {
    Image: "busybox",
    Cmd: ["true"],
    HostConfig: hostConfig,
  });
  const body = await res.json() as { message?: string };
  return { status: res.status, message: body.message ?? "" };
}

Deno.test(
  "bad values of each option: a 400 with Docker's message, nothing created",
  integration,
  () =>
    withDaemon(async (d) => {
      const mb = 1024 * 1024;
      const cases: [Record<string, unknown>, RegExp][] = [
        [{ CapAdd: ["FOO"] }, /unknown capability: "CAP_FOO"/],
        [{ CapDrop: "ALL" }, /CapDrop must be an array of strings/],
        [{ Privileged: "yes" }, /Privileged must be a boolean/],
        [{ SecurityOpt: ["seccomp=unconfined"] }, /"seccomp=unconfined" is not supported/],
        [{ SecurityOpt: ["no-new-privileges=maybe"] }, /invalid --security-opt 2/],
        [{ Ulimits: [{ Name: "nofiles", Soft: 1, Hard: 1 }] }, /invalid ulimit type: nofiles/],
        [{ Ulimits: [{ Name: "nofile", Soft: 9, Hard: 8 }] }, /soft limit must be less .* 9 > 8/],
        [{ Ulimits: [{ Name: "nofile", Soft: 1, Hard: 2 ** 40 }] }, /fs\.nr_open/],
        [{ Ulimits: [{ Name: "nofile" }] }, /Ulimits must be an array of \{Name, Soft, Hard\}/],
        [
          { Devices: [{ PathOnHost: "/dev/nosuch", PathInContainer: "/dev/x" }] },
          /error gathering device information .*"\/dev\/nosuch": no such file/,
        ],
        [{ Devices: [{ PathOnHost: "/dev/null", CgroupPermissions: "rwx" }] }, /device mode: rwx/],
        [{ Devices: [{ PathOnHost: "/etc/hostname" }] }, /not a device node/],
        [{ Sysctls: { "kernel.hostname": "x" } }, /sysctl 'kernel.hostname=x' is not allowed/],
        [{ Sysctls: { "net.nope": "1" } }, /sysctl 'net.nope' does not exist/],
        [{ OomScoreAdj: 1001 }, /Invalid value 1001, range for oom score adj is \[-1000, 1000\]/],
        [{ ShmSize: -1 }, /SHM size can not be less than 0/],
        [{ Tmpfs: { "run": "" } }, /'run' mount path must be absolute/],
        [{ Tmpfs: { "/run": "bogus" } }, /invalid tmpfs option "bogus"/],
        [
          { Mounts: [{ Type: "volume", Source: "../v", Target: "/v" }] },
          /"..\/v" includes invalid characters for a local volume name/,
        ],
        [
          { Mounts: [{ Type: "bind", Source: "/nosuch", Target: "/x" }] },
          /invalid mount config for type "bind": bind source path does not exist: \/nosuch/,
        ],
        [
          { Mounts: [{ Type: "tmpfs", Source: "/tmp", Target: "/x" }] },
          /field Source must not be specified/,
        ],
        [{ Mounts: [{ Type: "bind", Source: "/tmp", Target: "/" }] }, /destination can't be '\/'/],
        [{ Mounts: [{ Type: "nfs", Target: "/x" }] }, /mount type unknown/],
        [{ Binds: ["/tmp:/x"], Tmpfs: { "/x": "" } }, /Duplicate mount point: \/x/],
        [{ CpuShares: 1 }, /smallest CPU weight is 2/],
        [{ CpuShares: 300000 }, /invalid CpuShares/],
        [{ CpusetCpus: "0-999" }, /Requested CPUs are not available - requested 0-999/],
        [{ CpusetCpus: "x" }, /Invalid value x for cpuset cpus/],
        [{ Memory: 64 * mb, MemorySwap: 32 * mb }, /memoryswap limit should be larger/],
        [{ MemorySwap: 128 * mb }, /always set the Memory limit when using Memoryswap/],
        [{ MemoryReservation: mb }, /Minimum memory reservation allowed is 6MB/],
        [
          { Memory: 64 * mb, MemoryReservation: 128 * mb },
          /memory limit can not be less than memory reservation/,
        ],
        [{ GroupAdd: ["99999999999"] }, /invalid group "99999999999"/],
      ];
      for (const [hostConfig, message] of cases) {
        const r = await createWith(d, hostConfig);
        assert.equal(r.status, 400, `${JSON.stringify(hostConfig)}: ${r.message}`);
        assert.match(r.message, message, JSON.stringify(hostConfig));
      }
      assert.deepEqual(await d.api.json("GET", "/containers/json?all=1"), [], "nothing created");

      // Update: the limits it may change are checked; the rest is set at create.
      const id = await d.ok("create", "-m", "64m", "busybox", "true");
      for (
        const [body, message] of [
          [{ MemorySwap: 32 * mb }, /memoryswap limit should be larger/],
          [{ CpusetCpus: "0-999" }, /Requested CPUs are not available/],
          [{ Privileged: true }, /Privileged is set at create: update cannot change it/],
        ] as const
      ) {
        const res = await d.api.request("POST", `/containers/${id}/update`, body);
        const { message: got } = await res.json() as { message: string };
        assert.equal(res.status, 400, got);
        assert.match(got, message);
      }

      // The CLI's own parsing.
      for (
        const [flags, message] of [
          [["--ulimit", "nofile"], /invalid ulimit argument: nofile/],
          [["--mount", "type=bind,src=/nosuch,dst=/x"], /bind source path does not exist/],
          [["--mount", "type=bind,bogus=1"], /unexpected key 'bogus'/],
          [["--mount", "target=/v,volume-opt=type=ext4"], /volume type "ext4" is not supported/],
          [["--oom-score-adj", "x"], /invalid --oom-score-adj "x"/],
        ] as const
      ) {
        const r = await d.cli("create", ...flags, "busybox", "true");
        assert.notEqual(r.code, 0);
        assert.match(r.stderr, message);
      }
      assert.equal((await d.api.json<unknown[]>("GET", "/containers/json?all=1")).length, 1);
    }),
);

Deno.test(
  "docker CLI: --init, --read-only, --tmpfs, --cap-drop, --ulimit, --mount, --device, update",
  dockerTestOptions("tests/hostconfig_options_test.ts"),
  () =>
    withDaemon(async (d) => {
      const docker = new Docker(d);
      const out = await docker.run(
        "run",
        "--rm",
        "--init",
        "--read-only",
        "--tmpfs",
        "/run:size=1m",
        "--mount",
        "type=tmpfs,dst=/scratch,tmpfs-size=2m",
        "--cap-drop",
        "ALL",
        "--cap-add",
        "CAP_KILL",
        "--ulimit",
        "nofile=256:512",
        "--security-opt",
        "no-new-privileges",
        "--device",
        "/dev/null:/dev/mynull",
        "busybox",
        "sh",
        "-c",
        "tr '\\0' ' ' < /proc/1/cmdline; echo; grep -E '^(CapEff|NoNewPrivs)' /proc/self/status; " +
          "ulimit -n; grep -E ' /(run|scratch) ' /proc/mounts | cut -d' ' -f2; " +
          "test -c /dev/mynull && echo device; touch /run/ok /scratch/ok && touch /denied",
      );
      assert.notEqual(out.code, 0, "the write to / fails");
      assert.match(out.stderr, /Read-only file system/);
      const [pid1, ...rest] = out.stdout.trim().split("\n");
      assert.match(pid1, /^\/sbin\/docker-init -- sh -c /);
      assert.deepEqual(rest, [
        // CAP_KILL is bit 5.
        "CapEff:\t0000000000000020",
        "NoNewPrivs:\t1",
        "256",
        // --mount's, then --tmpfs's (parents first, and otherwise in this order).
        "/scratch",
        "/run",
        "device",
      ]);
      const hc = (await docker.inspect(
        await docker.ok("create", "--privileged", "--cpu-shares", "512", "busybox", "true"),
      )).HostConfig;
      assert.deepEqual([hc.Privileged, hc.CpuShares], [true, 512]);

      await docker.ok("run", "-d", "--name", "upd", "busybox", "sleep", "60");
      await docker.ok(
        "update",
        "--cpu-shares",
        "256",
        "--memory",
        "64m",
        "--memory-swap",
        "-1",
        "upd",
      );
      const id = await docker.ok("inspect", "-f", "{{.Id}}", "upd");
      assert.equal(d.cgroupFile(id, ["cpu.shares", "cpu.weight"]), cpuWeight(256));
      assert.equal(
        await docker.ok(
          "inspect",
          "-f",
          "{{.HostConfig.CpuShares}} {{.HostConfig.MemorySwap}}",
          "upd",
        ),
        "256 -1",
      );
    }),
);
