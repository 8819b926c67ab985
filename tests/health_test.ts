/**
 * Health checks on real containers: status transitions and the log, a
 * hanging check killed at its timeout, the action on unhealthy with the
 * restart policy, and checks resumed (not duplicated) after a daemon crash.
 */
import assert from "node:assert/strict";
import type { HealthState } from "../lib/container/mod.ts";
import {
  integration,
  processesRunning,
  readJsonLines,
  sleep,
  type TestDaemon,
  withDaemon,
} from "./harness.ts";

/** Fast checks keep the tests short. */
const FAST = ["--health-interval", "200ms", "--health-timeout", "2s"];

async function health(d: TestDaemon, ref: string): Promise<HealthState> {
  const h = (await d.inspect(ref)).State.Health;
  assert.ok(h, `${ref} has no State.Health`);
  return h;
}

Deno.test(
  "healthy → unhealthy after N failing checks → healthy again, with a correct log",
  integration,
  () =>
    withDaemon(async (d) => {
      const sub = await d.api.call(
        "GET",
        "/events?filters=" + encodeURIComponent('{"container":["web"]}'),
      );
      await d.ok(
        "run",
        "-d",
        "--name",
        "web",
        ...FAST,
        "--health-retries",
        "3",
        "--health-cmd",
        "cat /ok",
        "busybox",
        "sh",
        "-c",
        "echo fine > /ok; exec sleep 600",
      );
      await d.until(async () => (await health(d, "web")).Status === "healthy", 10_000, "healthy");
      let h = await health(d, "web");
      assert.equal(h.FailingStreak, 0);
      const ok = h.Log.at(-1)!;
      assert.equal(ok.ExitCode, 0);
      assert.equal(ok.Output, "fine\n");
      assert.ok(Date.parse(ok.Start) <= Date.parse(ok.End));
      assert.match(await d.ok("ps"), /Up .* \(healthy\)/);

      await d.ok("exec", "web", "rm", "/ok");
      // Every streak observed on the way must agree with the status.
      const seen = new Map<number, string>();
      await d.until(
        async () => {
          const cur = await health(d, "web");
          if (!seen.has(cur.FailingStreak)) seen.set(cur.FailingStreak, cur.Status);
          return cur.Status === "unhealthy";
        },
        15_000,
        "unhealthy",
      );
      for (const [streak, status] of seen) {
        assert.equal(status, streak < 3 ? "healthy" : "unhealthy", `streak ${streak}: ${status}`);
      }
      h = await health(d, "web");
      assert.ok(h.FailingStreak >= 3);
      assert.ok(h.Log.length <= 5, `log keeps the last 5, has ${h.Log.length}`);
      const failures = h.Log.slice(-3);
      for (const e of failures) {
        assert.equal(e.ExitCode, 1);
        assert.match(e.Output, /can't open '\/ok'/);
      }
      assert.match(await d.ok("ps"), /\(unhealthy\)/);
      assert.equal(await d.status("web"), "running", "action none: still running");

      await d.ok("exec", "web", "sh", "-c", "echo back > /ok");
      await d.until(async () => (await health(d, "web")).Status === "healthy", 10_000, "healthy");
      h = await health(d, "web");
      assert.equal(h.FailingStreak, 0);
      assert.equal(h.Log.at(-1)!.Output, "back\n");

      const events = await readJsonLines<{ Action: string }>(
        sub,
        (es) => es.filter((e) => e.Action.startsWith("health_status")).length >= 3,
      );
      assert.deepEqual(
        events.filter((e) => e.Action.startsWith("health_status")).map((e) => e.Action),
        ["health_status: healthy", "health_status: unhealthy", "health_status: healthy"],
      );
    }),
);

Deno.test(
  "failures in the start period do not count towards the retries",
  integration,
  () =>
    withDaemon(async (d) => {
      await d.ok(
        "run",
        "-d",
        "--name",
        "slow",
        "--health-interval",
        "200ms",
        "--health-retries",
        "1",
        "--health-start-period",
        "1500ms",
        "--health-cmd",
        "false",
        "busybox",
        "sleep",
        "600",
      );
      const started = Date.parse((await d.inspect("slow")).State.StartedAt);
      await d.until(
        async () => (await health(d, "slow")).Status === "unhealthy",
        10_000,
        "unhealthy",
      );
      const h = await health(d, "slow");
      const graceEnd = started + 1500;
      const early = h.Log.filter((e) => Date.parse(e.Start) < graceEnd);
      assert.ok(early.length >= 2, `${early.length} checks in the start period`);
      assert.ok(early.every((e) => e.ExitCode === 1));
      assert.ok(h.FailingStreak >= 1);
      assert.ok(
        h.FailingStreak <= h.Log.length - early.length,
        `streak ${h.FailingStreak} counts start-period failures`,
      );
    }),
);

Deno.test(
  "a hanging health check is killed at its timeout with everything it started",
  integration,
  () =>
    withDaemon(async (d) => {
      // sh forks sleep: killing only the exec'd sh would leave the sleep behind.
      const hanging = ["sleep", "7177"];
      await d.ok(
        "run",
        "-d",
        "--name",
        "hang",
        "--health-interval",
        "200ms",
        "--health-timeout",
        "300ms",
        "--health-retries",
        "2",
        "--health-cmd",
        `${hanging.join(" ")}; echo never`,
        "busybox",
        "sleep",
        "600",
      );
      // One check at a time at most: leftovers of killed checks would pile up.
      let most = 0;
      const deadline = Date.now() + 3000;
      while (Date.now() < deadline) {
        most = Math.max(most, processesRunning(hanging).length);
        await sleep(50);
      }
      assert.ok(most <= 1, `${most} hanging checks alive at once`);
      const h = await health(d, "hang");
      assert.equal(h.Status, "unhealthy");
      assert.ok(h.Log.length >= 3, `only ${h.Log.length} checks in 3 s`);
      for (const e of h.Log) {
        assert.equal(e.ExitCode, -1);
        assert.match(e.Output, /exceeded timeout/);
        const took = Date.parse(e.End) - Date.parse(e.Start);
        assert.ok(took >= 250 && took < 2000, `a 300 ms check took ${took} ms`);
      }
      await d.ok("rm", "-f", "hang");
      assert.deepEqual(processesRunning(hanging), []);
    }),
);

Deno.test(
  "the action on unhealthy: kill and restart go through the restart policy, stop stays stopped",
  integration,
  () =>
    withDaemon(async (d) => {
      // Unhealthy in the first run only: the second run creates /healthy.
      const flaky = [
        "--health-interval",
        "200ms",
        "--health-retries",
        "1",
        "--health-cmd",
        "test -e /healthy",
        "busybox",
        "sh",
        "-c",
        "[ -e /ran ] && touch /healthy; touch /ran; trap 'exit 0' TERM; sleep 600 & wait",
      ];
      const cases = {
        "kill-onfail": ["--health-on-failure", "kill", "--restart", "on-failure"],
        "restart-onfail": ["--health-on-failure", "restart", "--restart", "on-failure"],
        "restart-nopolicy": ["--health-on-failure", "restart"],
        "exit-nopolicy": ["--health-exit-on-unhealthy"],
        "stop-always": ["--health-on-failure", "stop", "--restart", "always"],
      };
      for (const [name, flags] of Object.entries(cases)) {
        await d.ok("run", "-d", "--name", name, ...flags, ...flaky);
      }
      for (const name of ["kill-onfail", "restart-onfail", "restart-nopolicy"]) {
        await d.until(
          async () => {
            const i = await d.inspect(name);
            return i.State.Running && i.State.Health?.Status === "healthy";
          },
          15_000,
          `${name} restarted and healthy`,
        );
        const i = await d.inspect(name);
        assert.equal(i.RestartCount, 1, `${name} restarted once`);
        assert.equal(i.State.HasBeenManuallyStopped, false);
      }
      for (const name of ["exit-nopolicy", "stop-always"]) {
        await d.until(async () => !(await d.inspect(name)).State.Running, 15_000, `${name} down`);
      }
      // Give a wrongly scheduled restart (100 ms backoff) time to happen.
      await sleep(1000);
      const killed = await d.inspect("exit-nopolicy");
      assert.equal(killed.State.Status, "exited");
      assert.equal(killed.State.ExitCode, 137);
      assert.equal(killed.State.HasBeenManuallyStopped, false, "a health kill is no manual stop");
      const stopped = await d.inspect("stop-always");
      assert.equal(stopped.State.Status, "exited");
      assert.equal(stopped.State.ExitCode, 0, "stopped with its stop signal");
      assert.equal(stopped.State.HasBeenManuallyStopped, true);
      assert.equal(stopped.RestartCount, 0);

      const since = (await d.inspect("kill-onfail")).Created;
      // Each check is an exec with its own events (as in Docker): left out here.
      const actions = (await d.pastEvents(since, "container=restart-nopolicy"))
        .filter((e) => !e.Action.startsWith("exec_"))
        .map((e) => e.Action === "kill" ? `kill ${e.Actor.Attributes.signal}` : e.Action);
      assert.deepEqual(actions, [
        "create",
        "start",
        "health_status: unhealthy",
        "kill 9",
        "die",
        "start",
        "restart",
        "health_status: healthy",
      ]);
    }),
);

Deno.test(
  "after a daemon crash the checks resume once per container, not twice",
  integration,
  () =>
    withDaemon(async (d) => {
      // Each check appends the uptime (10 ms resolution) to a file in the container.
      await d.ok(
        "run",
        "-d",
        "--name",
        "count",
        "--health-interval",
        "300ms",
        "--health-cmd",
        "cut -d' ' -f1 /proc/uptime >> /checks",
        "busybox",
        "sleep",
        "600",
      );
      const checks = async () =>
        (await d.ok("exec", "count", "cat", "/checks")).split("\n").map(Number);
      /** The checks run during `ms`: resumed (some), not duplicated (few, spaced). */
      const assertOneTimer = async (ms: number, after: string) => {
        const before = (await checks()).length;
        await sleep(ms);
        const ran = (await checks()).slice(before);
        const most = Math.ceil(ms / 300) + 1;
        assert.ok(ran.length >= 3, `${after}: checks did not resume: ${ran.length} in ${ms} ms`);
        assert.ok(ran.length <= most, `${after}: ${ran.length} checks in ${ms} ms: duplicated`);
        const gap = Math.min(...ran.slice(1).map((t, i) => t - ran[i]));
        assert.ok(gap >= 0.25, `${after}: checks ${gap} s apart at a 300 ms interval`);
      };
      await d.until(async () => (await health(d, "count")).Status === "healthy", 10_000, "healthy");
      await d.kill9();
      await d.start();
      const h = await health(d, "count");
      assert.equal(h.FailingStreak, 0);
      assert.notEqual(h.Status, "unhealthy");
      await assertOneTimer(2500, "after the daemon crash");
      await d.ok("restart", "-t", "0", "count");
      await assertOneTimer(2500, "after a container restart");
      assert.equal((await health(d, "count")).Status, "healthy");
    }),
);

Deno.test(
  "health timings without a command, on an image without a check, give no health state",
  integration,
  () =>
    withDaemon(async (d) => {
      await d.ok(
        "run",
        "-d",
        "--name",
        "plain",
        "--health-interval",
        "200ms",
        "busybox",
        "sleep",
        "60",
      );
      assert.equal((await d.inspect("plain")).State.Health, undefined);
      assert.doesNotMatch(await d.ok("ps"), /health/);
      await d.ok("rm", "-f", "plain");
    }),
);
