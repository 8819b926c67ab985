/**
 * The real docker CLI (a client nobody here wrote) against a corral daemon:
 * version negotiation, run, restart policies, ps filters, logs, exec, top,
 * stop, wait, rename, update, events, rm, prune, bind mounts and the clear
 * refusal of what corral does not do.
 */
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { API_VERSION, CORRAL_VERSION, MIN_API_VERSION } from "../lib/api/mod.ts";
import { mountsUnder } from "../lib/sys/mod.ts";
import { Docker, dockerTestOptions } from "./docker.ts";
import { type CliResult, freePort, httpGet, sleep, withDaemon } from "./harness.ts";

const cliTest = dockerTestOptions("tests/docker_cli_test.ts");

/** A refusal: exit code, one clear line naming corral, no stack trace. */
function assertRefused(r: CliResult, code: number, words: RegExp): void {
  assert.equal(r.code, code, `exit code (stderr: ${r.stderr})`);
  assert.match(r.stderr, words);
  assert.doesNotMatch(r.stderr, /\n\s+at /, "no stack trace");
}

Deno.test(
  "docker CLI: version, info, run, restart policy, ps filters, images, inspect, bind mounts, refusals",
  cliTest,
  () =>
    withDaemon(async (d) => {
      const docker = new Docker(d);

      type Version = {
        ApiVersion: string;
        MinAPIVersion: string;
        Os: string;
        Arch: string;
        KernelVersion: string;
        Platform: { Name: string };
        Components: { Name: string; Details: Record<string, string> }[];
      };
      const v = await docker.json<{
        Client: { ApiVersion: string; DefaultAPIVersion: string };
        Server: Version;
      }>(
        "version",
        "--format",
        "{{json .}}",
      );
      assert.equal(v.Server.Platform.Name, "corral");
      assert.equal(v.Server.ApiVersion, API_VERSION);
      // A newer client negotiates down to corral's API; an older one (Debian's 20.10) keeps its own.
      const [ours, theirs] = [API_VERSION, v.Client.DefaultAPIVersion].map((x) =>
        x.split(".").map(Number)
      );
      const older = theirs[0] < ours[0] || (theirs[0] === ours[0] && theirs[1] < ours[1]);
      assert.equal(
        v.Client.ApiVersion,
        older ? v.Client.DefaultAPIVersion : API_VERSION,
        "the client negotiated to the lower of the two APIs",
      );
      assert.equal(v.Server.MinAPIVersion, MIN_API_VERSION);
      assert.equal(v.Server.Os, "linux");
      assert.equal(v.Server.KernelVersion, Deno.osRelease());
      const engine = v.Server.Components.find((c) => c.Name === "Engine");
      assert.equal(engine?.Details.MinAPIVersion, MIN_API_VERSION);
      assert.equal(engine?.Details.Os, "linux");
      assert.ok(engine?.Details.Arch, "docker version prints OS/Arch from the details");
      assertRefused(
        await docker.runWith({ DOCKER_API_VERSION: "1.20" }, "ps"),
        1,
        new RegExp(
          `client version 1.20 is too old. Minimum supported API version is ${MIN_API_VERSION}`,
        ),
      );

      const info = await docker.json<Record<string, unknown>>("info", "--format", "{{json .}}");
      assert.equal(info.ServerVersion, CORRAL_VERSION);
      assert.equal(info.OSType, "linux");
      assert.equal(info.Images, 1);
      assert.ok((info.MemTotal as number) > 0, "Total Memory");
      assert.equal((info.Swarm as { LocalNodeState: string }).LocalNodeState, "inactive");

      // run --rm: the output, the exit code, nothing left.
      const hi = await docker.run("run", "--rm", "busybox", "sh", "-c", "echo hi; exit 3");
      assert.equal(hi.code, 3);
      assert.equal(hi.stdout, "hi\n");
      assert.equal(await docker.ok("ps", "-aq"), "");

      // on-failure:2 gives up after two restarts.
      const rf = await docker.ok(
        "run",
        "-d",
        "--name",
        "rf",
        "--label",
        "suite=cli",
        "--restart",
        "on-failure:2",
        "busybox",
        "sh",
        "-c",
        "exit 1",
      );
      const rfState = () => docker.ok("inspect", "-f", "{{.State.Status}} {{.RestartCount}}", "rf");
      await d.until(async () => await rfState() === "exited 2", 15_000, "rf to give up");
      await sleep(1000);
      assert.equal(await rfState(), "exited 2", "no third restart");

      await docker.ok("create", "--name", "idle", "busybox", "true");
      const names = (...filters: string[]) =>
        docker.lines(
          "ps",
          "-a",
          ...filters.flatMap((f) => ["--filter", f]),
          "--format",
          "{{.Names}}",
        );
      assert.deepEqual(await names("status=exited"), ["rf"]);
      assert.deepEqual(await names("status=created"), ["idle"]);
      assert.deepEqual(await names("name=idl"), ["idle"]);
      assert.deepEqual(await names("label=suite=cli"), ["rf"]);
      assert.deepEqual(await names("label=suite"), ["rf"]);
      assert.deepEqual(await names("label=suite=other"), []);
      assert.deepEqual(await names("status=exited", "name=idle"), []);
      assert.deepEqual(await docker.lines("ps", "--format", "{{.Names}}"), [], "nothing runs");
      assertRefused(await docker.run("ps", "--filter", "volume=x"), 1, /invalid filter/);

      const images = await docker.lines("images", "--format", "{{.Repository}}:{{.Tag}} {{.ID}}");
      assert.equal(images.length, 1);
      assert.match(images[0], /^busybox:latest [0-9a-f]{12}$/);
      // Names with a registry and a path work wherever a name goes.
      await docker.ok("tag", "busybox", "example.com/team/app:1");
      assert.equal(
        await docker.ok("run", "--rm", "example.com/team/app:1", "echo", "tagged"),
        "tagged",
      );
      assert.match(
        await docker.ok("image", "inspect", "-f", "{{.Id}}", "example.com/team/app:1"),
        /^sha256:[0-9a-f]{64}$/,
      );
      // The tests never leave the machine (LOOPBACK_ONLY): the push fails as unreachable.
      assertRefused(
        await docker.run("push", "example.com/team/app:1"),
        1,
        /registry example\.com unreachable/,
      );
      await docker.ok("rmi", "example.com/team/app:1");

      // The inspect fields scripts read.
      const ins = await docker.inspect("rf");
      assert.equal(ins.Id, rf);
      assert.equal(ins.Name, "/rf");
      assert.equal(ins.Path, "sh");
      assert.deepEqual(ins.Args, ["-c", "exit 1"]);
      assert.ok(!Number.isNaN(Date.parse(ins.Created)));
      assert.match(ins.Image as string, /^sha256:[0-9a-f]{64}$/);
      assert.equal(ins.Config.Image, "busybox");
      assert.deepEqual(ins.Config.Cmd, ["sh", "-c", "exit 1"]);
      assert.ok(ins.Config.Env.some((e) => e.startsWith("PATH=")));
      assert.deepEqual(ins.Config.Labels, { suite: "cli" });
      assert.equal(ins.State.Status, "exited");
      assert.equal(ins.State.Running, false);
      assert.equal(ins.State.ExitCode, 1);
      assert.ok(Date.parse(ins.State.FinishedAt) >= Date.parse(ins.State.StartedAt));
      assert.deepEqual(ins.HostConfig.RestartPolicy, { Name: "on-failure", MaximumRetryCount: 2 });
      assert.equal(ins.RestartCount, 2);
      assert.ok(existsSync(ins.LogPath), "LogPath exists");

      // Refused, clearly, and nothing created.
      for (
        const [flags, words] of [
          [["--link", "db:db"], /Links is not supported by corral/],
          [["--cpu-rt-runtime", "100"], /CpuRealtimeRuntime is not supported by corral/],
        ] as const
      ) {
        const r = await docker.run("run", "--name", "bad", ...flags, "busybox", "true");
        assertRefused(r, 125, words);
      }
      assert.deepEqual(await names("name=bad"), []);
      // Docker Hub is never reached from the tests (LOOPBACK_ONLY): a clear error, not a hang.
      assertRefused(await docker.run("pull", "alpine:3.19"), 1, /registry docker\.io unreachable/);
      assertRefused(await docker.run("update", "--blkio-weight", "300", "rf"), 1, /BlkioWeight/);

      // Bind mounts: host content inside, read-only honoured, writes back, live, nothing left.
      const host = join(d.dir, "shared");
      await Deno.mkdir(host);
      await Deno.writeTextFile(join(host, "in.txt"), "from host\n");
      const ro = await docker.run(
        "run",
        "--rm",
        "-v",
        `${host}:/data:ro`,
        "busybox",
        "sh",
        "-c",
        "cat /data/in.txt; echo x > /data/out.txt",
      );
      assert.equal(ro.stdout, "from host\n");
      assert.notEqual(ro.code, 0);
      assert.match(ro.stderr, /Read-only file system/);
      assert.ok(!existsSync(join(host, "out.txt")));
      const rw = await docker.run(
        "run",
        "--rm",
        "-v",
        `${host}:/data`,
        "busybox",
        "sh",
        "-c",
        "echo inside > /data/out.txt",
      );
      assert.equal(rw.code, 0, rw.stderr);
      assert.equal(await Deno.readTextFile(join(host, "out.txt")), "inside\n");
      await docker.ok(
        "run",
        "-d",
        "--name",
        "bm",
        "-v",
        `${host}:/data:ro`,
        "busybox",
        "sleep",
        "60",
      );
      await Deno.writeTextFile(join(host, "late.txt"), "late\n");
      assert.equal(await docker.ok("exec", "bm", "cat", "/data/late.txt"), "late");
      const mounts = (await docker.inspect("bm")).Mounts as Record<string, unknown>[];
      assert.deepEqual(
        mounts.map((m) => [m.Type, m.Source, m.Destination, m.RW]),
        [["bind", host, "/data", false]],
      );
      await docker.ok("rm", "-f", "bm");
      assert.deepEqual(mountsUnder(d.dir), [], "no mount left after rm");
      assert.ok(!Deno.readTextFileSync("/proc/self/mountinfo").includes(host));
    }),
);

Deno.test(
  "docker CLI: logs, exec, top, rename, update, stop, wait, events, rm -f, prune",
  cliTest,
  () =>
    withDaemon(async (d) => {
      const docker = new Docker(d);
      // docker sends --since/--until as whole seconds.
      const since = Math.floor(Date.now() / 1000) - 1;
      const id = await docker.ok(
        "run",
        "-d",
        "--name",
        "stub",
        "busybox",
        "sh",
        "-c",
        "trap '' TERM; echo one; echo two; echo three; while :; do sleep 1; done",
      );
      await d.until(
        async () => (await docker.ok("logs", "stub")).includes("three"),
        10_000,
        "logs",
      );
      assert.equal((await docker.run("logs", "--tail", "2", "stub")).stdout, "two\nthree\n");
      assert.match(
        await docker.ok("logs", "--tail", "1", "--timestamps", "stub"),
        /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z three$/,
      );

      const ex = await docker.run("exec", "stub", "sh", "-c", "echo in; echo err >&2; exit 4");
      assert.deepEqual([ex.code, ex.stdout, ex.stderr], [4, "in\n", "err\n"]);

      const pid = await docker.ok("inspect", "-f", "{{.State.Pid}}", "stub");
      assert.ok(Number(pid) > 0);
      const top = await docker.lines("top", "stub");
      assert.match(top[0], /^UID\s+PID\s+PPID\s+C\s+STIME\s+TTY\s+TIME\s+CMD$/);
      const init = top.slice(1).map((l) => l.split(/\s+/)).find((cols) => cols[1] === pid);
      assert.ok(init, `the init (${pid}) is listed:\n${top.join("\n")}`);
      assert.equal(
        init.slice(7).join(" "),
        "sh -c trap '' TERM; echo one; echo two; echo three; while :; do sleep 1; done",
      );
      assertRefused(
        await docker.run("top", "stub", "aux"),
        1,
        /ps options "aux" are not supported/,
      );

      await docker.ok("rename", "stub", "stubborn");
      assert.equal(await docker.ok("inspect", "-f", "{{.Name}}", id), "/stubborn");
      assertRefused(await docker.run("inspect", "stub"), 1, /No such object: stub/);

      // update: the policy, and limits applied to the running container at once.
      await docker.ok("update", "--restart", "always", "stubborn");
      await docker.ok("update", "--memory", "64m", "--pids-limit", "40", "stubborn");
      const hc = await docker.ok(
        "inspect",
        "-f",
        "{{.HostConfig.RestartPolicy.Name}} {{.HostConfig.Memory}} {{.HostConfig.PidsLimit}}",
        "stubborn",
      );
      assert.equal(hc, `always ${64 << 20} 40`, "one update leaves the other's fields alone");
      assert.equal(d.cgroupFile(id, ["pids.max"]), "40");
      assert.equal(
        d.cgroupFile(id, ["memory.max", "memory.limit_in_bytes"]),
        String(64 << 20),
      );

      // stop -t 1 on a container ignoring SIGTERM: SIGKILL after 1 s, and no restart.
      const t0 = Date.now();
      await docker.ok("stop", "-t", "1", "stubborn");
      const took = Date.now() - t0;
      assert.ok(took >= 900 && took < 6000, `stop took ${took} ms`);
      assert.equal(await docker.ok("wait", "stubborn"), "137");
      await sleep(300);
      assert.equal(
        await docker.ok("inspect", "-f", "{{.State.Status}} {{.State.ExitCode}}", "stubborn"),
        "exited 137",
        "a stopped container is not restarted by its policy",
      );
      await docker.ok("rm", "stubborn");

      // Events of the finished container; --until must lie in the past for the stream to end.
      const until = Math.ceil(Date.now() / 1000);
      await sleep(until * 1000 - Date.now() + 50);
      const events = (await docker.lines(
        "events",
        "--since",
        String(since),
        "--until",
        String(until),
        "--filter",
        `container=${id}`,
        "--format",
        "{{json .}}",
      )).map((l) =>
        JSON.parse(l) as { Action: string; Actor: { Attributes: Record<string, string> } }
      );
      const actions = events.map((e) => e.Action);
      const expected = [
        "create",
        "start",
        "rename",
        "update",
        "kill",
        "kill",
        "die",
        "stop",
        "destroy",
      ];
      let at = 0;
      for (const a of actions) if (a === expected[at]) at++;
      assert.equal(at, expected.length, `events in order ${expected}: got ${actions}`);
      assert.deepEqual(
        events.filter((e) => e.Action === "kill").map((e) => e.Actor.Attributes.signal),
        ["15", "9"],
      );
      assert.equal(events.find((e) => e.Action === "die")?.Actor.Attributes.exitCode, "137");

      // rm -f of a running container.
      await docker.ok("run", "-d", "--name", "doomed", "busybox", "sleep", "60");
      await docker.ok("rm", "-f", "doomed");
      assert.equal(await docker.ok("ps", "-aq", "--filter", "name=doomed"), "");

      // container prune: stopped ones only, with label and until filters.
      const keep = await docker.ok(
        "create",
        "--name",
        "keep",
        "--label",
        "keep=1",
        "busybox",
        "true",
      );
      const gone = await docker.ok(
        "run",
        "-d",
        "--name",
        "gone",
        "busybox",
        "sh",
        "-c",
        "echo data > /file",
      );
      assert.equal(await docker.ok("wait", "gone"), "0");
      const alive = await docker.ok("run", "-d", "--name", "alive", "busybox", "sleep", "60");
      const none = await docker.ok("container", "prune", "-f", "--filter", "until=1h");
      assert.match(none, /Total reclaimed space: 0B/);
      assert.doesNotMatch(none, /[0-9a-f]{64}/, "nothing was created an hour ago");
      const pruned = await docker.ok("container", "prune", "-f", "--filter", "label!=keep");
      assert.ok(pruned.includes(gone), pruned);
      assert.ok(!pruned.includes(keep) && !pruned.includes(alive), pruned);
      assert.match(pruned, /Total reclaimed space: 5B/, "the 5 bytes gone wrote");
      assert.deepEqual(
        (await docker.lines("ps", "-a", "--format", "{{.Names}}")).sort(),
        ["alive", "keep"],
      );
      assertRefused(
        await docker.run("container", "prune", "-f", "--filter", "bogus=1"),
        1,
        /invalid filter "bogus"/,
      );
    }),
);

Deno.test(
  "docker CLI: run -p answers on 127.0.0.1, docker port, network create/ls/inspect/connect/disconnect/rm/prune",
  cliTest,
  () =>
    withDaemon(async (d) => {
      const docker = new Docker(d);
      const port = freePort();
      const web = (await docker.ok(
        "run",
        "-d",
        "--name",
        "web",
        "-p",
        `${port}:80`,
        "busybox",
        "httpd",
        "-f",
        "-p",
        "80",
        "-h",
        "/etc",
      )).trim();
      assert.equal(await httpGet(port, "hostname"), `${web.slice(0, 12)}\n`);
      assert.match(
        await docker.ok("port", "web"),
        new RegExp(`^80/tcp -> 0\\.0\\.0\\.0:${port}$`, "m"),
      );
      assert.match(await docker.ok("ps"), new RegExp(`0\\.0\\.0\\.0:${port}->80/tcp`));

      const netId = (await docker.ok("network", "create", "--label", "suite=cli", "appnet")).trim();
      assert.match(netId, /^[0-9a-f]{64}$/);
      await docker.ok(
        "run",
        "-d",
        "--name",
        "db",
        "--network",
        "appnet",
        "--network-alias",
        "database",
        "busybox",
        "sleep",
        "60",
      );
      await docker.ok(
        "run",
        "-d",
        "--name",
        "app",
        "--network",
        "appnet",
        "busybox",
        "sleep",
        "60",
      );
      await docker.ok("exec", "app", "ping", "-c1", "-W2", "database");
      await docker.ok("network", "connect", "appnet", "web");
      await docker.ok("exec", "web", "ping", "-c1", "-W2", "db");
      const [inspected] = await docker.json<
        {
          Name: string;
          Labels: Record<string, string>;
          Containers: Record<string, { Name: string }>;
        }[]
      >(
        "network",
        "inspect",
        "appnet",
      );
      assert.equal(inspected.Labels.suite, "cli");
      assert.deepEqual(Object.values(inspected.Containers).map((c) => c.Name).sort(), [
        "app",
        "db",
        "web",
      ]);
      await docker.ok("network", "disconnect", "appnet", "web");
      assert.match(
        await docker.ok("network", "ls", "--filter", "label=suite=cli"),
        /appnet\s+bridge\s+local/,
      );
      assertRefused(await docker.run("network", "rm", "appnet"), 1, /has active endpoints/);
      await docker.ok("rm", "-f", "db", "app", "web");
      assert.match(await docker.ok("network", "prune", "-f"), /appnet/);
      assert.doesNotMatch(await docker.ok("network", "ls"), /appnet/);
    }, { network: true }),
);
