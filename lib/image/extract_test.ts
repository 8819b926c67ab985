import assert from "node:assert/strict";
import { join } from "node:path";
import { type CorralError, errorKind } from "../errdefs/mod.ts";
import { type CraftEntry, craftTar, listDir, streamOf, withTempDir } from "./_test_utils.ts";
import { extractTar } from "./extract.ts";

/** Layout of a test: the layer being extracted and a sibling dir an attack would aim at. */
async function setup(dir: string): Promise<{ dest: string; outside: string }> {
  const dest = join(dir, "layer");
  const outside = join(dir, "outside");
  await Deno.mkdir(dest);
  await Deno.mkdir(outside);
  return { dest, outside };
}

function extract(entries: CraftEntry[], dest: string) {
  return extractTar(streamOf(craftTar(entries)), dest);
}

async function assertInvalid(p: Promise<unknown>, message: RegExp): Promise<void> {
  await assert.rejects(p, (err: CorralError) => {
    assert.equal(errorKind(err), "invalid");
    assert.match(err.message, message);
    return true;
  });
}

Deno.test("extractTar refuses ../ traversal and writes nothing outside", async () => {
  await withTempDir(async (dir) => {
    const { dest, outside } = await setup(dir);
    await assertInvalid(
      extract([{ name: "ok", data: "1" }, { name: "../../outside/x", data: "pwned" }], dest),
      /escapes the root/,
    );
    await assertInvalid(extract([{ name: "a/../../outside/y", data: "pwned" }], dest), /escapes/);
    assert.deepEqual(await listDir(outside), []);
    assert.deepEqual(await listDir(dir), ["layer", "outside"]);
  });
});

Deno.test("extractTar makes absolute paths relative to the root", async () => {
  await withTempDir(async (dir) => {
    const { dest } = await setup(dir);
    await extract([{ name: "/etc/motd", data: "hi" }, { name: "./a//b/../c", data: "c" }], dest);
    assert.equal(await Deno.readTextFile(join(dest, "etc/motd")), "hi");
    assert.equal(await Deno.readTextFile(join(dest, "a/c")), "c");
  });
});

Deno.test("extractTar refuses to write through a symlinked parent", async () => {
  await withTempDir(async (dir) => {
    const { dest, outside } = await setup(dir);
    await assertInvalid(
      extract([
        { name: "evil", type: "2", linkname: outside },
        { name: "evil/pwned", data: "pwned" },
      ], dest),
      /parent "evil" is a symlink/,
    );
    // A relative link climbing out is the same attack.
    await assertInvalid(
      extract([
        { name: "rel", type: "2", linkname: "../outside" },
        { name: "rel/sub/pwned", type: "5" },
      ], dest),
      /is a symlink/,
    );
    assert.deepEqual(await listDir(outside), []);
    // The symlinks themselves are created as they are.
    assert.equal(await Deno.readLink(join(dest, "evil")), outside);
  });
});

Deno.test("extractTar replaces a symlink by a later file, not writing through it", async () => {
  await withTempDir(async (dir) => {
    const { dest, outside } = await setup(dir);
    await Deno.writeTextFile(join(outside, "target"), "original");
    await extract([
      { name: "l", type: "2", linkname: join(outside, "target") },
      { name: "l", data: "new" },
    ], dest);
    assert.equal(await Deno.readTextFile(join(outside, "target")), "original");
    assert.equal((await Deno.lstat(join(dest, "l"))).isFile, true);
    assert.equal(await Deno.readTextFile(join(dest, "l")), "new");
  });
});

Deno.test("extractTar skips device nodes and fifos", async () => {
  await withTempDir(async (dir) => {
    const { dest } = await setup(dir);
    const { skipped } = await extract([
      { name: "dev/null", type: "3" },
      { name: "dev/sda", type: "4" },
      { name: "dev/fifo", type: "6" },
      { name: "dev/ok", data: "ok" },
    ], dest);
    assert.equal(skipped.length, 3);
    assert.match(skipped[0], /^dev\/null: char device/);
    assert.deepEqual(await listDir(join(dest, "dev")), ["ok"]);
  });
});

Deno.test("extractTar refuses hard links to outside or missing targets", async () => {
  await withTempDir(async (dir) => {
    const { dest, outside } = await setup(dir);
    await Deno.writeTextFile(join(outside, "secret"), "secret");
    await assertInvalid(
      extract([{ name: "h", type: "1", linkname: "../outside/secret" }], dest),
      /escapes the root/,
    );
    // An absolute target means the layer's own path, which does not exist.
    await assertInvalid(
      extract([{ name: "h", type: "1", linkname: join(outside, "secret") }], dest),
      /not in the archive/,
    );
    await assertInvalid(
      extract([
        { name: "s", type: "2", linkname: outside },
        { name: "h", type: "1", linkname: "s/secret" },
      ], dest),
      /is a symlink/,
    );
    assert.equal((await Deno.stat(join(outside, "secret"))).nlink, 1);
    assert.equal(await Deno.readTextFile(join(outside, "secret")), "secret");
  });
});

Deno.test("extractTar creates hard links inside the layer", async () => {
  await withTempDir(async (dir) => {
    const { dest } = await setup(dir);
    await extract([{ name: "a", data: "same" }, { name: "b/c", type: "1", linkname: "a" }], dest);
    const [a, c] = [await Deno.stat(join(dest, "a")), await Deno.stat(join(dest, "b/c"))];
    assert.equal(a.ino, c.ino);
    assert.equal(a.nlink, 2);
  });
});

Deno.test("extractTar keeps modes, owners and times", async () => {
  await withTempDir(async (dir) => {
    const { dest } = await setup(dir);
    await extract([
      { name: "bin/", type: "5", mode: 0o711, uid: 7, gid: 8, mtime: 1_000_000 },
      { name: "bin/su", data: "#!", mode: 0o4755, uid: 0, gid: 0, mtime: 2_000_000 },
      { name: "tmp/", type: "5", mode: 0o1777 },
      { name: "home/u/f", data: "f", mode: 0o600, uid: 1000, gid: 1000 },
      { name: "home/u/l", type: "2", linkname: "f", uid: 1000, gid: 1001 },
    ], dest);
    const bin = await Deno.stat(join(dest, "bin"));
    assert.equal(bin.mode! & 0o7777, 0o711);
    assert.deepEqual([bin.uid, bin.gid, bin.mtime?.getTime()], [7, 8, 1_000_000_000]);
    const su = await Deno.stat(join(dest, "bin/su"));
    assert.equal(su.mode! & 0o7777, 0o4755);
    assert.equal(su.mtime?.getTime(), 2_000_000_000);
    assert.equal((await Deno.stat(join(dest, "tmp"))).mode! & 0o7777, 0o1777);
    const f = await Deno.stat(join(dest, "home/u/f"));
    assert.deepEqual([f.mode! & 0o7777, f.uid, f.gid], [0o600, 1000, 1000]);
    const l = await Deno.lstat(join(dest, "home/u/l"));
    assert.deepEqual([l.isSymlink, l.uid, l.gid], [true, 1000, 1001]);
    // Missing parents are created as plain root-owned directories.
    assert.equal((await Deno.stat(join(dest, "home"))).mode! & 0o7777, 0o755);
  });
});

Deno.test("extractTar lets later entries replace earlier ones and merges directories", async () => {
  await withTempDir(async (dir) => {
    const { dest } = await setup(dir);
    await extract([
      { name: "f", data: "old" },
      { name: "f", data: "new" },
      { name: "d/", type: "5" },
      { name: "d/one", data: "1" },
      { name: "d/", type: "5", mode: 0o700 },
      { name: "d/two", data: "2" },
      { name: "x/inner", data: "gone" },
      { name: "x", data: "file now" },
    ], dest);
    assert.equal(await Deno.readTextFile(join(dest, "f")), "new");
    assert.deepEqual(await listDir(join(dest, "d")), ["one", "two"]);
    assert.equal((await Deno.stat(join(dest, "d"))).mode! & 0o7777, 0o700);
    assert.equal(await Deno.readTextFile(join(dest, "x")), "file now");
  });
});

Deno.test("extractTar refuses an entry under a regular file", async () => {
  await withTempDir(async (dir) => {
    const { dest } = await setup(dir);
    await assertInvalid(
      extract([{ name: "f", data: "x" }, { name: "f/g", data: "y" }], dest),
      /not a directory/,
    );
  });
});
