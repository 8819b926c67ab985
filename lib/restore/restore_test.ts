import assert from "node:assert/strict";
import {
  Container,
  type ContainerState,
  defaultHostConfig,
  emptyConfig,
  type LifecycleSink,
  newState,
  type RestorePort,
} from "../container/mod.ts";
import { restoreContainers } from "./restore.ts";

const sink: LifecycleSink = {
  persistState: () => Promise.resolve(),
  persistAll: () => Promise.resolve(),
  emit: () => {},
};

function container(id: string, state: Partial<ContainerState>, autoRemove = false): Container {
  return new Container({
    Id: id,
    Name: id,
    Created: "2024-01-01T00:00:00Z",
    Image: "busybox",
    ImageID: "sha256:0",
    Config: emptyConfig({ Image: "busybox", Cmd: ["true"] }),
    HostConfig: { ...defaultHostConfig(), AutoRemove: autoRemove },
    State: { ...newState(), ...state },
    RestartCount: 0,
  }, sink);
}

const RUN = { Pid: 10, StartTime: 1, PPid: 9, PStartTime: 1, StartedAt: "2024-01-01T00:00:00Z" };
const RUNNING = { ...RUN, Status: "running" as const, Running: true };

/** A port whose system facts the test sets, recording what restore asked of it. */
function fakePort(
  containers: Container[],
  facts: {
    alive?: number[];
    fifo?: string[];
    runc?: Record<string, string>;
    stateDirs?: string[];
    exitFiles?: string[];
  },
): RestorePort & { calls: string[] } {
  const calls: string[] = [];
  const did = (what: string) => (c: Container | string) => {
    calls.push(`${what} ${typeof c === "string" ? c : c.id}`);
    return Promise.resolve();
  };
  return {
    calls,
    sys: {
      openExitFifo: (id) => facts.fifo?.includes(id) ? 7 : null,
      closeExitFifo: () => {},
      isAlive: (p) => facts.alive?.includes(p.pid) ?? false,
      killAndWait: () => Promise.resolve(true),
      runcStatus: (id) => Promise.resolve(facts.runc?.[id] ?? null),
      hasStateDir: (id) => facts.stateDirs?.includes(id) ?? false,
      readExitFile: (id) =>
        Promise.resolve(
          facts.exitFiles?.includes(id)
            ? { exitCode: 3, finishedAt: "2024-01-01T00:00:05Z" }
            : null,
        ),
    },
    loadAll: () => Promise.resolve({ containers, failed: [] }),
    hasImage: () => true,
    keepInGc: did("keepInGc"),
    forgetGc: () => Promise.resolve(),
    adopt: (c) => {
      c.adoptRun();
      calls.push(`adopt ${c.id}`);
    },
    resumeChecks: (c) => void calls.push(`resumeChecks ${c.id}`),
    finishExit: (c, _p, end, error) => {
      calls.push(`finishExit ${c.id} ${end.exitCode} ${error ? "failed-start" : ""}`.trim());
      return Promise.resolve();
    },
    readRunEnd: () =>
      Promise.resolve({ exitCode: 3, finishedAt: "2024-01-01T00:00:05Z", ranForMs: 5000 }),
    afterExit: did("afterExit"),
    resumeRestart: did("resumeRestart"),
    reclaimLeftovers: did("reclaimLeftovers"),
    reclaimOrphan: did("reclaimOrphan"),
    remove: did("remove"),
    hasRecord: () => true,
    restored: () => {},
  };
}

async function restore(port: RestorePort): Promise<void> {
  const stateRoot = await Deno.makeTempDir();
  try {
    await restoreContainers(port, stateRoot, { pids: () => [] });
  } finally {
    await Deno.remove(stateRoot, { recursive: true });
  }
}

Deno.test("a live run is supervised again (fifo first, then the shim's identity)", async () => {
  const c = container("live", RUNNING);
  const port = fakePort([c], { alive: [9, 10], fifo: ["live"] });
  await restore(port);
  assert.deepEqual(port.calls, ["adopt live", "resumeChecks live"]);
});

Deno.test("a run that ended while the daemon was down is finished with its exit file", async () => {
  const c = container("gone", RUNNING);
  const port = fakePort([c], { fifo: ["gone"] });
  await restore(port);
  assert.deepEqual(port.calls, ["finishExit gone 3"]);
});

Deno.test("a run that ended under a group shim that lives on is finished, not adopted", async () => {
  // The group shim (pid 9) serves other containers: its being alive says nothing of this run.
  const c = container("ended", RUNNING);
  const port = fakePort([c], { alive: [9], fifo: ["ended"], exitFiles: ["ended"] });
  await restore(port);
  assert.deepEqual(port.calls, ["finishExit ended 3"]);
});

Deno.test("a run caught between runc create and runc start is a failed start (125)", async () => {
  const dead = container("dead", { ...RUN, Status: "created" });
  const port = fakePort([dead], {});
  await restore(port);
  assert.deepEqual(port.calls, ["finishExit dead 125 failed-start"]);

  // Its shim still alive: adopted, then killed; the exit handling records it.
  const alive = container("alive", { ...RUN, Status: "created" });
  const live = fakePort([alive], { alive: [9, 10], fifo: ["alive"], runc: { alive: "created" } });
  const restoring = restore(live);
  await new Promise((r) => setTimeout(r, 10));
  assert.deepEqual(live.calls, ["adopt alive"]);
  assert.equal(alive.startFailure?.code, 125);
  // The exit handler settles the run as the supervisor's would.
  await alive.exited({
    exitCode: 125,
    finishedAt: new Date().toISOString(),
    error: "x",
    oomKilled: false,
  });
  alive.settled();
  await restoring;
});

Deno.test("gc, restarting, exited and leftover states each take their path", async () => {
  const gc = container("gc", { Status: "gc" });
  const waiting = container("waiting", { Status: "restarting", Restarting: true });
  const exited = container("exited", { Status: "exited", StartedAt: RUN.StartedAt });
  const rm = container("rm", { Status: "exited", StartedAt: RUN.StartedAt }, true);
  const left = container("left", { Status: "exited", StartedAt: RUN.StartedAt });
  const port = fakePort([gc, waiting, exited, rm, left], { stateDirs: ["left"] });
  await restore(port);
  assert.deepEqual(port.calls.sort(), [
    "afterExit exited",
    "afterExit left",
    "keepInGc gc",
    "reclaimLeftovers left",
    "remove rm",
    "resumeRestart waiting",
  ]);
});
