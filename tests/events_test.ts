/**
 * The event stream on real containers: lifecycle order, every kind of state
 * change, filters and time windows, a slow client, the journal across a
 * daemon crash, and OOM kills.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { type CorralEvent, SUBSCRIBER_BUFFER } from "../lib/events/mod.ts";
import { cgroupDirs } from "../lib/runtime/mod.ts";
import { integration, readJsonLines, sleep, withDaemon } from "./harness.ts";

/** "die" → "die 3", "kill" → "kill 15": the action with its code. */
function describe(e: CorralEvent): string {
  const a = e.Actor.Attributes;
  if (e.Action === "die") return `die ${a.exitCode}`;
  if (e.Action === "kill") return `kill ${a.signal}`;
  if (e.Action === "restore") return `restore ${a.outcome}`;
  return e.Action;
}

Deno.test(
  "a subscriber before run --rm receives create, start, die, destroy in order",
  integration,
  () =>
    withDaemon(async (d) => {
      const sub = await d.api.call(
        "GET",
        "/events?filters=" + encodeURIComponent('{"container":["once"]}'),
      );
      const r = await d.cli("run", "--rm", "--name", "once", "busybox", "sh", "-c", "exit 3");
      assert.equal(r.code, 3);
      const events = await readJsonLines<CorralEvent>(sub, (es) =>
        es.some((e) => e.Action === "destroy"));
      assert.deepEqual(events.map(describe), ["create", "start", "die 3", "destroy"]);
      const id = events[0].Actor.ID;
      for (const e of events) {
        assert.equal(e.Type, "container");
        assert.equal(e.Actor.ID, id);
        assert.equal(e.Actor.Attributes.name, "once");
        assert.equal(e.Actor.Attributes.image, "busybox");
      }
      const times = events.map((e) =>
        e.timeNano
      );
      assert.deepEqual(times, [...times].sort((a, b) => a - b), "in time order");
    }),
);

Deno.test(
  "every state change emits an event: stop, kill, restart, gc enter and leave",
  integration,
  () =>
    withDaemon(async (d) => {
      const t0 = Date.now() / 1000;
      await d.ok(
        "run",
        "-d",
        "--name",
        "life",
        "busybox",
        "sh",
        "-c",
        "trap 'exit 0' TERM; sleep 600 & wait",
      );
      await d.ok("kill", "-s", "USR1", "life");
      await d.ok("restart", "-t", "5", "life");
      await d.ok("stop", "-t", "5", "life");
      assert.deepEqual((await d.pastEvents(t0, "container=life")).map(describe), [
        "create",
        "start",
        "kill 10",
        "kill 15",
        "die 0",
        "start",
        "restart",
        "kill 15",
        "die 0",
        "stop",
      ]);

      // A host process moved into the container's cgroup makes its removal
      // fail (EBUSY): the container goes to the gc, which kills it and cleans.
      const id = await d.ok("run", "-d", "--name", "busy", "busybox", "sleep", "600");
      const intruder = new Deno.Command("sleep", { args: ["600"] }).spawn();
      const dirs = cgroupDirs(`/${d.cgroupParent}/${id}`);
      assert.ok(dirs.length > 0, "the container has cgroups");
      for (const dir of dirs) {
        await Deno.writeTextFile(join(dir, "cgroup.procs"), String(intruder.pid));
      }
      try {
        await d.ok("kill", "busy");
        await d.until(
          async () => (await d.pastEvents(t0, "event=gc-leave")).length > 0,
          10_000,
          "gc done",
        );
        assert.equal(await d.status("busy"), "exited");
        const gone = await Promise.race([intruder.status.then(() => true), sleep(2000)]);
        assert.equal(gone, true, "the gc killed what was left in the cgroup");
      } finally {
        try {
          intruder.kill("SIGKILL");
        } catch {
          // Already dead.
        }
        await intruder.status;
      }
      assert.deepEqual((await d.pastEvents(t0, "container=busy")).map(describe), [
        "create",
        "start",
        "kill 9",
        "die 137",
        "gc-enter",
        "gc-leave",
      ]);
    }),
);

Deno.test(
  "filters by container, type and event, and --since/--until windows",
  integration,
  () =>
    withDaemon(async (d) => {
      const t0 = Date.now() / 1000;
      const a = await d.ok("run", "-d", "--name", "alpha", "busybox", "true");
      await d.ok("wait", "alpha");
      await sleep(20);
      const mid = Date.now() / 1000;
      await sleep(20);
      await d.ok("run", "-d", "--name", "beta", "busybox", "sh", "-c", "exit 2");
      await d.ok("wait", "beta");

      const all = await d.pastEvents(t0);
      assert.deepEqual(
        all.map((e) => `${e.Actor.Attributes.name} ${describe(e)}`),
        ["alpha create", "alpha start", "alpha die 0", "beta create", "beta start", "beta die 2"],
      );
      const byName = await d.pastEvents(t0, "container=beta");
      assert.deepEqual(byName.map(describe), ["create", "start", "die 2"]);
      const byId = await d.pastEvents(t0, `container=${a.slice(0, 12)}`);
      assert.deepEqual(byId.map(describe), ["create", "start", "die 0"]);
      const dies = await d.pastEvents(t0, "event=die");
      assert.deepEqual(dies.map((e) => e.Actor.Attributes.name), ["alpha", "beta"]);
      const both = await d.pastEvents(t0, "event=create", "event=die", "container=alpha");
      assert.deepEqual(both.map(describe), ["create", "die 0"]);
      assert.deepEqual(await d.pastEvents(t0, "type=image"), []);
      assert.equal((await d.pastEvents(t0, "type=container")).length, 6);

      const window = await d.ok(
        "events",
        "--since",
        String(t0),
        "--until",
        String(mid),
        "--format",
        "json",
      );
      assert.deepEqual(
        window.split("\n").map((l) => JSON.parse(l).Actor.Attributes.name),
        ["alpha", "alpha", "alpha"],
      );
      const later = await d.ok(
        "events",
        "--since",
        new Date(mid * 1000).toISOString(),
        "--until",
        String(Date.now() / 1000),
      );
      assert.equal(later.split("\n").length, 3);
      assert.match(later, /container die .*exitCode=2/);

      const bad = await d.cli("events", "--filter", "colour=red", "--until", "1");
      assert.equal(bad.code, 1);
      assert.match(bad.stderr, /^corral: invalid filter "colour"/);
      assert.equal(bad.stderr.split("\n").length, 2, "one line");
    }),
);

Deno.test(
  "a client that does not read is dropped with a message; the daemon stays responsive",
  integration,
  () =>
    withDaemon(async (d) => {
      // Big events fill the socket buffers quickly.
      await d.ok(
        "run",
        "-d",
        "--name",
        "noisy",
        "--label",
        `pad=${"x".repeat(4096)}`,
        "busybox",
        "sleep",
        "600",
      );
      const conn = await Deno.connect({ transport: "unix", path: d.sock });
      await conn.write(new TextEncoder().encode("GET /events HTTP/1.1\r\nHost: corral\r\n\r\n"));
      const generated = SUBSCRIBER_BUFFER * 2;
      let slowest = 0;
      for (let i = 0; i < generated; i += 16) {
        // The signal is ignored by the container's init: only events result.
        await Promise.all(
          Array.from(
            { length: 16 },
            () => d.api.call("POST", "/containers/noisy/kill?signal=USR1"),
          ),
        );
        if (i % 256 === 0) {
          const t = performance.now();
          await d.api.call("GET", "/_ping").then((r) => r.body?.cancel());
          slowest = Math.max(slowest, performance.now() - t);
        }
      }
      assert.ok(slowest < 1000, `a ping took ${Math.round(slowest)} ms`);
      assert.equal((await d.inspect("noisy")).State.Running, true);

      // Now read: what was buffered, then the message, then the end of the body.
      const dec = new TextDecoder();
      let text = "";
      const buf = new Uint8Array(65536);
      // A body that never ends (a client never dropped) fails the test, not hangs it.
      const deadline = setTimeout(() => conn.close(), 10_000);
      try {
        while (!text.endsWith("0\r\n\r\n")) {
          const n = await conn.read(buf);
          if (n === null) break;
          text += dec.decode(buf.subarray(0, n), { stream: true });
        }
        conn.close();
      } catch {
        // Closed by the deadline.
      } finally {
        clearTimeout(deadline);
      }
      const received = (text.match(/"Action":"kill"/g) ?? []).length;
      assert.equal(
        text.match(/\{"message":"[^"]*"\}/)?.[0],
        `{"message":"event subscriber dropped: more than ${SUBSCRIBER_BUFFER} events unread"}`,
      );
      assert.ok(received < generated, `received ${received} of ${generated}: nothing was dropped`);
      assert.ok(received >= SUBSCRIBER_BUFFER, `received only ${received}`);
    }),
);

Deno.test(
  "events --since returns the events from before a daemon crash; restored containers get a restore event",
  integration,
  () =>
    withDaemon(async (d) => {
      const t0 = Date.now() / 1000;
      const r = await d.cli("run", "--rm", "--name", "gone", "busybox", "sh", "-c", "exit 4");
      assert.equal(r.code, 4);
      await d.ok("run", "-d", "--name", "stays", "busybox", "sleep", "600");
      await d.kill9();
      await d.start();
      assert.deepEqual((await d.pastEvents(t0, "container=gone")).map(describe), [
        "create",
        "start",
        "die 4",
        "destroy",
      ]);
      assert.deepEqual((await d.pastEvents(t0, "container=stays")).map(describe), [
        "create",
        "start",
        "restore running",
      ]);
    }),
);

Deno.test(
  "an OOM kill sets OOMKilled and emits oom before die; a plain SIGKILL does not",
  integration,
  () =>
    withDaemon(async (d) => {
      const t0 = Date.now() / 1000;
      // The shell keeps the 64 MiB command substitution in memory: far over 8 MiB.
      const r = await d.cli(
        "run",
        "--name",
        "hog",
        "--memory",
        "8m",
        "busybox",
        "sh",
        "-c",
        "x=$(head -c 67108864 /dev/zero | tr '\\0' a); echo survived",
      );
      assert.equal(r.code, 137);
      assert.equal(r.stdout, "");
      const hog = await d.inspect("hog");
      assert.equal(hog.State.OOMKilled, true);
      assert.equal(hog.State.ExitCode, 137);
      assert.deepEqual((await d.pastEvents(t0, "container=hog")).map(describe), [
        "create",
        "start",
        "oom",
        "die 137",
      ]);

      await d.ok("run", "-d", "--name", "shot", "--memory", "8m", "busybox", "sleep", "600");
      await d.ok("kill", "shot");
      assert.equal(await d.ok("wait", "shot"), "137");
      assert.equal((await d.inspect("shot")).State.OOMKilled, false);
      assert.deepEqual(await d.pastEvents(t0, "container=shot", "event=oom"), []);
    }),
);

Deno.test(
  "exec emits exec_create, exec_start and exec_die with its exit code",
  integration,
  () =>
    withDaemon(async (d) => {
      await d.ok("run", "-d", "--name", "host", "busybox", "sleep", "600");
      const t0 = Date.now() / 1000;
      const r = await d.cli("exec", "host", "sh", "-c", "exit 3");
      assert.equal(r.code, 3);
      await sleep(50);
      const execs = await d.pastEvents(
        t0,
        "event=exec_create",
        "event=exec_start",
        "event=exec_die",
      );
      assert.deepEqual(execs.map((e) => e.Action), [
        "exec_create: sh -c exit 3",
        "exec_start: sh -c exit 3",
        "exec_die",
      ]);
      const ids = new Set(execs.map((e) => e.Actor.Attributes.execID));
      assert.equal(ids.size, 1);
      assert.match([...ids][0], /^[0-9a-f]{64}$/);
      assert.equal(execs[2].Actor.Attributes.exitCode, "3");
      assert.equal(execs[2].Actor.Attributes.name, "host");
      await d.ok("rm", "-f", "host");
    }),
);
