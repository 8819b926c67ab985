import assert from "node:assert/strict";
import { join } from "node:path";
import { type CorralError, errorKind } from "../errdefs/mod.ts";
import {
  type CraftEntry,
  craftTar,
  gzip,
  hostTar,
  listDir,
  streamOf,
  withTempDir,
} from "./_test_utils.ts";
import { decompress } from "./compression.ts";
import { extractTar } from "./extract.ts";
import { SizeLimit } from "./size_limit.ts";

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

Deno.test("extractTar refuses a symlinked parent that climbs out of the root", async () => {
  await withTempDir(async (dir) => {
    const { dest, outside } = await setup(dir);
    await assertInvalid(
      extract([
        { name: "rel", type: "2", linkname: "../outside" },
        { name: "rel/sub/pwned", type: "5" },
      ], dest),
      /"rel\/sub\/pwned": a symlink on its path points outside the root/,
    );
    // Deeper, and through a chain of links.
    await assertInvalid(
      extract([
        { name: "a/b/", type: "5" },
        { name: "a/b/up", type: "2", linkname: "../../c" },
        { name: "c", type: "2", linkname: "x/../../outside" },
        { name: "a/b/up/pwned", data: "pwned" },
      ], dest),
      /points outside the root/,
    );
    await assertInvalid(
      extract([
        { name: "l1", type: "2", linkname: "l2" },
        { name: "l2", type: "2", linkname: "l1" },
        { name: "l1/x", data: "x" },
      ], dest),
      /too many levels of symlinks/,
    );
    assert.deepEqual(await listDir(outside), []);
  });
});

Deno.test("extractTar writes under a symlinked parent inside the root (merged /usr)", async () => {
  await withTempDir(async (dir) => {
    const { dest, outside } = await setup(dir);
    await extract([
      { name: "usr/lib/", type: "5" },
      { name: "lib", type: "2", linkname: "usr/lib" },
      { name: "lib/libc.so", data: "libc" },
      { name: "lib/x/y", data: "y" },
      // An absolute target means the image's own root, not the host's.
      { name: "bin", type: "2", linkname: "/usr/bin" },
      { name: "bin/sh", data: "sh" },
      { name: "evil", type: "2", linkname: outside },
      { name: "evil/file", data: "inside" },
      { name: "h", type: "1", linkname: "lib/libc.so" },
    ], dest);
    assert.equal(await Deno.readTextFile(join(dest, "usr/lib/libc.so")), "libc");
    assert.equal(await Deno.readTextFile(join(dest, "usr/lib/x/y")), "y");
    assert.equal(await Deno.readTextFile(join(dest, "usr/bin/sh")), "sh");
    assert.equal(await Deno.readTextFile(join(dest, outside, "file")), "inside");
    assert.equal(await Deno.readLink(join(dest, "lib")), "usr/lib");
    assert.equal(await Deno.readLink(join(dest, "bin")), "/usr/bin");
    assert.equal(
      (await Deno.stat(join(dest, "h"))).ino,
      (await Deno.stat(join(dest, "usr/lib/libc.so"))).ino,
    );
    assert.deepEqual(await listDir(outside), []);
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

Deno.test("extractTar creates device nodes and fifos with their owners and modes", async () => {
  await withTempDir(async (dir) => {
    const { dest } = await setup(dir);
    const { skipped } = await extract([
      { name: "dev/null", type: "3", mode: 0o666, devmajor: 1, devminor: 3 },
      { name: "dev/sda1", type: "4", mode: 0o660, gid: 6, devmajor: 8, devminor: 1 },
      { name: "run/initctl", type: "6", mode: 0o600, uid: 5 },
    ], dest);
    assert.deepEqual(skipped, []);
    const nul = await Deno.lstat(join(dest, "dev/null"));
    assert.deepEqual([nul.isCharDevice, nul.rdev, nul.mode! & 0o7777], [true, 259, 0o666]);
    const sda = await Deno.lstat(join(dest, "dev/sda1"));
    assert.deepEqual([sda.isBlockDevice, sda.rdev, sda.gid, sda.mode! & 0o7777], [
      true,
      2049,
      6,
      0o660,
    ]);
    const fifo = await Deno.lstat(join(dest, "run/initctl"));
    assert.deepEqual([fifo.isFifo, fifo.uid, fifo.mode! & 0o7777], [true, 5, 0o600]);
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
    // Through a symlink: its absolute target is the layer's own path, missing.
    await assertInvalid(
      extract([
        { name: "s", type: "2", linkname: outside },
        { name: "h", type: "1", linkname: "s/secret" },
      ], dest),
      /not in the archive/,
    );
    await assertInvalid(
      extract([
        { name: "s", type: "2", linkname: "../outside" },
        { name: "h", type: "1", linkname: "s/secret" },
      ], dest),
      /outside the root/,
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

/** A 9 MiB file of 30 data regions of 5000 bytes and holes: more regions than a header holds. */
async function makeSparse(path: string): Promise<Uint8Array> {
  const f = await Deno.open(path, { write: true, create: true });
  for (let i = 0; i < 30; i++) {
    await f.seek(i * 262_144, Deno.SeekMode.Start);
    await f.write(new Uint8Array(5000).fill(65 + i % 26));
  }
  await f.truncate(9 << 20);
  f.close();
  return await Deno.readFile(path);
}

const SPARSE_FORMATS: [string, string[]][] = [
  ["old GNU", ["--format=gnu"]],
  ["PAX 0.0", ["--format=posix", "--sparse-version=0.0"]],
  ["PAX 0.1", ["--format=posix", "--sparse-version=0.1"]],
  ["PAX 1.0", ["--format=posix", "--sparse-version=1.0"]],
];

for (const [format, flags] of SPARSE_FORMATS) {
  Deno.test(`extractTar unpacks a sparse file whole, keeping its holes (${format})`, async () => {
    await withTempDir(async (dir) => {
      const { dest } = await setup(dir);
      const content = await makeSparse(join(dir, "sparse.img"));
      const tar = join(dir, "a.tar");
      await hostTar([...flags, "--sparse", "-cf", tar, "-C", dir, "sparse.img"]);
      const { size } = await extractTar((await Deno.open(tar)).readable, dest);
      assert.equal(size, 9 << 20);
      const out = join(dest, "sparse.img");
      assert.deepEqual(await Deno.readFile(out), content);
      // The holes are holes again: well under a MiB on disk.
      assert.ok((await Deno.stat(out)).blocks! * 512 < 1 << 20);
    });
  });
}

Deno.test("extractTar stops at the size limit, holes of sparse files included", async () => {
  await withTempDir(async (dir) => {
    const { dest } = await setup(dir);
    await makeSparse(join(dir, "sparse.img"));
    const tar = join(dir, "a.tar");
    await hostTar(["--format=gnu", "--sparse", "-cf", tar, "-C", dir, "sparse.img"]);
    // 160 KB of data in the archive, 9 MiB once unpacked.
    const limit = new SizeLimit(4 << 20);
    await assertInvalid(
      extractTar(await decompress((await Deno.open(tar)).readable, limit), dest, { limit }),
      /too large: more than 4 MiB uncompressed \(the daemon's --max-image-size\)/,
    );
    // A gzip bomb: a few KB that inflate to 8 MiB of zeros in a file.
    const bomb = await gzip(craftTar([{ name: "zeros", data: "\0".repeat(8 << 20) }]));
    assert.ok(bomb.length < 64 << 10);
    await assertInvalid(
      extractTar(await decompress(streamOf(bomb, 4096), new SizeLimit(1 << 20)), join(dir, "b")),
      /too large: more than 1 MiB/,
    );
  });
});
