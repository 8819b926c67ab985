import assert from "node:assert/strict";
import { EXIT_CODE_NO_EXIT_FILE, type ExitSystem, handleExit, runDurationMs } from "./exit.ts";

const pids = { pid: 100, startTime: 1, ppid: 99, pStartTime: 1 };
const run = { startedAt: "2024-01-01T00:00:00.000Z", memoryLimited: true };

/** A system where each fact is set by the test and each action recorded. */
function fakeSystem(over: Partial<ExitSystem> = {}): ExitSystem & { calls: string[] } {
  const calls: string[] = [];
  return {
    calls,
    readExitFile: () => Promise.resolve({ exitCode: 3, finishedAt: "2024-01-01T00:00:02.000Z" }),
    isAlive: () => false,
    killAndWait: () => {
      calls.push("kill");
      return Promise.resolve(true);
    },
    oomKilled: () => false,
    cleanup: () => {
      calls.push("cleanup");
      return Promise.resolve();
    },
    ...over,
  };
}

Deno.test("an exit: the exit file's code and time, how long it ran, cleaned up", async () => {
  const sys = fakeSystem();
  const out = await handleExit(sys, "ID", pids, run);
  assert.deepEqual(out, {
    exitCode: 3,
    finishedAt: "2024-01-01T00:00:02.000Z",
    ranForMs: 2000,
    oomKilled: false,
    failure: "",
  });
  assert.deepEqual(sys.calls, ["cleanup"], "no init left to kill");
});

Deno.test("a shim killed before it wrote the exit file: 137, now", async () => {
  const before = Date.now();
  const out = await handleExit(
    fakeSystem({ readExitFile: () => Promise.resolve(null) }),
    "ID",
    pids,
    run,
  );
  assert.equal(out.exitCode, EXIT_CODE_NO_EXIT_FILE);
  assert.ok(Date.parse(out.finishedAt) >= before);
});

Deno.test("an init that outlived its shim is killed before the cleanup", async () => {
  const sys = fakeSystem({ isAlive: (p) => p.pid === pids.pid });
  assert.equal((await handleExit(sys, "ID", pids, run)).failure, "");
  assert.deepEqual(sys.calls, ["kill", "cleanup"]);

  const stuck = fakeSystem({ isAlive: () => true, killAndWait: () => Promise.resolve(false) });
  const out = await handleExit(stuck, "ID", pids, run);
  assert.match(out.failure, /would not die/);
  assert.deepEqual(stuck.calls, [], "no cleanup under a live process");
});

Deno.test("a failed cleanup is the outcome's failure (the gc takes it), never a throw", async () => {
  const sys = fakeSystem({ cleanup: () => Promise.reject(new Error("umount2 rootfs: EBUSY")) });
  const out = await handleExit(sys, "ID", pids, run);
  assert.equal(out.failure, "umount2 rootfs: EBUSY");
  assert.equal(out.exitCode, 3, "the exit code survives a failed cleanup");
});

Deno.test("the OOM killer is asked only about a memory-limited container", async () => {
  const sys = fakeSystem({ oomKilled: () => true });
  assert.equal((await handleExit(sys, "ID", pids, run)).oomKilled, true);
  const unlimited = { ...run, memoryLimited: false };
  assert.equal((await handleExit(sys, "ID", pids, unlimited)).oomKilled, false);
});

Deno.test("a run that never started lasted 0 ms", () => {
  assert.equal(runDurationMs("0001-01-01T00:00:00Z", "2024-01-01T00:00:00Z"), 0);
  assert.equal(runDurationMs("2024-01-01T00:00:05Z", "2024-01-01T00:00:00Z"), 0);
});
