import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { errorKind } from "../errdefs/mod.ts";
import { MS } from "../sys/mod.ts";
import { COPY_DIR, copyUp, type CopyUpTarget, resolveInRoot } from "./copy_up.ts";
import { ANONYMOUS_LABEL, validateVolumeName } from "./model.ts";
import { mountPlan } from "./options.ts";
import { VolumeStore } from "./store.ts";

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "corral-volume-test-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

const names = (dir: string) => [...Deno.readDirSync(dir)].map((e) => e.name).sort();

/** A source tree of `n` files and a subdirectory. */
async function source(dir: string, n: number): Promise<string> {
  const src = join(dir, "src");
  await Deno.mkdir(join(src, "sub"), { recursive: true });
  for (let i = 0; i < n; i++) await Deno.writeTextFile(join(src, `f${i}`), `${i}`);
  await Deno.writeTextFile(join(src, "sub", "deep"), "deep");
  return src;
}

/** A copy-up target whose marker is kept in memory; `failMark` makes the marker write fail. */
function target(data: string, failMark = false): CopyUpTarget & { marks: boolean[] } {
  const t = {
    data,
    moving: false,
    marks: [] as boolean[],
    mark(moving: boolean) {
      if (failMark) return Promise.reject(new Error("disk full"));
      t.moving = moving;
      t.marks.push(moving);
      return Promise.resolve();
    },
  };
  return t;
}

Deno.test("volume names and driver options are checked as Docker's local driver does", () => {
  assert.equal(validateVolumeName("db-data_1.x"), "db-data_1.x");
  for (const bad of ["../x", "a/b", "x", ".hidden", "", "a b", "a".repeat(256)]) {
    assert.throws(() => validateVolumeName(bad), (e: Error) => errorKind(e) === "invalid", bad);
  }
  assert.equal(mountPlan({}), null);
  assert.deepEqual(mountPlan({ type: "tmpfs", device: "tmpfs", o: "size=64m,uid=1000,noexec" }), {
    source: "tmpfs",
    fstype: "tmpfs",
    flags: MS.NOEXEC,
    data: "size=64m,uid=1000",
  });
  assert.deepEqual(mountPlan({ type: "none", o: "bind,ro", device: "/tmp" }), {
    source: "/tmp",
    fstype: "",
    flags: MS.RDONLY | MS.BIND | MS.REC,
    data: "",
  });
  const refused: Record<string, string>[] = [
    { type: "ext4", device: "/dev/sda" },
    { type: "tmpfs", o: "size=lots" },
    { type: "tmpfs", o: "exec,bogus=1" },
    { type: "tmpfs", device: "/dev/sda" },
    { type: "none", device: "/tmp" },
    { type: "none", o: "bind", device: "tmp" },
    { type: "none", o: "bind", device: "/nonexistent/dir" },
    { type: "none", o: "bind,size=1", device: "/tmp" },
    { o: "size=1m" },
    { colour: "red" },
  ];
  for (const opts of refused) {
    assert.throws(
      () => mountPlan(opts),
      (e: Error) => errorKind(e) === "invalid",
      JSON.stringify(opts),
    );
  }
});

Deno.test("resolveInRoot follows links as the container sees them, never out of the rootfs", () =>
  withDir(async (root) => {
    await Deno.mkdir(join(root, "etc"));
    await Deno.mkdir(join(root, "var", "lib"), { recursive: true });
    await Deno.symlink("/etc", join(root, "var", "lib", "abs"));
    await Deno.symlink("../../../../../../etc", join(root, "var", "lib", "up"));
    await Deno.symlink("loop", join(root, "loop"));
    assert.equal(resolveInRoot(root, "/var/lib/abs"), join(root, "etc"));
    assert.equal(resolveInRoot(root, "/var/lib/up"), join(root, "etc"));
    assert.equal(resolveInRoot(root, "/../../etc"), join(root, "etc"));
    assert.equal(resolveInRoot(root, "/nope"), null);
    assert.equal(resolveInRoot(root, "/loop"), null);
  }));

Deno.test("copy-up fills an empty volume whole; a marker that cannot be written leaves it empty", () =>
  withDir(async (dir) => {
    const src = await source(dir, 20);
    const data = join(dir, "data");
    await Deno.mkdir(data);
    // The crash point before the marker: the copy is there, not yet taken for done.
    await assert.rejects(copyUp(target(data, true), src), /disk full/);
    assert.deepEqual(names(data), [COPY_DIR], "empty but for the partial copy");
    const t = target(data);
    await copyUp(t, src);
    assert.equal(names(data).length, 21);
    assert.equal(await Deno.readTextFile(join(data, "sub", "deep")), "deep");
    assert.deepEqual(t.marks, [true, false]);
    // Not empty any more: never copied again.
    await Deno.remove(join(data, "f0"));
    await copyUp(target(data), src);
    assert.equal(existsSync(join(data, "f0")), false);
  }));

Deno.test("copy-up marked as moving finishes the move, keeping what was moved", () =>
  withDir(async (dir) => {
    const src = await source(dir, 10);
    const data = join(dir, "data");
    await Deno.mkdir(data);
    // What a crash halfway through the move leaves: some entries in, the rest in the copy.
    const tmp = join(data, COPY_DIR);
    await new Deno.Command("cp", { args: ["-a", `${src}/.`, tmp] }).output();
    for (const name of ["f0", "f1", "sub"]) await Deno.rename(join(tmp, name), join(data, name));
    const t = target(data);
    t.moving = true;
    await copyUp(t, null);
    assert.deepEqual(names(data), names(src));
    assert.deepEqual(t.marks, [false]);
    // No source and a stale partial copy: dropped, the volume stays empty.
    const empty = join(dir, "empty");
    await Deno.mkdir(join(empty, COPY_DIR), { recursive: true });
    await copyUp(target(empty), null);
    assert.deepEqual(names(empty), []);
  }));

Deno.test("the store creates whole, refuses a held volume, and sweeps what a crash left", () =>
  withDir(async (root) => {
    const store = new VolumeStore(root);
    await store.load();
    const v = await store.create({ Name: "db", Labels: { a: "1" } });
    assert.deepEqual(names(join(root, "volumes", "db")), ["_data", "volume.json"]);
    assert.equal((await store.create({ Name: "db" })).CreatedAt, v.CreatedAt, "an existing one");
    const anon = await store.create({ anonymous: true });
    assert.equal(anon.Labels[ANONYMOUS_LABEL], "");
    await assert.rejects(store.create({ Name: "xx", Driver: "nfs" }), /plugin "nfs" not found/);
    await assert.rejects(store.create({ Name: "xx", DriverOpts: { type: "ext4" } }));
    assert.equal(existsSync(join(root, "volumes", "xx")), false);

    await store.acquire("db", "C1", null);
    await assert.rejects(store.remove("db"), /volume is in use - \[C1\]/);
    await store.release("C1");
    await store.remove("db");
    assert.equal(store.find("db"), null);

    // A crash in the middle of a create and of a remove: both swept at load, the rest kept.
    await Deno.mkdir(join(root, "volumes", ".new-half"));
    await Deno.mkdir(join(root, "volumes", ".rm-gone-1234"));
    await Deno.mkdir(join(root, "volumes", "broken"));
    const again = new VolumeStore(root);
    const problems = await again.load();
    assert.equal(problems.length, 1);
    assert.match(problems[0], /volume broken cannot be loaded/);
    assert.deepEqual(again.list().map((x) => x.Name), [anon.Name]);
    assert.deepEqual(names(join(root, "volumes")), [anon.Name, "broken"].sort());
  }));
