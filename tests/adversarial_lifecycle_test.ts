/**
 * The adversarial set for the lifecycle core (issue 12): what a hostile or
 * unlucky user did to a daemon, kept fixed. The daemon must answer /_ping
 * after every one of them.
 */
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { Docker, dockerTestOptions } from "./docker.ts";
import { CORRAL, integration, sleep, type TestDaemon, withDaemon } from "./harness.ts";

/** The daemon is still there and answering. */
async function assertAlive(d: TestDaemon): Promise<void> {
  const res = await d.api.request("GET", "/_ping");
  assert.equal(await res.text(), "OK", "the daemon answers /_ping");
}

/** Start a CLI call without waiting for it. */
function spawnCli(d: TestDaemon, ...args: string[]): Deno.ChildProcess {
  return new Deno.Command(CORRAL[0], {
    args: [...CORRAL.slice(1), "-H", d.host, ...args],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
}

/** Resolve with `p`, or fail after `ms`: a hang is a failure, not a stuck suite. */
async function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([p, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Files under `dir` whose name marks an atomic write's temp file. */
function tempFilesUnder(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of Deno.readDirSync(d)) {
      const p = join(d, e.name);
      if (e.isDirectory && e.name !== "upper" && e.name !== "layers") walk(p);
      else if (e.isFile && e.name.includes(".tmp-")) out.push(p);
    }
  };
  walk(dir);
  return out;
}

Deno.test(
  "kill and rm -f interrupt a stop that waits out its timeout",
  integration,
  () =>
    withDaemon(async (d) => {
      // A lone `sleep` as pid 1 has no handler: SIGTERM does nothing to it.
      const a = await d.ok("run", "-d", "busybox", "sleep", "600");
      const stop = spawnCli(d, "stop", "-t", "3600", a);
      await d.until(() => stopWaiting(d, a), 10_000, "the stop signal");
      const t0 = performance.now();
      await within(d.ok("kill", a), 15_000, "kill during a stop");
      assert.ok(performance.now() - t0 < 10_000, "kill did not wait for the stop's timeout");
      assert.equal((await d.inspect(a)).State.Status, "exited", "kill returns once it exited");
      assert.equal((await within(stop.output(), 15_000, "the interrupted stop")).code, 0);
      assert.equal((await d.inspect(a)).State.ExitCode, 137);

      const b = await d.ok("run", "-d", "busybox", "sleep", "600");
      // t=-1: the API's endless stop.
      const endless = d.api.request("POST", `/containers/${b}/stop?t=-1`);
      await d.until(() => stopWaiting(d, b), 10_000, "the stop signal");
      await within(d.ok("rm", "-f", b), 15_000, "rm -f during a stop");
      assert.equal((await d.cli("inspect", b)).code, 1, "removed");
      await (await within(endless, 15_000, "the stop that rm -f interrupted")).body?.cancel();
      await assertAlive(d);
    }),
);

/** Whether the stop signal went out to `id` (its stop is then waiting out the timeout). */
async function stopWaiting(d: TestDaemon, id: string): Promise<boolean> {
  return (await d.pastEvents("1m", `container=${id}`, "event=kill")).length > 0;
}

Deno.test(
  "a container that fills the root's disk can still be stopped, killed and removed",
  integration,
  async () => {
    await withDaemon(async (d) => {
      await Deno.mkdir(d.root, { recursive: true });
      await mount(["-t", "tmpfs", "-o", "size=48m", "tmpfs", d.root]);
      try {
        await d.start();
        const victim = await d.ok("run", "-d", "busybox", "sleep", "600");
        const filler = await d.ok(
          "run",
          "-d",
          "busybox",
          "sh",
          "-c",
          "dd if=/dev/zero of=/fill bs=64k; sleep 600",
        );
        await d.until(() => freeBytes(d.root) < 256 * 1024, 20_000, "a full disk");

        const stopped = await within(
          d.cli("stop", "-t", "1", filler),
          20_000,
          "stop on a full disk",
        );
        assert.equal(stopped.code, 0, stopped.stderr);
        assert.equal((await d.inspect(filler)).State.Status, "exited");
        const killed = await within(d.cli("kill", victim), 20_000, "kill on a full disk");
        assert.equal(killed.code, 0, killed.stderr);
        assert.equal((await d.inspect(victim)).State.Status, "exited");
        // Writes are retried while the disk is full, each through a temp file of its own: one
        // seen twice, half a second apart, was left behind.
        const seen = new Set(tempFilesUnder(d.root));
        await sleep(500);
        const left = tempFilesUnder(d.root).filter((f) => seen.has(f));
        assert.deepEqual(left, [], "no temp file of a failed write is left");
        assert.match(await d.log(), /retrying until it lands/, "the failed writes are reported");

        // rm -f frees the disk; the state writes that failed then land.
        const removed = await within(d.cli("rm", "-f", filler), 20_000, "rm -f on a full disk");
        assert.equal(removed.code, 0, removed.stderr);
        const stateFile = join(d.root, "containers", victim, "state.json");
        await d.until(
          async () => JSON.parse(await Deno.readTextFile(stateFile)).State.Status === "exited",
          15_000,
          "the retried state write",
        );
        await assertAlive(d);
        await d.ok("rm", "-f", victim);
        await d.stop();
      } finally {
        await d.stop().catch(() => {});
        await new Deno.Command("umount", { args: ["-l", d.root] }).output();
      }
    }, { start: false });
  },
);

async function mount(args: string[]): Promise<void> {
  const out = await new Deno.Command("mount", { args }).output();
  if (!out.success) {
    throw new Error(`mount ${args.join(" ")}: ${new TextDecoder().decode(out.stderr)}`);
  }
}

function freeBytes(path: string): number {
  const out = new Deno.Command("stat", { args: ["-f", "-c", "%a %S", path] }).outputSync();
  const [blocks, size] = new TextDecoder().decode(out.stdout).trim().split(" ").map(Number);
  return blocks * size;
}

Deno.test(
  "creating a container with 60,000 variables does not block other requests",
  integration,
  () =>
    withDaemon(async (d) => {
      const env = Array.from({ length: 60_000 }, (_, i) => `VAR_${i}=value-${i}`);
      let creating = true;
      let worstPingMs = 0;
      const pinger = (async () => {
        while (creating) {
          const t = performance.now();
          const res = await d.api.request("GET", "/_ping").catch(() => null);
          await res?.text();
          worstPingMs = Math.max(worstPingMs, res ? performance.now() - t : Infinity);
          await sleep(20);
        }
      })();
      const t0 = performance.now();
      const { Id } = await d.api.json<{ Id: string }>("POST", "/containers/create", {
        Image: "busybox",
        Cmd: ["sh", "-c", 'echo "$VAR_59999"'],
        Env: env,
      });
      const createMs = performance.now() - t0;
      creating = false;
      await pinger;
      // Sanity bounds, not a benchmark: the quadratic merge took 72 s.
      assert.ok(createMs < 10_000, `create took ${Math.round(createMs)} ms`);
      assert.ok(worstPingMs < 2_000, `a /_ping waited ${Math.round(worstPingMs)} ms`);
      await d.ok("start", Id);
      assert.equal(await d.ok("wait", Id), "0");
      assert.equal(await d.ok("logs", Id), "value-59999");

      // Beyond what execve takes: one clear 400, nothing created.
      const big = Array.from({ length: 30_000 }, (_, i) => `BIG_${i}=${"x".repeat(100)}`);
      const res = await d.api.request("POST", "/containers/create", { Image: "busybox", Env: big });
      assert.equal(res.status, 400);
      assert.match((await res.json()).message, /too large/);
      assert.equal((await d.api.json<unknown[]>("GET", "/containers/json?all=1")).length, 1);
      await assertAlive(d);
    }),
);

Deno.test(
  "run --rm of a command that cannot start exits with its code and removes the container",
  integration,
  () =>
    withDaemon(async (d) => {
      const r = await within(
        d.cli("run", "--rm", "busybox", "/no/such/binary"),
        30_000,
        "run --rm",
      );
      assert.equal(r.code, 127, r.stderr);
      assert.equal(r.stderr.trim().split("\n").length, 1, `one line: ${r.stderr}`);
      assert.equal(await d.ok("ps", "-a", "-q"), "", "the --rm container is gone");

      // Through the API, the way the docker CLI does it: wait for removal, then start.
      const { Id } = await d.api.json<{ Id: string }>("POST", "/containers/create", {
        Image: "busybox",
        Cmd: ["/no/such/binary"],
        HostConfig: { AutoRemove: true },
      });
      const removed = d.api.json<{ StatusCode: number }>(
        "POST",
        `/containers/${Id}/wait?condition=removed`,
      );
      const start = await d.api.request("POST", `/containers/${Id}/start`);
      assert.ok(start.status >= 400);
      await start.body?.cancel();
      assert.equal((await within(removed, 15_000, "wait?condition=removed")).StatusCode, 127);
      await assertAlive(d);
    }),
);

Deno.test(
  "docker run --rm of a command that cannot start does not hang",
  dockerTestOptions("adversarial_lifecycle_test.ts"),
  () =>
    withDaemon(async (d) => {
      const docker = new Docker(d);
      const r = await within(
        docker.run("run", "--rm", "busybox", "/no/such/binary"),
        30_000,
        "docker run --rm",
      );
      assert.equal(r.code, 127, r.stderr);
      assert.equal(await d.ok("ps", "-a", "-q"), "");
    }),
);

Deno.test(
  "restore keeps unloadable and colliding containers visible, managed and removable",
  integration,
  () =>
    withDaemon(async (d) => {
      const truncated = await d.ok("run", "-d", "--name", "truncated", "busybox", "sleep", "600");
      const shaped = await d.ok("create", "--name", "shaped", "busybox", "true");
      const twin = await d.ok("create", "--name", "twin", "busybox", "true");
      const other = await d.ok("create", "--name", "other", "busybox", "true");
      const pid = (await d.inspect(truncated)).State.Pid;
      await d.kill9();
      const dir = (id: string) => join(d.root, "containers", id);
      const config = await Deno.readTextFile(join(dir(truncated), "config.json"));
      await Deno.writeTextFile(join(dir(truncated), "config.json"), config.slice(0, 40));
      await Deno.writeTextFile(join(dir(shaped), "hostconfig.json"), '{"RestartPolicy":"always"}');
      // Two records with one name, as a crash in the middle of a rename could leave.
      const otherConfig = JSON.parse(await Deno.readTextFile(join(dir(other), "config.json")));
      otherConfig.Name = "twin";
      await Deno.writeTextFile(join(dir(other), "config.json"), JSON.stringify(otherConfig));
      await Deno.writeTextFile(join(dir(other), "state.json.tmp-1-dead"), "");
      await d.start();

      const log = await d.log();
      assert.match(log, new RegExp(`${truncated} cannot be loaded`));
      assert.match(log, new RegExp(`${shaped} cannot be loaded: hostconfig\\.json`));
      assert.match(log, /name twin is taken/);
      assert.ok(!existsSync(join(dir(other), "state.json.tmp-1-dead")), "stale temp removed");

      // The unloadable running container is listed, its process still managed.
      const listed = await d.api.json<{ Id: string }[]>("GET", "/containers/json?all=1");
      const ids = listed.map((c) => c.Id);
      for (const id of [truncated, shaped, twin, other]) assert.ok(ids.includes(id), id);
      assert.match((await d.inspect(truncated)).State.Error, /cannot be loaded/);
      assert.equal((await d.inspect(truncated)).State.Status, "running");
      assert.equal((await d.inspect(twin)).Name, "/twin");
      assert.match((await d.inspect(other)).Name, /^\/twin-/);
      assert.equal(
        (await d.cli("start", shaped)).code,
        1,
        "an unloadable container is not started",
      );
      await d.ok("rm", "-f", truncated);
      assert.ok(!existsSync(`/proc/${pid}`), "rm -f killed its process");
      assert.ok(!existsSync(dir(truncated)));
      await d.ok("rm", shaped);
      await assertAlive(d);
    }),
);

Deno.test(
  "the daemon refuses a runtime that cannot run, creating nothing",
  integration,
  () =>
    withDaemon(async (d) => {
      await assert.rejects(
        d.start(["--runtime", "/no/such/runtime"]),
        /OCI runtime .*cannot be run/,
      );
      d.proc = null;
      assert.ok(!existsSync(d.root), "no root made");
    }, { start: false }),
);

Deno.test(
  "values Docker refuses are a 400 at create and update, never a 500 later",
  integration,
  () =>
    withDaemon(async (d) => {
      const bad: [Record<string, unknown>, RegExp][] = [
        [{ HostConfig: { Memory: 1e23 } }, /invalid Memory/],
        [{ HostConfig: { NanoCpus: 1e30 } }, /Range of CPUs/],
        [{ HostConfig: { PidsLimit: 1.5 } }, /invalid PidsLimit/],
        [{ User: "99999999999999" }, /uids and gids go from 0/],
        [{ WorkingDir: "rel/dir" }, /needs to be an absolute path/],
        [{ Labels: ["a"] }, /Labels must be an object/],
        [{ Healthcheck: { Test: ["CMD", "true"], Interval: 1 } }, /Interval .* less than 1ms/],
        [{ Healthcheck: { Test: ["CMD", "true"], Timeout: -5 } }, /Timeout .* less than 1ms/],
        [{ StopTimeout: 1.5 }, /invalid StopTimeout/],
        [{ HostConfig: { Binds: ["/tmp:/"] } }, /destination can't be '\/'/],
        [{ HostConfig: { Binds: ["/tmp:/a/.."] } }, /destination can't be '\/'/],
      ];
      for (const [body, message] of bad) {
        const res = await d.api.request("POST", "/containers/create", {
          Image: "busybox",
          Cmd: ["true"],
          ...body,
        });
        const text = await res.text();
        assert.equal(res.status, 400, `${JSON.stringify(body)}: ${text}`);
        assert.match(JSON.parse(text).message, message);
      }
      assert.equal((await d.api.json<unknown[]>("GET", "/containers/json?all=1")).length, 0);
      const long = await d.cli("create", "--name", "n".repeat(300), "busybox", "true");
      assert.match(long.stderr, /300 characters, at most 128/);
      const id = await d.ok("create", "busybox", "true");
      const res = await d.api.request("POST", `/containers/${id}/update`, { Memory: 1e23 });
      assert.equal(res.status, 400);
      await res.body?.cancel();
      // A long stop timeout is a long wait, not an immediate SIGKILL.
      const sleeper = await d.ok(
        "run",
        "-d",
        "--stop-timeout",
        "3000000",
        "busybox",
        "sleep",
        "600",
      );
      const stop = spawnCli(d, "stop", sleeper);
      await sleep(1500);
      assert.equal((await d.inspect(sleeper)).State.Status, "running", "still in its stop timeout");
      await d.ok("kill", sleeper);
      await within(stop.output(), 15_000, "the stop");
      await assertAlive(d);
    }),
);

Deno.test(
  "a runtime that fails at create leaks no mount, and rm removes the container",
  integration,
  () =>
    withDaemon(async (d) => {
      // Answers --version like runc, refuses every create and delete (as a
      // runtime that cannot run at all would).
      const runtime = join(d.dir, "failing-runtime");
      await Deno.writeTextFile(
        runtime,
        '#!/bin/sh\ncase " $* " in *" create "*|*" delete "*) echo "create refused" >&2; exit 1;; esac\n' +
          'exec runc "$@"\n',
        { mode: 0o755 },
      );
      await d.start(["--runtime", runtime]);
      const r = await d.cli("run", "--name", "doomed", "busybox", "true");
      assert.notEqual(r.code, 0);
      assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
      const st = (await d.inspect("doomed")).State;
      assert.equal(st.Status, "exited", "cleaned at once, not left to the gc");
      assert.match(st.Error, /create refused|runc create/);
      assert.deepEqual(d.leaks(), [], "the rootfs mount was released");
      await d.ok("rm", "doomed");
      await assertAlive(d);
    }, { start: false }),
);
