/**
 * The gc on real failures (behaviour.md §4): a busy rootfs mount, a cgroup
 * with a foreign task, a SIGKILLed shim, a daemon crash while a container is
 * in gc, a corrupt gc list. Each failure is produced for real, then released.
 */
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { cgroupDirs } from "../lib/runtime/mod.ts";
import { isAlive, isMountPoint } from "../lib/sys/mod.ts";
import { integration, sleep, type TestDaemon, withDaemon } from "./harness.ts";

/** Runs until the test creates /go in its rootfs, then exits 3. */
const EXIT_3_ON_GO = ["sh", "-c", "while [ ! -e /go ]; do sleep 0.05; done; exit 3"];

function rootfsOf(d: TestDaemon, id: string): string {
  return join(d.state, "containers", id, "rootfs");
}

/** A host process whose cwd is inside `dir`: the mount under it is busy. */
function holdCwd(dir: string): Deno.ChildProcess {
  return new Deno.Command("sleep", { args: ["600"], cwd: dir, stdin: "null" }).spawn();
}

async function release(p: Deno.ChildProcess): Promise<void> {
  try {
    p.kill("SIGKILL");
  } catch {
    // Already gone.
  }
  await p.status;
}

/** The actions of a container's journaled events, oldest first. */
async function actions(d: TestDaemon, id: string): Promise<string[]> {
  return (await d.pastEvents(0, `container=${id}`)).map((e) => e.Action);
}

function count(list: string[], action: string): number {
  return list.filter((a) => a === action).length;
}

/** Start a container that exits 3 on demand, with its rootfs held busy by a host process. */
async function busyContainer(
  d: TestDaemon,
  name: string,
  extra: string[] = [],
): Promise<{ id: string; holder: Deno.ChildProcess }> {
  const id = await d.ok("run", "-d", "--name", name, ...extra, "busybox", ...EXIT_3_ON_GO);
  const rootfs = rootfsOf(d, id);
  const holder = holdCwd(rootfs);
  await Deno.writeTextFile(join(rootfs, "go"), "");
  await d.untilStatus(id, "gc");
  return { id, holder };
}

Deno.test(
  "a busy rootfs mount: gc, rm refused, finished once the holder goes",
  integration,
  () =>
    withDaemon(async (d) => {
      const { id, holder } = await busyContainer(d, "busy");
      try {
        const info = await d.inspect(id);
        assert.equal(info.State.Running, false);
        assert.equal(info.State.ExitCode, 3);
        assert.match(info.State.GC?.LastError ?? "", /umount2 .*rootfs: EBUSY/);
        assert.ok(isMountPoint(rootfsOf(d, id)), "the rootfs is still mounted");

        const ps = await d.ok("ps", "-a");
        assert.match(ps, /GC \(3\): umount2 .*EBUSY/);
        const psJson = JSON.parse(await d.ok("ps", "-a", "--format", "json"));
        assert.equal(psJson.State, "gc");

        for (
          const args of [
            ["rm", "busy"],
            ["rm", "-f", "busy"],
            ["start", "busy"],
            ["restart", "busy"],
          ]
        ) {
          const r = await d.cli(...args);
          assert.notEqual(r.code, 0, `${args.join(" ")} must be refused`);
          assert.match(r.stderr, /container busy is being cleaned up \(gc\): umount2 .*EBUSY/);
          assert.doesNotMatch(r.stderr, /\n\s+at /, "no stack trace");
        }
        assert.equal(await d.status(id), "gc", "the refused commands changed nothing");

        // Several tries, but the error is logged once.
        await d.until(
          async () => {
            const line = (await d.ok("gc")).split("\n").find((l) => l.startsWith(id.slice(0, 12)));
            return Number(line?.split(/\s+/)[1]) >= 3;
          },
          10_000,
          "3 gc tries",
        );
        const gcOut = await d.ok("gc");
        assert.match(gcOut, /CONTAINER ID\s+TRIES\s+LAST ERROR/);
        assert.match(gcOut, new RegExp(`${id.slice(0, 12)}\\s+\\d+\\s+umount2 .*EBUSY`));
        const logged = (await d.log()).split("\n").filter((l) =>
          l.includes(id) && l.includes("cleanup failed")
        );
        assert.equal(logged.length, 1, `one log line per distinct error:\n${logged.join("\n")}`);
      } finally {
        await release(holder);
      }

      await d.until(async () => (await actions(d, id)).includes("gc-leave"), 10_000, "gc-leave");
      const done = await d.inspect(id);
      assert.equal(done.State.Status, "exited");
      assert.equal(done.State.ExitCode, 3);
      assert.equal(done.State.GC, undefined);
      assert.equal(await d.ok("wait", id), "3");
      assert.equal(await d.ok("gc"), "CONTAINER ID   TRIES   LAST ERROR");
      assert.deepEqual(d.leaks(), [], "no mount, cgroup or runc state left");
      const evs = await actions(d, id);
      assert.deepEqual(evs.filter((a) => a.startsWith("gc-") || a === "die"), [
        "die",
        "gc-enter",
        "gc-leave",
      ]);
      await d.ok("rm", id);
    }),
);

Deno.test(
  "a cgroup with a foreign task: the gc kills it and removes the cgroup",
  integration,
  () =>
    withDaemon(async (d) => {
      const id = await d.ok("run", "-d", "busybox", ...EXIT_3_ON_GO);
      const dirs = cgroupDirs(`/${d.cgroupParent}/${id}`);
      const dir = dirs.find((p) => p.includes("/pids/")) ?? dirs[0];
      assert.ok(dir, "the container has a cgroup");
      const intruder = new Deno.Command("sleep", { args: ["600"], stdin: "null" }).spawn();
      try {
        await Deno.writeTextFile(join(dir, "cgroup.procs"), String(intruder.pid));
        await Deno.writeTextFile(join(rootfsOf(d, id), "go"), "");
        const died = await Promise.race([intruder.status, sleep(15_000).then(() => null)]);
        assert.equal(died?.signal, "SIGKILL", "the gc killed the task left in the cgroup");
      } finally {
        await release(intruder);
      }
      await d.until(async () => (await actions(d, id)).includes("gc-leave"), 10_000, "gc-leave");
      assert.equal(await d.status(id), "exited");
      assert.equal((await d.inspect(id)).State.ExitCode, 3);
      assert.equal(existsSync(dir), false, `${dir} removed`);
      const evs = await actions(d, id);
      assert.equal(count(evs, "gc-enter"), 1);
      assert.equal(count(evs, "gc-leave"), 1);
      assert.match(
        await d.log(),
        new RegExp(`container ${id}: cleanup failed.*(cgroup|paths)`, "i"),
        "the supervisor's cleanup failed on the busy cgroup",
      );
      assert.deepEqual(d.leaks(), []);
    }),
);

Deno.test(
  "a SIGKILLed shim: exit 137, the surviving init is killed and cleaned",
  integration,
  () =>
    withDaemon(async (d) => {
      const id = await d.ok("run", "-d", "busybox", "sleep", "600");
      const st = (await d.inspect(id)).State;
      const init = { pid: st.Pid, startTime: st.StartTime };
      assert.ok(isAlive(init));
      Deno.kill(st.PPid, "SIGKILL");
      await d.untilStatus(id, "exited");
      const after = await d.inspect(id);
      assert.equal(after.State.ExitCode, 137);
      assert.equal(isAlive(init), false, "the container init was killed");
      assert.equal(existsSync(join(d.state, "containers", id)), false, "state dir removed");
      assert.deepEqual(d.leaks(), []);
      // The die event follows the saved state: wait for it, then count.
      await d.until(async () => count(await actions(d, id), "die") > 0, 10_000, "die event");
      assert.equal(count(await actions(d, id), "die"), 1);
    }),
);

Deno.test(
  "a daemon crash during gc: reloaded, finished once, the restart policy runs once",
  integration,
  () =>
    withDaemon(async (d) => {
      const { id, holder } = await busyContainer(d, "phoenix", ["--restart", "on-failure:1"]);
      try {
        // The gc-enter event is in the journal before the crash.
        await d.until(async () => (await actions(d, id)).includes("gc-enter"), 5000, "gc-enter");
        await d.kill9();
      } finally {
        await release(holder);
      }
      await d.start();
      // gc finishes → restart (on-failure:1) → /go is still there → exit 3 → no more restarts.
      await d.until(async () => count(await actions(d, id), "die") === 2, 15_000, "second exit");
      await d.untilStatus(id, "exited");
      await sleep(1000);
      const info = await d.inspect(id);
      assert.equal(info.State.Status, "exited");
      assert.equal(info.State.ExitCode, 3);
      assert.equal(info.RestartCount, 1);
      const evs = await actions(d, id);
      assert.equal(count(evs, "gc-enter"), 1);
      assert.equal(count(evs, "gc-leave"), 1, `gc finished once: ${evs.join(",")}`);
      assert.equal(count(evs, "restart"), 1, `restarted once: ${evs.join(",")}`);
      assert.equal(count(evs, "start"), 2);
      assert.deepEqual(JSON.parse(await Deno.readTextFile(join(d.root, "gc.json"))).entries, []);
    }),
);

Deno.test(
  "a corrupt or lost gc list at start: reported, entries recovered from the states",
  integration,
  () =>
    withDaemon(async (d) => {
      const { id, holder } = await busyContainer(d, "kept");
      try {
        const list = join(d.root, "gc.json");
        await d.stop();
        await Deno.writeTextFile(list, '{"version":1,"entries":[{"id":"');
        await d.start();
        assert.match(
          await d.log(),
          /gc list .*gc\.json is corrupt .*entries recovered from container states/,
        );
        assert.match(await Deno.readTextFile(`${list}.corrupt`), /^\{"version":1/);
        assert.match(await d.ok("gc"), new RegExp(`${id.slice(0, 12)}\\s+\\d+\\s+umount2`));
        assert.equal(await d.status(id), "gc", "restore left the gc container alone");

        // The daemon died between saving the state and saving the list.
        await d.stop();
        await Deno.remove(list);
        await d.start();
        assert.match(await d.ok("gc"), new RegExp(id.slice(0, 12)));
        const r = await d.cli("rm", "kept");
        assert.match(r.stderr, /container kept is being cleaned up \(gc\)/);
      } finally {
        await release(holder);
      }
      await d.untilStatus(id, "exited");
      assert.equal((await d.inspect(id)).State.ExitCode, 3);
      assert.deepEqual(d.leaks(), []);
    }),
);
