/**
 * Shim groups (`corral daemon --shim-group-size N`) on real runc: containers
 * share a shim, one's exit leaves the others running, a group shim SIGKILLed
 * ends every container it served with the documented code (137) and their
 * restart policies apply with no orphan left, a daemon upgraded from one
 * shim per container to groups adopts both kinds, and a daemon SIGKILLed
 * mid-join leaves the container cleanly failed (a slow `--runtime` wrapper
 * makes the kill land during `runc create`; corral itself has no test hook).
 */
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { SHIM_CONTRACT_VERSION } from "../lib/shim/mod.ts";
import { isAlive, sleep } from "../lib/sys/mod.ts";
import {
  CORRAL,
  integration,
  processesMentioning,
  type TestDaemon,
  withDaemon,
} from "./harness.ts";

const GROUP = ["--shim-group-size", "3"];

/** `run -d` a sleeping container; returns its id. */
function runSleeper(d: TestDaemon, ...flags: string[]): Promise<string> {
  return d.ok("run", "-d", ...flags, "busybox", "sleep", "600");
}

async function pidsOf(d: TestDaemon, id: string) {
  const st = (await d.inspect(id)).State;
  return { pid: st.Pid, startTime: st.StartTime, ppid: st.PPid, pStartTime: st.PStartTime };
}

/** `corral attach ID` with `input` on its stdin; its exit code (stdin's end ends it). */
async function attachWithStdin(d: TestDaemon, id: string, input: string): Promise<number> {
  const child = new Deno.Command(CORRAL[0], {
    args: [...CORRAL.slice(1), "-H", d.host, "attach", id],
    env: { RUST_BACKTRACE: "0" },
    stdin: "piped",
    stdout: "null",
    stderr: "null",
  }).spawn();
  const w = child.stdin.getWriter();
  await w.write(new TextEncoder().encode(input));
  await w.close();
  return (await child.status).code;
}

function argv(pid: number): string[] {
  return Deno.readTextFileSync(`/proc/${pid}/cmdline`).split("\0");
}

/** Whether a process of ours may lower its OOM score (CAP_SYS_RESOURCE in effect). */
async function canLowerOomScore(): Promise<boolean> {
  const probe = new Deno.Command("sh", {
    args: ["-c", "echo -1 > /proc/self/oom_score_adj"],
    stderr: "null",
  });
  return (await probe.output()).success;
}

/** Poll `check` until it holds (20 s at most). */
async function until(what: string, check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

Deno.test(
  "groups: containers share a shim up to N; one's exit leaves the others running",
  integration,
  () =>
    withDaemon(async (d) => {
      const ids: string[] = [];
      for (let i = 0; i < 4; i++) ids.push(await runSleeper(d));
      const pids = await Promise.all(ids.map((id) => pidsOf(d, id)));
      const shims = new Set(pids.slice(0, 3).map((p) => p.ppid));
      assert.equal(shims.size, 1, "the first three share one shim");
      const [shim] = shims;
      assert.notEqual(pids[3].ppid, shim, "the fourth has a shim of its own: the first is full");
      assert.ok(argv(shim).includes("--group"));
      // The shim is not the OOM killer's pick; its containers keep corral's own
      // score. Lowering a score needs CAP_SYS_RESOURCE, which some hosts withhold
      // even from root: there the shim keeps corral's.
      const score = (pid: number) => Number(Deno.readTextFileSync(`/proc/${pid}/oom_score_adj`));
      assert.equal(score(pids[0].pid), score(Deno.pid));
      assert.equal(score(shim), await canLowerOomScore() ? -999 : score(Deno.pid));

      // One container's exit: the others of its shim run on.
      Deno.kill(pids[0].pid, "SIGKILL");
      await until("the first container's exit", async () => (await d.status(ids[0])) === "exited");
      assert.equal((await d.inspect(ids[0])).State.ExitCode, 137);
      for (const id of ids.slice(1)) assert.equal(await d.status(id), "running");
      assert.ok(isAlive({ pid: shim, startTime: pids[0].pStartTime }));

      // A new container takes the freed place in the first shim: no new shim.
      const again = await runSleeper(d);
      assert.equal((await pidsOf(d, again)).ppid, shim);

      // rm of all: the shims, empty, go away after their idle time.
      await d.ok("rm", "-f", ...ids, again);
      await until("the empty shims' exit", () =>
        Promise.resolve(
          !isAlive({ pid: shim, startTime: pids[1].pStartTime }) &&
            !isAlive({ pid: pids[3].ppid, startTime: pids[3].pStartTime }),
        ));
    }, { args: GROUP }),
);

Deno.test(
  "groups: a SIGKILLed group shim ends each of its containers with 137; policies apply; no orphan",
  integration,
  () =>
    withDaemon(async (d) => {
      const always = await runSleeper(d, "--restart", "always");
      const no = await runSleeper(d);
      const onFailure = await runSleeper(d, "--restart", "on-failure");
      const before = await Promise.all([always, no, onFailure].map((id) => pidsOf(d, id)));
      const shim = before[0].ppid;
      assert.ok(before.every((p) => p.ppid === shim), "one shim serves the three");

      Deno.kill(shim, "SIGKILL");
      await until("the exits handled", async () => {
        const st = await Promise.all([always, no, onFailure].map((id) => d.inspect(id)));
        return st[1].State.Status === "exited" && st.every((s) => s.RestartCount >= 0) &&
          st[0].State.Running && st[0].RestartCount === 1 && st[2].State.Running &&
          st[2].RestartCount === 1;
      });
      assert.equal((await d.inspect(no)).State.ExitCode, 137);
      // No orphan: every init of the killed shim is dead, restarted ones run under a new shim.
      for (const p of before) assert.ok(!isAlive(p), `init ${p.pid} outlived its shim`);
      const after = await pidsOf(d, always);
      assert.notEqual(after.ppid, shim);
      assert.equal((await pidsOf(d, onFailure)).ppid, after.ppid, "restarted into one new group");
    }, { args: GROUP }),
);

Deno.test(
  "groups: upgrades (v1 and v2 shims per container, an older group version); restore adopts every kind",
  integration,
  () =>
    withDaemon(async (d) => {
      // An older daemon: one shim per container (the contract's first form).
      await d.start(["--shim-group-size", "1"]);
      const old = await runSleeper(d);
      const oldPids = await pidsOf(d, old);
      assert.ok(!argv(oldPids.ppid).includes("--group"));
      // Interactive ones: a v2 shim's (an attach socket), and a stand-in for a
      // v1 shim's (its socket file gone: a v1 shim made none).
      const echo = ["busybox", "sh", "-c", "echo up; while read l; do echo got-$l; done"];
      const v2 = await d.ok("run", "-d", "-i", ...echo);
      const v1 = await d.ok("run", "-d", "-i", ...echo);
      Deno.removeSync(`${d.state}/containers/${v1}/attach.sock`);
      await d.stop();

      // The upgraded daemon: groups; the old shim keeps serving its container.
      await d.start(GROUP);
      assert.equal(await d.status(old), "running");
      const fresh = [await runSleeper(d), await runSleeper(d)];
      const freshPids = await Promise.all(fresh.map((id) => pidsOf(d, id)));
      assert.equal(freshPids[0].ppid, freshPids[1].ppid);
      assert.notEqual(freshPids[0].ppid, oldPids.ppid, "new containers go to a group shim");

      // That group shim now speaks an older control protocol (its socket's name
      // says the version): after a crash and a restore it keeps its containers,
      // and a new container goes to a shim of the current version.
      const [socket] = [...Deno.readDirSync(`${d.state}/shims`)].map((e) => e.name);
      assert.match(socket, new RegExp(`\\.v${SHIM_CONTRACT_VERSION}\\.sock$`));
      Deno.renameSync(
        `${d.state}/shims/${socket}`,
        `${d.state}/shims/${
          socket.replace(`.v${SHIM_CONTRACT_VERSION}.`, `.v${SHIM_CONTRACT_VERSION - 1}.`)
        }`,
      );
      await d.kill9();
      await d.start(GROUP);
      for (const id of [old, ...fresh, v1, v2]) assert.equal(await d.status(id), "running");
      // The v2 run's stdin is still reached through its shim; the v1 run's
      // output through its log.
      assert.equal(await attachWithStdin(d, v2, "after-restore\n"), 0);
      await until("v2's stdin", async () => /got-after-restore/.test(await d.ok("logs", v2)));
      assert.match(await d.ok("logs", v1), /^up$/m);
      const v1Pid = (await pidsOf(d, v1)).pid;
      const newer = await runSleeper(d);
      const newerShim = (await pidsOf(d, newer)).ppid;
      assert.ok(![oldPids.ppid, freshPids[0].ppid].includes(newerShim), "a current-version shim");
      // Every kind's exits are still seen.
      Deno.kill(oldPids.pid, "SIGKILL");
      Deno.kill(freshPids[0].pid, "SIGKILL");
      Deno.kill(v1Pid, "SIGKILL");
      await until("the exits", async () =>
        (await d.status(old)) === "exited" && (await d.status(fresh[0])) === "exited" &&
        (await d.status(v1)) === "exited");
      assert.equal((await d.inspect(v1)).State.ExitCode, 137);
      assert.equal(await d.status(v2), "running");
      assert.equal(await d.status(fresh[1]), "running");
      assert.equal(await d.status(newer), "running");
    }, { start: false, args: [] }),
);

Deno.test(
  "groups: a daemon SIGKILLed while a container joins leaves it cleanly failed, its group intact",
  integration,
  () =>
    withDaemon(async (d) => {
      // A runtime whose `create` is slow while `slow` exists: the kill lands mid-join.
      const slow = `${d.dir}/slow`, creating = `${d.dir}/creating`;
      const runtime = `${d.dir}/runc-slow`;
      await Deno.writeTextFile(
        runtime,
        `#!/bin/sh\nfor a in "$@"; do if [ "$a" = create ] && [ -e ${slow} ]; then ` +
          `touch ${creating}; sleep 1; fi; done\nexec runc "$@"\n`,
        { mode: 0o755 },
      );
      const args = [...GROUP, "--runtime", runtime];
      await d.start(args);
      const first = await runSleeper(d);
      const firstPids = await pidsOf(d, first);
      const { Id: joining } = await d.api.json<{ Id: string }>("POST", "/containers/create", {
        Image: "busybox",
        Cmd: ["sleep", "600"],
      });
      await Deno.writeTextFile(slow, "");
      const start = d.api.call("POST", `/containers/${joining}/start`).catch(() => null);
      await until("runc create under way", () => Promise.resolve(existsSync(creating)));
      await d.kill9();
      await start;
      await Deno.remove(slow);
      // The shim finishes the create, gets no ack, and deletes the container.
      // (Before: the wrapper's process names the id; between create and delete: runc's state.)
      await until("the aborted join deleted", () =>
        Promise.resolve(
          !existsSync(`${d.state}/runc/${joining}`) && processesMentioning(joining).length === 0,
        ));

      await d.start(args);
      assert.notEqual(await d.status(joining), "running");
      assert.deepEqual(processesMentioning(joining).map(argv), [], "nothing of the join runs");
      assert.equal(await d.status(first), "running", "its group's other container runs on");
      assert.deepEqual(await pidsOf(d, first), firstPids);
      // And it starts normally afterwards, into the same group.
      await d.ok("start", joining);
      assert.equal((await pidsOf(d, joining)).ppid, firstPids.ppid);
    }, { start: false }),
);
