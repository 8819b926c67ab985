import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { exitFifoPath, exitFilePath } from "../shim/mod.ts";
import { StateDir } from "./bundle.ts";

Deno.test("the state dir's layout: runc's root and one bundle per container", () => {
  const state = new StateDir("/run/corral");
  assert.equal(state.runcRoot, "/run/corral/runc");
  const bundle = state.bundle("ID");
  assert.equal(bundle.dir, "/run/corral/containers/ID");
  assert.equal(bundle.rootfs, "/run/corral/containers/ID/rootfs");
  assert.equal(bundle.spec, "/run/corral/containers/ID/config.json");
  assert.equal(bundle.exitFifo, exitFifoPath(bundle.dir), "the shim contract names the fifo");
  assert.equal(bundle.execPidFile("E"), "/run/corral/containers/ID/exec-E.pid");
});

Deno.test("a bundle is created with its rootfs and without an earlier exit file, and deleted whole", async () => {
  const tmp = await Deno.makeTempDir();
  try {
    const state = new StateDir(tmp);
    assert.deepEqual(state.bundleIds(), [], "no containers dir yet");
    const bundle = state.bundle("ID");
    await Deno.mkdir(bundle.dir, { recursive: true });
    await Deno.writeTextFile(exitFilePath(bundle.dir), "{}");
    await bundle.create();
    assert.ok(Deno.statSync(bundle.rootfs).isDirectory);
    assert.ok(!existsSync(exitFilePath(bundle.dir)));
    await Deno.writeTextFile(join(dirname(bundle.dir), "not-a-bundle"), "");
    assert.deepEqual(state.bundleIds(), ["ID"]);
    await bundle.delete();
    assert.ok(!existsSync(bundle.dir));
    await bundle.delete();
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});
