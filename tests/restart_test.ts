/**
 * The restart manager on real containers: the five policies, the backoff and
 * its cap and reset, cancel by stop/kill/rm, failed restarts, live policy
 * updates, validation on CLI and API, and restarts at daemon start.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import type { CorralEvent } from "../lib/events/mod.ts";
import { integration, simulateReboot, sleep, type TestDaemon, withDaemon } from "./harness.ts";

/** The container's past events of the given actions, oldest first. */
function history(d: TestDaemon, id: string, actions: string[]): Promise<CorralEvent[]> {
  return d.pastEvents(0, `container=${id}`, ...actions.map((a) => `event=${a}`));
}

/** Milliseconds from each `die` to the `start` that follows it (the backoff plus a start). */
async function dieToStartMs(d: TestDaemon, id: string): Promise<number[]> {
  const evs = await history(d, id, ["die", "start"]);
  const gaps: number[] = [];
  for (let i = 1; i < evs.length; i++) {
    if (evs[i - 1].Action === "die" && evs[i].Action === "start") {
      gaps.push(Math.round((evs[i].timeNano - evs[i - 1].timeNano) / 1e6));
    }
  }
  return gaps;
}

/** POST without a body; the answer is drained. */
async function post(d: TestDaemon, path: string): Promise<void> {
  await (await d.api.call("POST", path)).body?.cancel();
}

/** Wait until the container has made `count` restarts and settled in `want`. */
async function settles(
  d: TestDaemon,
  ref: string,
  want: { status: string; restarts: number },
  ms = 10_000,
): Promise<void> {
  await d.until(
    async () => {
      const info = await d.inspect(ref);
      if (info.State.Status !== want.status || info.RestartCount !== want.restarts) return false;
      // The state is saved before its event goes out: wait for the event too.
      const action = want.status === "running" ? "start" : "die";
      return (await history(d, ref, [action])).length > want.restarts;
    },
    ms,
    `${ref} ${want.status} after ${want.restarts} restarts`,
  );
}

/** A command that exits with `code` on its first run and then stays up. */
const onceThenUp = (code: number) => `[ -f /ran ] && exec sleep 60; touch /ran; exit ${code}`;

Deno.test(
  "on-failure:3 with exit 1: exactly 3 restarts, then Exited 1; the gaps double 300/600/1200 ms",
  integration,
  () =>
    withDaemon(async (d) => {
      // A first step of 300 ms (the default's 100 ms is checked by the other
      // tests): the doubling must stand out of a loaded machine's noise.
      const id = await d.ok(
        "run",
        "-d",
        "--restart",
        "on-failure:3",
        "--restart-delay",
        "300ms",
        "busybox",
        "sh",
        "-c",
        "exit 1",
      );
      await settles(d, id, { status: "exited", restarts: 3 });
      await sleep(800); // a 4th restart would have been scheduled within 800 ms
      const info = await d.inspect(id);
      assert.equal(info.State.Status, "exited");
      assert.equal(info.State.ExitCode, 1);
      assert.equal(info.RestartCount, 3);
      assert.equal(info.State.FailureCount, 3);
      const starts = (await history(d, id, ["start"])).map((e) => e.timeNano / 1e6);
      assert.equal(starts.length, 4, "the first start and 3 restarts");
      assert.equal((await history(d, id, ["die"])).length, 4);
      const startGaps = starts.slice(1).map((t, i) => Math.round(t - starts[i]));
      const backoff = await dieToStartMs(d, id);
      console.log(`start-to-start gaps ${startGaps} ms; die-to-start ${backoff} ms`);
      assert.equal(backoff.length, 3);
      [300, 600, 1200].forEach((delay, i) => {
        assert.ok(backoff[i] >= delay, `restart ${i + 1} waited ${backoff[i]} < ${delay} ms`);
        assert.ok(backoff[i] < delay + 1500, `restart ${i + 1} waited ${backoff[i]} ms`);
      });
      // Die to start is the backoff plus one start; start to start adds a run
      // and its exit handling, which is noisier on a loaded machine.
      assert.ok(backoff[2] - backoff[0] >= 450, `the backoff grows: ${backoff}`);
      [300, 600, 1200].forEach((delay, i) => assert.ok(startGaps[i] >= delay, `${startGaps}`));
    }),
);

Deno.test(
  "always with exit 0 keeps restarting; stop during the backoff wait returns at once; nothing restarts after",
  integration,
  () =>
    withDaemon(async (d) => {
      const id = await d.ok("run", "-d", "--restart", "always", "busybox", "sh", "-c", "exit 0");
      // The 4th restart waits 800 ms: stop in the middle of that wait.
      await d.until(
        async () => {
          const info = await d.inspect(id);
          return info.RestartCount >= 4 && info.State.Status === "restarting";
        },
        15_000,
        "the 4th backoff wait",
      );
      const t0 = performance.now();
      await post(d, `/containers/${id}/stop`);
      const took = performance.now() - t0;
      const stoppedAt = Date.now() * 1e6;
      const info = await d.inspect(id);
      assert.ok(took < 400, `stop during the wait took ${Math.round(took)} ms`);
      assert.equal(info.State.Status, "exited");
      assert.equal(info.State.ExitCode, 0);
      assert.equal(info.State.HasBeenManuallyStopped, true);
      const restarts = info.RestartCount;
      await sleep(2000); // longer than the wait that was cancelled and the next one
      const after = await d.inspect(id);
      assert.equal(after.State.Status, "exited");
      assert.equal(after.RestartCount, restarts);
      const late = (await history(d, id, ["start"])).filter((e) => e.timeNano > stoppedAt);
      assert.deepEqual(late, [], "no start after the stop");
      // A user start clears the stop: the policy applies again.
      await d.ok("start", id);
      await d.until(async () => (await d.inspect(id)).RestartCount > restarts, 5000, "restart");
      await d.ok("stop", id);
    }),
);

Deno.test(
  "unless-stopped restarts after a crash, stays stopped after stop, also across a daemon restart; always comes back then",
  integration,
  () =>
    withDaemon(async (d) => {
      const u = await d.ok("run", "-d", "--restart", "unless-stopped", "busybox", "sleep", "60");
      const a = await d.ok("run", "-d", "--restart", "always", "busybox", "sleep", "60");
      const pid = (await d.inspect(u)).State.Pid;
      Deno.kill(pid, "SIGKILL"); // a crash, not a user stop
      await d.until(
        async () => {
          const info = await d.inspect(u);
          return info.State.Status === "running" && info.State.Pid !== pid;
        },
        5000,
        "restart after the crash",
      );
      assert.equal((await d.inspect(u)).RestartCount, 1);
      assert.equal((await d.inspect(u)).State.HasBeenManuallyStopped, false);
      await d.ok("stop", "-t", "0", u, a);
      await sleep(600);
      for (const ref of [u, a]) {
        const info = await d.inspect(ref);
        assert.equal(info.State.Status, "exited", ref);
        assert.equal(info.State.ExitCode, 137);
        assert.equal(info.State.HasBeenManuallyStopped, true);
      }
      assert.equal((await d.inspect(u)).RestartCount, 1);
      assert.equal((await d.inspect(a)).RestartCount, 0);
      // At daemon start a user stop still holds unless-stopped; always comes back (Docker's rule).
      await d.stop();
      await d.start();
      await d.untilStatus(a, "running", 5000);
      await sleep(300);
      assert.equal(await d.status(u), "exited");
      assert.equal((await d.inspect(u)).RestartCount, 1);
      assert.equal((await d.inspect(a)).RestartCount, 1);
    }),
);

Deno.test(
  "no never restarts; on-reboot restarts on exit 129 only",
  integration,
  () =>
    withDaemon(async (d) => {
      const run = (policy: string, script: string) =>
        d.ok("run", "-d", "--restart", policy, "busybox", "sh", "-c", script);
      const reboot = await run("on-reboot", onceThenUp(129));
      const quiet = [
        await run("no", "exit 1"),
        await run("no", "exit 0"),
        await run("on-reboot", "exit 1"),
        await run("on-reboot", "exit 0"),
        await run("on-reboot", "exit 130"),
      ];
      await settles(d, reboot, { status: "running", restarts: 1 });
      for (const id of quiet) await settles(d, id, { status: "exited", restarts: 0 });
      await sleep(500);
      for (const id of quiet) {
        const info = await d.inspect(id);
        assert.equal(info.State.Status, "exited");
        assert.equal(info.RestartCount, 0);
        assert.equal((await history(d, id, ["start"])).length, 1);
      }
      const info = await d.inspect(reboot);
      assert.equal(info.State.Status, "running");
      assert.equal(info.RestartCount, 1);
    }),
);

Deno.test(
  "a run of --restart-reset-after or more resets the backoff to its first step",
  integration,
  () =>
    withDaemon(async (d) => {
      // Runs 1-3 exit at once (500, 1000, 2000 ms), run 4 lasts 1.5 s (reset),
      // run 5 exits at once (500 ms again, not 4000), run 6 stays up. Steps this far
      // apart tell a reset from none even on a loaded machine.
      const script = "n=$(($(cat /n 2>/dev/null || echo 0) + 1)); echo $n > /n; " +
        "[ $n -eq 4 ] && sleep 1.5; [ $n -ge 6 ] && exec sleep 60; exit 1";
      const id = await d.ok("run", "-d", "--restart", "always", "busybox", "sh", "-c", script);
      await settles(d, id, { status: "running", restarts: 5 }, 30_000);
      const gaps = await dieToStartMs(d, id);
      console.log(`die-to-start gaps ${gaps} ms`);
      assert.equal(gaps.length, 5);
      assert.ok(gaps[2] >= 2000, `third wait ${gaps[2]} ms`);
      assert.ok(
        gaps[3] >= 500 && gaps[3] < 3000,
        `after a long run: ${gaps[3]} ms (4000 without reset)`,
      );
      assert.ok(gaps[4] >= 1000 && gaps[4] < 4000, `then ${gaps[4]} ms (8000 without reset)`);
    }, { args: ["--restart-reset-after", "1s", "--restart-delay", "500ms"] }),
);

Deno.test(
  "during the wait: status restarting, RestartCount persisted first; events die then start and restart",
  integration,
  () =>
    withDaemon(async (d) => {
      const id = await d.ok(
        "run",
        "-d",
        "--restart",
        "always",
        "--restart-delay",
        "1s",
        "busybox",
        "sh",
        "-c",
        onceThenUp(4),
      );
      await d.untilStatus(id, "restarting", 5000);
      const info = await d.inspect(id);
      assert.equal(info.State.Restarting, true);
      assert.equal(info.State.Running, false);
      assert.equal(info.State.ExitCode, 4);
      assert.equal(info.RestartCount, 1);
      // On disk within the 1 s wait, so a crash during the wait is recoverable.
      const onDisk = async () =>
        JSON.parse(await Deno.readTextFile(join(d.root, "containers", id, "state.json")));
      await d.until(async () => (await onDisk()).State.Status === "restarting", 900, "saved");
      assert.equal((await onDisk()).RestartCount, 1);
      assert.equal(await d.status(id), "restarting", "still waiting");
      const ps = await d.ok("ps", "-a");
      assert.match(ps, /Restarting \(4\)/);
      await settles(d, id, { status: "running", restarts: 1 });
      // The state is saved before the events go out: wait for the last one.
      const events = async () =>
        (await history(d, id, ["create", "start", "die", "restart"])).map((e) => e.Action);
      await d.until(async () => (await events()).length >= 5, 5000, "the restart event");
      assert.deepEqual(await events(), ["create", "start", "die", "start", "restart"]);
      const gaps = await dieToStartMs(d, id);
      assert.ok(gaps[0] >= 1000 && gaps[0] < 2500, `--restart-delay 1s waited ${gaps[0]} ms`);
    }),
);

Deno.test(
  "kill -s USR1 leaves the policy alone; SIGKILL, the stop signal and rm -f cancel it, also in the wait",
  integration,
  () =>
    withDaemon(async (d) => {
      const script = "trap 'exit 3' USR1; echo up; while :; do sleep 0.1; done";
      const id = await d.ok("run", "-d", "--restart", "always", "busybox", "sh", "-c", script);
      const ups = async (n: number) =>
        await d.until(
          async () => (await d.cli("logs", id)).stdout.split("up").length - 1 >= n,
          5000,
          `${n} runs up`,
        );
      await ups(1);
      await d.ok("kill", "-s", "USR1", id);
      await settles(d, id, { status: "running", restarts: 1 });
      assert.equal((await d.inspect(id)).State.HasBeenManuallyStopped, false);
      await ups(2);
      await d.ok("kill", id);
      await settles(d, id, { status: "exited", restarts: 1 });
      await sleep(500);
      let info = await d.inspect(id);
      assert.equal(info.State.Status, "exited");
      assert.equal(info.State.ExitCode, 137);
      assert.equal(info.RestartCount, 1);
      assert.equal(info.State.HasBeenManuallyStopped, true);

      // In the backoff wait: USR1 has no process to reach; the stop signal cancels at once.
      const waiting = await d.ok(
        "run",
        "-d",
        "--restart",
        "always",
        "--restart-delay",
        "1s",
        "busybox",
        "sh",
        "-c",
        "exit 1",
      );
      await d.untilStatus(waiting, "restarting", 5000);
      const usr1 = await d.cli("kill", "-s", "USR1", waiting);
      assert.notEqual(usr1.code, 0);
      assert.equal(await d.status(waiting), "restarting");
      const t0 = performance.now();
      await post(d, `/containers/${waiting}/kill?signal=SIGTERM`);
      assert.ok(performance.now() - t0 < 400, "kill during the wait returns at once");
      info = await d.inspect(waiting);
      assert.equal(info.State.Status, "exited");
      assert.equal(info.State.HasBeenManuallyStopped, true);
      await sleep(1300);
      assert.equal(await d.status(waiting), "exited");
      assert.equal((await history(d, waiting, ["start"])).length, 1);

      // rm of a restarting container needs -f; rm -f cancels and removes.
      const doomed = await d.ok(
        "run",
        "-d",
        "--restart",
        "always",
        "--restart-delay",
        "1s",
        "busybox",
        "sh",
        "-c",
        "exit 1",
      );
      await d.untilStatus(doomed, "restarting", 5000);
      const rm = await d.cli("rm", doomed);
      assert.notEqual(rm.code, 0);
      assert.match(rm.stderr, /container is restarting: stop the container before removing/);
      assert.equal(await d.status(doomed), "restarting");
      await d.ok("rm", "-f", doomed);
      assert.equal((await d.cli("inspect", doomed)).code, 1);
      await sleep(1300);
      assert.equal(
        (await d.cli("inspect", doomed)).code,
        1,
        "the cancelled restart did not revive it",
      );
    }),
);

Deno.test(
  "a restart whose start fails counts as a failure and is bounded by on-failure:3",
  integration,
  () =>
    withDaemon(async (d) => {
      // The first run deletes its own shell from the container's upper dir
      // (an overlay whiteout), so every restart fails in runc with 127.
      const id = await d.ok(
        "run",
        "-d",
        "--restart",
        "on-failure:3",
        "busybox",
        "/bin/sh",
        "-c",
        "rm /bin/sh; exit 1",
      );
      await settles(d, id, { status: "exited", restarts: 3 }, 15_000);
      await sleep(800);
      const info = await d.inspect(id);
      assert.equal(info.State.Status, "exited");
      assert.equal(info.RestartCount, 3);
      assert.equal(info.State.FailureCount, 3);
      assert.equal(info.State.ExitCode, 127);
      assert.match(info.State.Error, /\/bin\/sh.*no such file/);
      const dies = (await history(d, id, ["die"])).map((e) => e.Actor.Attributes.exitCode);
      assert.deepEqual(dies, ["1", "127", "127", "127"], "one die per failure, each counted once");
      assert.equal((await history(d, id, ["start"])).length, 1);
      const gaps = await dieToStartMs(d, id);
      assert.deepEqual(gaps, [], "no failed start emitted a start event");
      // A user start fails the same way, clearly, and schedules nothing.
      const r = await d.cli("start", id);
      assert.notEqual(r.code, 0);
      await sleep(500);
      assert.equal((await d.inspect(id)).RestartCount, 3);
    }),
);

Deno.test(
  "per-container --restart-max-delay 1s: the delays stop growing at 1 s",
  integration,
  () =>
    withDaemon(async (d) => {
      const id = await d.ok(
        "run",
        "-d",
        "--restart",
        "on-failure:4",
        "--restart-delay",
        "250ms",
        "--restart-max-delay",
        "1s",
        "busybox",
        "sh",
        "-c",
        "exit 1",
      );
      const info = await d.inspect(id);
      assert.equal(info.HostConfig.RestartDelay, 250);
      assert.equal(info.HostConfig.RestartMaxDelay, 1000);
      await settles(d, id, { status: "exited", restarts: 4 }, 15_000);
      const gaps = await dieToStartMs(d, id);
      console.log(`die-to-start gaps with a 1 s cap ${gaps} ms`);
      assert.equal(gaps.length, 4);
      assert.ok(gaps[0] >= 250 && gaps[1] >= 500, `${gaps}`);
      // Uncapped they would be 1000 and 2000 ms.
      for (const g of gaps.slice(2)) assert.ok(g >= 1000 && g < 1700, `capped wait ${g} ms`);
    }),
);

Deno.test(
  "update --restart changes the policy of a live container",
  integration,
  () =>
    withDaemon(async (d) => {
      const script = "trap 'exit 1' USR1; echo up; while :; do sleep 0.1; done";
      const id = await d.ok("run", "-d", "--name", "live", "busybox", "sh", "-c", script);
      await d.until(async () => (await d.cli("logs", id)).stdout.includes("up"), 5000, "up");
      await d.ok("update", "--restart", "on-failure:1", "live");
      assert.deepEqual((await d.inspect(id)).HostConfig.RestartPolicy, {
        Name: "on-failure",
        MaximumRetryCount: 1,
      });
      const bad = await d.cli("update", "--restart", "always:1", "live");
      assert.notEqual(bad.code, 0);
      assert.match(bad.stderr, /only be used with on-failure/);
      const apiBad = await d.api.request("POST", `/containers/${id}/update`, {
        RestartPolicy: { Name: "sometimes" },
      });
      assert.equal(apiBad.status, 400);
      assert.match((await apiBad.json()).message, /invalid restart policy "sometimes"/);
      assert.equal((await d.inspect(id)).HostConfig.RestartPolicy.Name, "on-failure");
      await d.ok("kill", "-s", "USR1", id);
      await settles(d, id, { status: "running", restarts: 1 });
      await d.until(
        async () => (await d.cli("logs", id)).stdout.split("up").length - 1 >= 2,
        5000,
        "second run up",
      );
      await d.ok("kill", "-s", "USR1", id);
      await settles(d, id, { status: "exited", restarts: 1 });
      await sleep(500);
      assert.equal((await d.inspect(id)).RestartCount, 1, "on-failure:1 allows one restart");
    }),
);

Deno.test(
  "CLI and API reject the same bad restart settings and create nothing",
  integration,
  () =>
    withDaemon(async (d) => {
      const cases: { cli: string[]; hc: Record<string, unknown>; pattern: RegExp }[] = [
        {
          cli: ["--restart", "sometimes"],
          hc: { RestartPolicy: { Name: "sometimes", MaximumRetryCount: 0 } },
          pattern: /invalid restart policy "sometimes"/,
        },
        {
          cli: ["--restart", "always:3"],
          hc: { RestartPolicy: { Name: "always", MaximumRetryCount: 3 } },
          pattern: /only be used with on-failure/,
        },
        {
          cli: ["--restart", "unless-stopped:1"],
          hc: { RestartPolicy: { Name: "unless-stopped", MaximumRetryCount: 1 } },
          pattern: /only be used with on-failure/,
        },
        {
          cli: ["--restart", "on-failure:-2"],
          hc: { RestartPolicy: { Name: "on-failure", MaximumRetryCount: -2 } },
          pattern: /non-negative integer/,
        },
        {
          cli: ["--restart", "on-failure:1.5"],
          hc: { RestartPolicy: { Name: "on-failure", MaximumRetryCount: 1.5 } },
          pattern: /non-negative integer/,
        },
        {
          cli: ["--restart", "on-failure:1:2"],
          hc: { RestartPolicy: { Name: "on-failure:1:2", MaximumRetryCount: 0 } },
          pattern: /too many ':'|invalid restart policy "on-failure:1:2"/,
        },
        {
          cli: ["--rm", "--restart", "unless-stopped"],
          hc: { AutoRemove: true, RestartPolicy: { Name: "unless-stopped" } },
          pattern: /--rm cannot be used with restart policy "unless-stopped"/,
        },
        {
          cli: ["--restart-delay", "2s", "--restart-max-delay", "1s"],
          hc: { RestartDelay: 2000, RestartMaxDelay: 1000 },
          pattern: /restart delay must not exceed/,
        },
        {
          cli: ["--restart-delay", "0s"],
          hc: { RestartDelay: -5 },
          pattern: /--restart-delay "0s": must be greater than 0|invalid RestartDelay: -5/,
        },
      ];
      for (const { cli, hc, pattern } of cases) {
        const r = await d.cli("create", ...cli, "busybox", "true");
        assert.notEqual(r.code, 0, cli.join(" "));
        assert.equal(r.stderr.trimEnd().split("\n").length, 1, r.stderr);
        assert.match(r.stderr, pattern, cli.join(" "));
        const res = await d.api.request("POST", "/containers/create", {
          Image: "busybox",
          Cmd: ["true"],
          HostConfig: hc,
        });
        const body = await res.json();
        assert.equal(res.status, 400, JSON.stringify(hc));
        assert.match(body.message, pattern, JSON.stringify(hc));
      }
      assert.equal(await d.ok("ps", "-a", "-q"), "", "nothing was created");
    }),
);

Deno.test(
  "after a host reboot (state dir gone) always and unless-stopped containers start again, counted once",
  integration,
  () =>
    withDaemon(async (d) => {
      const run = (...args: string[]) => d.ok("run", "-d", ...args, "busybox", "sleep", "60");
      const always = await run("--restart", "always");
      const unless = await run("--restart", "unless-stopped");
      const stopped = await run("--restart", "unless-stopped");
      const plain = await run();
      await d.ok("stop", "-t", "0", stopped);
      const before = await d.inspect(always);
      await simulateReboot(d, [always, unless, plain]);
      await d.start();
      for (const id of [always, unless]) {
        await settles(d, id, { status: "running", restarts: 1 });
      }
      await sleep(500);
      const a = await d.inspect(always);
      assert.notEqual(a.State.Pid, before.State.Pid);
      assert.equal(a.RestartCount, 1);
      assert.equal((await d.inspect(unless)).RestartCount, 1);
      const actions = (await history(d, always, ["start", "die", "restart"])).map((e) => e.Action);
      assert.deepEqual(actions, ["start", "die", "start", "restart"]);
      for (const id of [stopped, plain]) {
        const info = await d.inspect(id);
        assert.equal(info.State.Status, "exited", id);
        assert.equal(info.RestartCount, 0, id);
      }
      assert.equal((await d.inspect(plain)).State.ExitCode, 137, "no exit file: killed");
      // Nothing is counted again at the next daemon start.
      await d.stop();
      await d.start();
      await sleep(300);
      for (const id of [always, unless]) {
        const info = await d.inspect(id);
        assert.equal(info.State.Status, "running");
        assert.equal(info.RestartCount, 1);
      }
    }),
);

Deno.test(
  "the daemon killed during a backoff wait: the restart happens once after restore, not counted again",
  integration,
  () =>
    withDaemon(async (d) => {
      const id = await d.ok(
        "run",
        "-d",
        "--restart",
        "on-failure:5",
        "--restart-delay",
        "2s",
        "busybox",
        "sh",
        "-c",
        onceThenUp(1),
      );
      await d.untilStatus(id, "restarting", 5000);
      await d.kill9();
      await d.start();
      await settles(d, id, { status: "running", restarts: 1 });
      const info = await d.inspect(id);
      assert.equal(info.State.FailureCount, 1);
      assert.equal((await history(d, id, ["start"])).length, 2);
    }),
);

Deno.test(
  "a user restart of an always container is not doubled by the policy",
  integration,
  () =>
    withDaemon(async (d) => {
      const id = await d.ok("run", "-d", "--restart", "always", "busybox", "sleep", "60");
      const pid = (await d.inspect(id)).State.Pid;
      await d.ok("restart", "-t", "0", id);
      await sleep(800); // a policy restart behind the user's back would have come by now
      const info = await d.inspect(id);
      assert.equal(info.State.Status, "running");
      assert.notEqual(info.State.Pid, pid);
      assert.equal(info.RestartCount, 0, "a user restart is not a policy restart");
      assert.equal(info.State.HasBeenManuallyStopped, false);
      const actions = (await history(d, id, ["start", "die", "restart"])).map((e) => e.Action);
      assert.deepEqual(actions, ["start", "die", "start", "restart"]);
      // The policy still holds afterwards.
      Deno.kill(info.State.Pid, "SIGKILL");
      await settles(d, id, { status: "running", restarts: 1 });
    }),
);
