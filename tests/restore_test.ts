/**
 * Restore after a daemon crash (seed 002, behaviour.md §5), on real runc
 * containers and real SIGKILLs of the daemon: live containers are supervised
 * again, exits that happened while the daemon was down keep their real code,
 * half-started containers are cleaned, unloadable directories are kept, and
 * a randomized crash loop checks the invariants after every crash.
 */
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { join } from "node:path";
import type { ApiClient } from "../lib/api/mod.ts";
import type { CorralEvent } from "../lib/events/mod.ts";
import { type ExitFile, isGroupShim } from "../lib/shim/mod.ts";
import { cgroupMounts } from "../lib/runtime/mod.ts";
import { isAlive, mountsUnder } from "../lib/sys/mod.ts";
import {
  type Inspect,
  integration,
  JsonLines,
  processesMentioning,
  sleep,
  type TestDaemon,
  withDaemon,
} from "./harness.ts";

/** The shim's exit file of a container, once the container has exited. */
async function awaitExitFile(d: TestDaemon, id: string): Promise<ExitFile> {
  const path = join(d.state, "containers", id, "exit.json");
  await d.until(() => existsSync(path), 10_000, `exit file of ${id}`);
  return JSON.parse(await Deno.readTextFile(path));
}

/** Subscribe to the die events of one container. */
async function dieEvents(d: TestDaemon, id: string): Promise<JsonLines<CorralEvent>> {
  const filters = encodeURIComponent(JSON.stringify({ event: ["die"], container: [id] }));
  return new JsonLines(await d.api.call("GET", `/events?filters=${filters}`));
}

function runcStateExists(d: TestDaemon, id: string): boolean {
  return existsSync(join(d.state, "runc", id));
}

Deno.test(
  "a running container survives a daemon SIGKILL; after restore stop works and the exit comes through the fifo",
  integration,
  () =>
    withDaemon(async (d) => {
      const id = await d.ok("run", "-d", "--name", "live", "busybox", "sleep", "600");
      const before = await d.inspect(id);
      await d.kill9();
      await d.start();
      const after = await d.inspect(id);
      assert.equal(after.State.Status, "running");
      assert.equal(after.State.Pid, before.State.Pid);
      assert.equal(after.State.StartTime, before.State.StartTime);
      assert.equal(after.State.StartedAt, before.State.StartedAt, "StartedAt unchanged");
      assert.ok(isAlive({ pid: after.State.Pid, startTime: after.State.StartTime }));

      // A kill from outside the daemon: only the fifo can tell the daemon.
      const events = await dieEvents(d, id);
      Deno.kill(after.State.Pid, "SIGKILL");
      const ev = await events.next();
      assert.ok(ev, "a die event");
      const info = await d.inspect(id);
      assert.equal(ev.Actor.Attributes.exitCode, "137");
      assert.equal(info.State.Status, "exited");
      const latency = ev.timeNano / 1e6 - Date.parse(info.State.FinishedAt);
      assert.ok(latency >= 0 && latency < 500, `exit → die event took ${latency} ms`);

      // The same after a second crash, through `stop` this time.
      await d.ok("start", id);
      const pid = (await d.inspect(id)).State.Pid;
      await events.close();
      await d.kill9();
      await d.start();
      const stopEvents = await dieEvents(d, id);
      await d.ok("stop", "-t", "1", id);
      const stopped = await d.inspect(id);
      assert.equal(stopped.State.Status, "exited");
      assert.equal(stopped.State.ExitCode, 137, "sleep as pid 1 ignores SIGTERM");
      assert.equal((await stopEvents.next())?.Actor.Attributes.exitCode, "137");
      await stopEvents.close();
      assert.ok(!isAlive({ pid, startTime: 0 }) || pid !== stopped.State.Pid);
      assert.deepEqual(d.leaks(), []);
    }),
);

Deno.test(
  "an exit while the daemon is down keeps its real code and time, is cleaned, and restarts once",
  integration,
  () =>
    withDaemon(async (d) => {
      const data = join(d.dir, "data");
      await Deno.mkdir(data);
      const id = await d.ok(
        "run",
        "-d",
        "--restart",
        "on-failure:1",
        "--restart-delay",
        "1500ms",
        "-v",
        `${data}:/data`,
        "busybox",
        "sh",
        "-c",
        "echo run >> /data/runs; sleep 0.5; exit 3",
      );
      await d.kill9();
      const exit = await awaitExitFile(d, id);
      assert.equal(exit.exitCode, 3);
      await d.start();
      const info = await d.inspect(id);
      assert.equal(info.State.ExitCode, 3, "the real exit code, not 255 or 137");
      assert.equal(info.State.FinishedAt, exit.finishedAt, "FinishedAt is the shim's time");
      assert.equal(info.State.Status, "restarting", "the policy restarts it after its delay");
      assert.equal(info.RestartCount, 1);
      assert.deepEqual(d.leaks(), [], "cleaned while waiting to restart");
      // The restarted run exits 3 again; on-failure:1 allows no more.
      await d.until(
        async () => (await d.inspect(id)).State.FinishedAt !== exit.finishedAt,
        10_000,
        "the restarted run to exit",
      );
      await d.untilStatus(id, "exited", 5000);
      const last = await d.inspect(id);
      assert.equal(last.RestartCount, 1);
      assert.equal(last.State.ExitCode, 3);
      assert.equal(await Deno.readTextFile(join(data, "runs")), "run\nrun\n");
    }),
);

Deno.test(
  "a --rm container that exited while the daemon was down is removed at start",
  integration,
  () =>
    withDaemon(async (d) => {
      const id = await d.ok("run", "-d", "--rm", "busybox", "sh", "-c", "sleep 0.3; exit 4");
      await d.kill9();
      await awaitExitFile(d, id);
      await d.start();
      assert.equal(await d.ok("ps", "-a", "-q"), "");
      assert.ok(!existsSync(join(d.root, "containers", id)), "its directory is gone");
      assert.deepEqual(d.leaks(), []);
    }),
);

Deno.test(
  "a daemon killed during a restart backoff wait restarts the container once after restore",
  integration,
  () =>
    withDaemon(async (d) => {
      const data = join(d.dir, "data");
      await Deno.mkdir(data);
      const id = await d.ok(
        "run",
        "-d",
        "--restart",
        "on-failure:1",
        "--restart-delay",
        "2s",
        "-v",
        `${data}:/data`,
        "busybox",
        "sh",
        "-c",
        "echo run >> /data/runs; sleep 0.2; exit 1",
      );
      await d.untilStatus(id, "restarting");
      await d.kill9();
      await d.start();
      const info = await d.inspect(id);
      assert.equal(info.State.Status, "restarting");
      assert.equal(info.RestartCount, 1, "the restart was counted once, before the wait");
      await d.until(
        async () => (await Deno.readTextFile(join(data, "runs"))) === "run\nrun\n",
        10_000,
        "the second run",
      );
      await d.untilStatus(id, "exited");
      await sleep(2500);
      const last = await d.inspect(id);
      assert.equal(last.State.Status, "exited", "on-failure:1: no further restart");
      assert.equal(last.RestartCount, 1);
      assert.equal(await Deno.readTextFile(join(data, "runs")), "run\nrun\n");
    }),
);

Deno.test(
  "a daemon killed between runc create and runc start leaves nothing half-started",
  integration,
  () =>
    withDaemon(async (d) => {
      // A runtime that holds `start` while the hold file exists, then gives
      // it up if the abandon file exists: the daemon died before runc start ran.
      const hold = join(d.dir, "hold");
      const abandon = join(d.dir, "abandon");
      const atStart = join(d.dir, "at-start");
      const wrapper = join(d.dir, "runtime.sh");
      await Deno.writeTextFile(
        wrapper,
        `#!/bin/sh
for a; do
  if [ "$a" = start ]; then
    touch '${atStart}'
    while [ -e '${hold}' ]; do sleep 0.05; done
    if [ -e '${abandon}' ]; then exit 1; fi
  fi
done
exec runc "$@"
`,
        { mode: 0o755 },
      );
      await Deno.writeTextFile(hold, "");
      await Deno.writeTextFile(abandon, "");
      await d.start(["--runtime", wrapper]);
      const id = await d.ok("create", "--name", "half", "busybox", "sleep", "600");
      const starting = d.cli("start", id);
      await d.until(() => existsSync(atStart), 10_000, "runc start");
      const mid = await d.inspect(id);
      assert.ok(mid.State.Pid > 0, "the pids are persisted before runc start");
      assert.ok(runcStateExists(d, id), "runc created the container");
      await d.kill9();
      assert.equal((await starting).code, 1);
      await Deno.remove(hold);
      // The wrapper runs as `sh runtime.sh --root …`; the shim only names it in `--runtime`.
      await d.until(
        () => processesMentioning(`${wrapper} --root`).length === 0,
        5000,
        "the wrapper to end",
      );
      await Deno.remove(abandon);
      await d.start(["--runtime", wrapper]);
      const info = await d.inspect(id);
      assert.equal(info.State.Status, "exited");
      assert.equal(info.State.ExitCode, 125);
      assert.match(info.State.Error, /between create and start/);
      assert.ok(!isAlive({ pid: mid.State.Pid, startTime: mid.State.StartTime }), "init killed");
      // A group shim, its only container gone, leaves after its idle time.
      const shim = { pid: mid.State.PPid, startTime: mid.State.PStartTime };
      await d.until(() => !isAlive(shim), 5000, "the shim gone");
      assert.ok(!runcStateExists(d, id), "no runc state");
      assert.deepEqual(mountsUnder(d.dir), [], "no mount");
      assert.deepEqual(d.leaks(), []);
      // Not damaged: it starts normally afterwards.
      await d.ok("start", id);
      assert.equal(await d.status(id), "running");
    }, { start: false }),
);

Deno.test(
  "a corrupt container directory is reported, kept and listed; a missing image blocks start and deletes nothing",
  integration,
  () =>
    withDaemon(async (d) => {
      const bad = await d.ok("create", "--name", "bad", "busybox", "true");
      const good = await d.ok("run", "-d", "--name", "good", "busybox", "sleep", "600");
      const noimg = await d.ok("create", "--name", "noimg", "busybox", "true");
      await d.stop();
      const badConfig = join(d.root, "containers", bad, "config.json");
      await Deno.writeTextFile(badConfig, '{"Id": "truncat');
      await d.start();
      assert.match(await d.log(), new RegExp(`${bad}.*config\\.json|config\\.json.*${bad}`));
      // Listed under its id (its name was in the lost config), with the reason.
      assert.match((await d.inspect(bad)).State.Error, /config cannot be loaded: config\.json/);
      assert.equal(await d.status(good), "running", "the others restore");
      assert.equal(await Deno.readTextFile(badConfig), '{"Id": "truncat', "kept as it was");
      const refused = await d.cli("start", bad);
      assert.equal(refused.code, 1);
      assert.match(refused.stderr, /cannot be used: .*remove it with rm -f/);
      assert.equal(await Deno.readTextFile(badConfig), '{"Id": "truncat', "start changed nothing");
      await d.ok("create", "--name", "bad", "busybox", "true");
      assert.ok(existsSync(join(d.root, "containers", bad)));

      // The image disappears (its metadata deleted while the daemon is down).
      const imageId = (await d.inspect(noimg)).Image;
      await d.stop();
      await Deno.remove(join(d.root, "images", "meta", `${imageId.slice(7)}.json`));
      await d.start(["--no-default-image"]);
      const info = await d.inspect(noimg);
      assert.match(info.State.Error, /image .* is missing/);
      assert.equal(info.State.Status, "created");
      const r = await d.cli("start", noimg);
      assert.equal(r.code, 1);
      assert.match(r.stderr, /image .* is missing/);
      assert.equal(r.stderr.trim().split("\n").length, 1, "one clear line");
      assert.ok(existsSync(join(d.root, "containers", noimg, "config.json")), "nothing deleted");
      assert.equal(await d.status(good), "running", "a running one keeps running");
      await d.ok("rm", "-f", bad);
      assert.ok(!existsSync(join(d.root, "containers", bad)), "rm removes an unloadable container");
    }),
);

// ---- crash-consistency loop ------------------------------------------------

/** mulberry32: a small seeded PRNG, so a failing run can be replayed. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Tracked {
  id: string;
  /** An rm of it completed (the API answered 204). */
  removed: boolean;
}

const COMMANDS = [
  ["sleep", "600"],
  ["sh", "-c", "sleep 0.2; exit 3"],
  ["sh", "-c", "trap 'exit 0' TERM; while :; do sleep 0.05; done"],
  ["true"],
];

/** One random operation; resolves when the API answered (errors are expected). */
function randomOp(
  api: ApiClient,
  rand: () => number,
  tracked: Tracked[],
  n: number,
): Promise<void> {
  const pick = <T>(xs: T[]) => xs[Math.floor(rand() * xs.length)];
  const ignore = () => {};
  const live = tracked.filter((t) => !t.removed);
  if (live.length < 4 || rand() < 0.1) {
    const policy = pick(["no", "no", "always", "on-failure"]);
    const start = rand() < 0.7;
    return api.json<{ Id: string }>("POST", `/containers/create?name=c${n}`, {
      Image: "busybox",
      Cmd: pick(COMMANDS),
      HostConfig: { RestartPolicy: { Name: policy, MaximumRetryCount: 0 } },
    }).then(({ Id }) => {
      tracked.push({ id: Id, removed: false });
      if (start) return api.call("POST", `/containers/${Id}/start`).then(ignore);
    }).catch(ignore);
  }
  const t = pick(live);
  const path = `/containers/${t.id}`;
  switch (pick(["start", "start", "stop", "kill", "rm", "restart"])) {
    case "start":
      return api.call("POST", `${path}/start`).then(ignore, ignore);
    case "stop":
      return api.call("POST", `${path}/stop?t=1`).then(ignore, ignore);
    case "kill":
      return api.call("POST", `${path}/kill`).then(ignore, ignore);
    case "restart":
      return api.call("POST", `${path}/restart?t=1`).then(ignore, ignore);
    default:
      return api.call("DELETE", `${path}?force=1`).then(() => {
        t.removed = true;
      }, ignore);
  }
}

/** The container id a shim or runc process of the test dir works for. */
function containerOfProcess(pid: number): string {
  try {
    const argv = Deno.readTextFileSync(`/proc/${pid}/cmdline`).split("\0");
    const i = argv.indexOf("--id");
    return i >= 0 ? argv[i + 1] : argv.at(-2) ?? "";
  } catch {
    return "";
  }
}

/**
 * What contradicts the containers' states: a container marked running
 * without its process, or processes, mounts, runc state or cgroups of a
 * container that is neither running nor about to run (nor in the gc).
 */
async function resourceViolations(d: TestDaemon): Promise<string[]> {
  const out: string[] = [];
  // States first: a transition seen half-way then looks like an allowed one.
  const states = new Map<string, Inspect["State"]>();
  const list = await d.api.json<{ Id: string }[]>("GET", "/containers/json?all=1");
  for (const { Id } of list) {
    const info = await d.inspect(Id).catch(() => null);
    if (info) states.set(Id, info.State);
  }
  const mayHold = (id: string) => {
    const st = states.get(id);
    return !!st && (st.Running || st.Status === "restarting" || st.Status === "gc");
  };
  for (const [id, st] of states) {
    if (st.Running && !isAlive({ pid: st.Pid, startTime: st.StartTime })) {
      out.push(`${id}: ${st.Status} without its process ${st.Pid}`);
    }
  }
  for (const pid of processesMentioning(d.dir)) {
    // A group shim serves many or, idle, none: its containers are checked one by one.
    if (isGroupShim(pid)) continue;
    const id = containerOfProcess(pid);
    if (pid !== d.proc?.pid && !mayHold(id)) {
      out.push(`process ${pid} of ${states.get(id)?.Status ?? "unknown"} container ${id}`);
    }
  }
  for (const m of mountsUnder(d.dir)) {
    const id = m.split("/").at(-2) ?? "";
    if (!mayHold(id)) out.push(`mount ${m} of ${states.get(id)?.Status ?? "unknown"} container`);
  }
  const runcRoot = join(d.state, "runc");
  const cgroups = cgroupMounts().map((m) => join(m, d.cgroupParent));
  for (const dir of [runcRoot, ...cgroups]) {
    try {
      for (const e of Deno.readDirSync(dir)) {
        if (e.isDirectory && !mayHold(e.name)) {
          out.push(`${join(dir, e.name)} of ${states.get(e.name)?.Status ?? "unknown"} container`);
        }
      }
    } catch {
      // Not created yet.
    }
  }
  return out;
}

/** The invariants after a crash and a restore; returns the violations. */
async function violations(d: TestDaemon, tracked: Tracked[]): Promise<string[]> {
  const out: string[] = [];
  const list = await d.api.json<{ Id: string }[]>("GET", "/containers/json?all=1");
  const known = new Set(list.map((c) => c.Id));
  for (const t of tracked) {
    if (t.removed && known.has(t.id)) out.push(`${t.id}: its rm completed, yet it is back`);
    // An rm in flight when the daemon died may have completed; then its directory is gone.
    if (!t.removed && !known.has(t.id) && existsSync(join(d.root, "containers", t.id))) {
      out.push(`${t.id}: known before the crash, not restored`);
    }
  }
  // Exits that restore started, or restarts by policy, settle within a few seconds.
  let resources = await resourceViolations(d);
  const deadline = Date.now() + 5000;
  while (resources.length > 0 && Date.now() < deadline) {
    await sleep(100);
    resources = await resourceViolations(d);
  }
  return [...out, ...resources];
}

/** Random operations, a SIGKILL at a random moment, the invariants after restore; repeated. */
async function crashLoop(d: TestDaemon): Promise<void> {
  const seed = Number(Deno.env.get("CORRAL_CRASH_SEED") ?? Date.now() % 2 ** 31);
  const iterations = Number(Deno.env.get("CORRAL_CRASH_ITERATIONS") ?? 20);
  const rand = prng(seed);
  const tracked: Tracked[] = [];
  let n = 0;
  try {
    for (let i = 0; i < iterations; i++) {
      const killAt = Date.now() + 50 + rand() * 600;
      const pending: Promise<void>[] = [];
      while (Date.now() < killAt) {
        const op = randomOp(d.api, rand, tracked, n++);
        // Some awaited, some still in flight when the daemon dies.
        if (rand() < 0.5) await op;
        else pending.push(op);
        await sleep(rand() * 40);
      }
      await d.kill9();
      await Promise.all(pending);
      await d.start();
      assert.deepEqual(await violations(d, tracked), [], `iteration ${i}`);
    }
  } catch (err) {
    const log = (await d.log()).slice(-4000);
    throw new Error(
      `crash loop failed; replay with CORRAL_CRASH_SEED=${seed}: ${
        err instanceof Error ? err.message : err
      }\n--- daemon log (tail) ---\n${log}`,
    );
  }
}

Deno.test(
  "crash consistency: random operations, SIGKILL at a random moment, invariants after restore",
  integration,
  () => withDaemon(crashLoop),
);

Deno.test(
  "crash consistency with shim groups of 3: joins cut by the SIGKILL end started or cleanly failed",
  integration,
  () => withDaemon(crashLoop, { args: ["--shim-group-size", "3"] }),
);
