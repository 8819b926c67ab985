import assert from "node:assert/strict";
import { join } from "node:path";
import { isAlive, processStartTime } from "../sys/mod.ts";
import { type GcEntry, GcHandler, type GcHooks, retryDelayMs } from "./gc.ts";

function entry(id: string, over: Partial<GcEntry> = {}): GcEntry {
  return {
    id,
    pid: 0,
    startTime: 0,
    ppid: 0,
    pStartTime: 0,
    exitCode: 3,
    finishedAt: "2024-01-01T00:00:00Z",
    ranForMs: 1000,
    lastError: "umount2 rootfs: EBUSY",
    tries: 0,
    ...over,
  };
}

const noHooks: GcHooks = {
  reclaim: () => Promise.resolve(),
  finished: () => Promise.resolve(),
  failed: () => {},
};

async function readList(root: string): Promise<GcEntry[]> {
  return JSON.parse(await Deno.readTextFile(join(root, "gc.json"))).entries;
}

async function until(cond: () => boolean, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error("timed out");
    await new Promise((r) => setTimeout(r, 10));
  }
}

Deno.test("the list is written atomically and de-duplicated by id", async () => {
  const root = await Deno.makeTempDir();
  try {
    const gc = new GcHandler(root, noHooks);
    await gc.add(entry("a"));
    await gc.add(entry("b"));
    await gc.add(entry("a", { lastError: "remove cgroup: EBUSY" }));
    const onDisk = await readList(root);
    assert.deepEqual(onDisk.map((e) => e.id).sort(), ["a", "b"]);
    assert.equal(onDisk.find((e) => e.id === "a")?.lastError, "remove cgroup: EBUSY");
    const names = [...Deno.readDirSync(root)].map((e) => e.name);
    assert.deepEqual(names, ["gc.json"], "no temp file left behind");

    const again = new GcHandler(root, noHooks);
    const { entries, error } = await again.load();
    assert.equal(error, undefined);
    assert.deepEqual(entries.map((e) => e.id).sort(), ["a", "b"]);
    assert.ok(again.has("a") && again.has("b"));
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("a missing list loads empty without an error", async () => {
  const root = await Deno.makeTempDir();
  try {
    const { entries, error } = await new GcHandler(root, noHooks).load(() => {
      throw new Error("recover must not run for a missing file");
    });
    assert.deepEqual(entries, []);
    assert.equal(error, undefined);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("a torn list is reported, kept aside, and recovered from the states", async () => {
  const root = await Deno.makeTempDir();
  try {
    const torn = '{"version":1,"entries":[{"id":"a","pid":';
    await Deno.writeTextFile(join(root, "gc.json"), torn);
    const gc = new GcHandler(root, noHooks);
    const { entries, error } = await gc.load(() => Promise.resolve([entry("a"), entry("b")]));
    assert.match(error ?? "", /gc list .*gc\.json is corrupt/);
    assert.match(error ?? "", /recovered from container states/);
    assert.equal(await Deno.readTextFile(join(root, "gc.json.corrupt")), torn);
    assert.deepEqual(entries.map((e) => e.id).sort(), ["a", "b"]);
    assert.deepEqual((await readList(root)).map((e) => e.id).sort(), ["a", "b"]);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("a list with a malformed entry keeps the good ones and recovers the rest", async () => {
  const root = await Deno.makeTempDir();
  try {
    const good = entry("a", { lastError: "from the list" });
    await Deno.writeTextFile(
      join(root, "gc.json"),
      JSON.stringify({ version: 1, entries: [good, { id: "b", pid: "x" }] }),
    );
    const gc = new GcHandler(root, noHooks);
    const recovered = [entry("a", { lastError: "from the state" }), entry("b")];
    const { entries, error } = await gc.load(() => Promise.resolve(recovered));
    assert.match(error ?? "", /1 malformed entry/);
    assert.deepEqual(entries.map((e) => e.id).sort(), ["a", "b"]);
    assert.equal(gc.get("a")?.lastError, "from the list");
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("retryDelayMs backs off from 100 ms to a 5 s cap", () => {
  assert.deepEqual(
    [0, 1, 2, 3, 4, 5, 6, 7, 100].map(retryDelayMs),
    [100, 100, 200, 400, 800, 1600, 3200, 5000, 5000],
  );
});

Deno.test("a failing entry is retried on its schedule, each distinct error logged once", async () => {
  const root = await Deno.makeTempDir();
  const errors = ["A", "A", "A", "B"];
  const tries: number[] = [];
  const reported: { error: string; distinct: boolean }[] = [];
  const finished: GcEntry[] = [];
  const gc = new GcHandler(root, {
    reclaim: () => {
      tries.push(Date.now());
      const e = errors.shift();
      return e ? Promise.reject(new Error(e)) : Promise.resolve();
    },
    finished: (e) => {
      finished.push(e);
      return Promise.resolve();
    },
    failed: (e, distinct) => reported.push({ error: e.lastError, distinct }),
  });
  try {
    // As the supervisor adds it: the first error is already known (and logged).
    await gc.add(entry("a", { lastError: "A" }));
    gc.start();
    await until(() => finished.length === 1);
    assert.deepEqual(reported, [
      { error: "A", distinct: false },
      { error: "A", distinct: false },
      { error: "A", distinct: false },
      { error: "B", distinct: true },
    ]);
    assert.equal(tries.length, 5);
    for (let i = 1; i < tries.length; i++) {
      const gap = tries[i] - tries[i - 1];
      assert.ok(gap >= retryDelayMs(i) - 15, `try ${i + 1} came ${gap} ms after try ${i}`);
    }
    assert.equal(finished[0].tries, 4);
    assert.equal(gc.has("a"), false);
    assert.deepEqual(await readList(root), []);
  } finally {
    await gc.stop();
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("a throwing hook does not stop the loop; stop keeps the list", async () => {
  const root = await Deno.makeTempDir();
  const done: string[] = [];
  const gc = new GcHandler(root, {
    reclaim: (e) => e.id === "stuck" ? Promise.reject(new Error("EBUSY")) : Promise.resolve(),
    finished: (e) => {
      done.push(e.id);
      return e.id === "a" ? Promise.reject(new Error("state save failed")) : Promise.resolve();
    },
    failed: () => {
      throw new Error("a broken logger");
    },
  });
  try {
    await gc.add(entry("stuck"));
    await gc.add(entry("a"));
    await gc.add(entry("b"));
    gc.start();
    await until(() => done.length === 2);
    assert.deepEqual(done.sort(), ["a", "b"]);
    await gc.stop();
    const triesAtStop = gc.get("stuck")?.tries ?? 0;
    assert.ok(triesAtStop >= 1);
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(gc.get("stuck")?.tries, triesAtStop, "no try after stop");
    assert.deepEqual((await readList(root)).map((e) => e.id), ["stuck"]);
  } finally {
    await gc.stop();
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("pid reuse: a process with another start time is never signalled", async () => {
  const root = await Deno.makeTempDir();
  // An unrelated process that now holds the pids the entry recorded.
  const stranger = new Deno.Command("sleep", { args: ["30"] }).spawn();
  const victim = new Deno.Command("sleep", { args: ["30"] }).spawn();
  const finished: string[] = [];
  const gc = new GcHandler(root, {
    ...noHooks,
    finished: (e) => {
      finished.push(e.id);
      return Promise.resolve();
    },
  });
  try {
    const real = processStartTime(stranger.pid);
    assert.ok(real > 0);
    await gc.add(entry("reused", {
      pid: stranger.pid,
      startTime: real + 1,
      ppid: stranger.pid,
      pStartTime: real + 2,
    }));
    await gc.add(entry("unknown", { pid: stranger.pid, startTime: 0, ppid: stranger.pid }));
    // The control: the same pass does kill a process whose identity matches.
    const victimStart = processStartTime(victim.pid);
    await gc.add(entry("real", { pid: victim.pid, startTime: victimStart }));
    gc.start();
    await until(() => finished.length === 3);
    assert.equal((await victim.status).signal, "SIGKILL");
    assert.ok(isAlive({ pid: stranger.pid, startTime: real }), "the unrelated process lives");
    const early = await Promise.race([stranger.status, new Promise((r) => setTimeout(r, 100))]);
    assert.equal(early, undefined, "the unrelated process was not signalled");
  } finally {
    await gc.stop();
    try {
      stranger.kill("SIGKILL");
    } catch {
      // Already gone (the test failed).
    }
    try {
      victim.kill("SIGKILL");
    } catch {
      // Killed by the gc.
    }
    await stranger.status;
    await victim.status;
    await Deno.remove(root, { recursive: true });
  }
});
