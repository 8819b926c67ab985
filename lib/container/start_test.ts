import assert from "node:assert/strict";
import { StartFailure } from "../runtime/mod.ts";
import { fakeService } from "./_fake_system.ts";
import type { ContainerService } from "./service.ts";

async function withService(
  fn: (t: Awaited<ReturnType<typeof fakeService>>) => Promise<void>,
): Promise<void> {
  const t = await fakeService();
  try {
    await fn(t);
  } finally {
    await t.svc.close();
    await Deno.remove(t.root, { recursive: true });
  }
}

function create(svc: ContainerService, hostConfig = {}): Promise<string> {
  return svc.create({ config: { Image: "busybox", Cmd: ["true"] }, hostConfig });
}

Deno.test("start: the pids are persisted before runc start, then running", () =>
  withService(async ({ svc, sys, events }) => {
    const id = await create(svc);
    await svc.start(id);
    const c = svc.store.get(id);
    assert.equal(c.rec.State.Status, "running");
    assert.deepEqual(sys.calls, ["create", "watch", "start"]);
    const atStart = sys.stateAtStart as { State: { Pid: number; Status: string } };
    assert.equal(atStart.State.Pid, c.rec.State.Pid, "pids on disk before runc start");
    assert.equal(atStart.State.Status, "created");
    assert.deepEqual(events.actions, ["create", "start"]);
  }));

Deno.test("start: a failed runc start is recorded with its typed code once the init is gone", () =>
  withService(async ({ svc, sys, events }) => {
    const id = await create(svc);
    sys.startError = new StartFailure('exec: "/no/such": stat /no/such: no such file or directory');
    await assert.rejects(svc.start(id), StartFailure);
    const st = svc.store.get(id).rec.State;
    assert.equal(st.Status, "exited");
    assert.equal(st.ExitCode, 127);
    assert.match(st.Error, /no such file/);
    assert.ok(sys.calls.includes("killAndWait"), "the created init was killed");
    assert.ok(sys.calls.includes("cleanup"));
    assert.deepEqual(events.actions, ["create", "die"], "no start event for a failed start");
  }));

Deno.test("start: a failed create is released; a failed release goes to the gc", () =>
  withService(async ({ svc, sys }) => {
    const id = await create(svc);
    sys.createError = new StartFailure("permission denied");
    await assert.rejects(svc.start(id), /permission denied/);
    assert.equal(svc.store.get(id).rec.State.ExitCode, 126);
    assert.equal(svc.store.get(id).rec.State.Status, "exited");
    assert.deepEqual(sys.calls, ["create", "cleanup"]);

    // Without a gc the container is dead with the reason; with one, the gc owns it.
    const { GcHandler } = await import("../gc/mod.ts");
    const gcRoot = await Deno.makeTempDir();
    svc.setGc(
      new GcHandler(gcRoot, {
        reclaim: () => Promise.resolve(),
        finished: () => Promise.resolve(),
        failed: () => {},
      }),
    );
    sys.cleanupError = new Error("umount2: EBUSY");
    await assert.rejects(svc.start(id));
    const st = svc.store.get(id).rec.State;
    assert.equal(st.Status, "gc");
    assert.equal(st.GC?.LastError, "umount2: EBUSY");
    await assert.rejects(svc.start(id), /being cleaned up \(gc\)/);
    await Deno.remove(gcRoot, { recursive: true });
  }));

Deno.test("exit: the exit file's code, die, and the restart policy's restart", () =>
  withService(async ({ svc, sys, events }) => {
    const id = await create(svc, { RestartPolicy: { Name: "on-failure", MaximumRetryCount: 1 } });
    await svc.start(id);
    const c = svc.store.get(id);
    const seq = c.runSeq;
    sys.exit(id, 3);
    await c.waitFor(() => c.runSeq > seq && c.rec.State.Status === "restarting");
    assert.equal(c.rec.RestartCount, 1);
    assert.equal(c.rec.State.FailureCount, 1);
    await c.waitFor(() => c.rec.State.Status === "running");
    sys.exit(id, 3);
    await c.waitFor(() => c.rec.State.Status === "exited" && !c.exitHandled);
    assert.equal(c.rec.State.ExitCode, 3);
    assert.equal(c.rec.RestartCount, 1, "on-failure:1 restarted once");
    assert.deepEqual(events.actions, ["create", "start", "die", "start", "restart", "die"]);
  }));

Deno.test("stop: a manual stop holds the policy; kill during a stop interrupts it", () =>
  withService(async ({ svc, sys }) => {
    const id = await create(svc, { RestartPolicy: { Name: "always", MaximumRetryCount: 0 } });
    await svc.start(id);
    // The fake init ignores SIGTERM: the stop waits out its timeout, kill cuts it short.
    const stop = svc.stop(id, 3600);
    // Under load the stop may take a while to reach its wait: poll, bounded.
    for (let i = 0; i < 500 && !svc.store.get(id).stopping; i++) {
      await new Promise((r) => setTimeout(r, 10));
    }
    assert.equal(svc.store.get(id).stopping, true);
    await svc.kill(id);
    await stop;
    const c = svc.store.get(id);
    assert.equal(c.rec.State.Status, "exited");
    assert.equal(c.rec.State.ExitCode, 137);
    assert.equal(c.rec.State.HasBeenManuallyStopped, true);
    assert.equal(c.restartPending, false, "always holds after a manual stop");
    assert.ok(sys.calls.includes("signal 15") && sys.calls.includes("signal 9"));
  }));

Deno.test("remove: a --rm container whose start failed is removed", () =>
  withService(async ({ svc, sys }) => {
    const id = await create(svc, { AutoRemove: true });
    sys.startError = new StartFailure("boom");
    await assert.rejects(svc.start(id));
    assert.equal(svc.store.find(id), null);
  }));
