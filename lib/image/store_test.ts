import assert from "node:assert/strict";
import { join } from "node:path";
import { type CorralError, errorKind } from "../errdefs/mod.ts";
import { craftTar, gzip, hostTar, listDir, streamOf, withTempDir } from "./_test_utils.ts";
import { ImageStore } from "./store.ts";

const LONG = `${"l".repeat(80)}/${"m".repeat(150)}`;

/** A small rootfs tree with a long name, a symlink and a hard link. */
async function makeRootfs(dir: string, marker = "v1"): Promise<string> {
  const src = join(dir, `rootfs-${marker}`);
  await Deno.mkdir(join(src, "etc"), { recursive: true });
  await Deno.mkdir(join(src, "bin"));
  await Deno.mkdir(join(src, LONG.split("/")[0]));
  await Deno.writeTextFile(join(src, "etc/version"), `${marker}\n`);
  await Deno.writeTextFile(join(src, "bin/tool"), "#!/bin/sh\n", { mode: 0o755 });
  await Deno.chmod(join(src, "bin/tool"), 0o755);
  await Deno.symlink("/bin/tool", join(src, "bin/alias"));
  await Deno.link(join(src, "bin/tool"), join(src, "bin/tool2"));
  await Deno.writeTextFile(join(src, LONG), "long");
  return src;
}

async function newStore(dir: string): Promise<ImageStore> {
  const store = new ImageStore(join(dir, "root"));
  await store.load();
  return store;
}

async function assertKind(p: Promise<unknown> | (() => unknown), kind: string, re?: RegExp) {
  const check = (err: CorralError) => {
    assert.equal(errorKind(err), kind);
    if (re) assert.match(err.message, re);
    return true;
  };
  if (typeof p === "function") assert.throws(p, check);
  else await assert.rejects(p, check);
}

async function assertRootfs(layer: string, marker = "v1"): Promise<void> {
  assert.equal(await Deno.readTextFile(join(layer, "etc/version")), `${marker}\n`);
  assert.equal(await Deno.readTextFile(join(layer, LONG)), "long");
  assert.equal(await Deno.readLink(join(layer, "bin/alias")), "/bin/tool");
  assert.equal((await Deno.stat(join(layer, "bin/tool"))).mode! & 0o777, 0o755);
  assert.equal(
    (await Deno.stat(join(layer, "bin/tool2"))).ino,
    (await Deno.stat(join(layer, "bin/tool"))).ino,
  );
}

Deno.test("ImageStore imports a tar, a gzip tar (found by content) and a directory", async () => {
  await withTempDir(async (dir) => {
    const src = await makeRootfs(dir);
    const tar = join(dir, "rootfs.tar");
    const gz = join(dir, "rootfs.bin");
    await hostTar(["-cf", tar, "-C", src, "."]);
    await hostTar(["-czf", gz, "-C", src, "."]);
    const store = await newStore(dir);

    const a = await store.importRootfs(tar, "plain", { Cmd: ["/bin/tool"] });
    const b = await store.importRootfs(gz, "gz:1");
    const c = await store.importRootfs(src, "fromdir");
    for (const img of [a, b, c]) {
      assert.match(img.Id, /^sha256:[0-9a-f]{64}$/);
      assert.equal(img.Layers.length, 1);
      assert.equal(img.Size, 4 + 10 + 3);
      await assertRootfs(store.layerDirs(img)[0]);
    }
    assert.deepEqual(a.Config.Cmd, ["/bin/tool"]);
    assert.deepEqual(a.RepoTags, ["plain:latest"]);
    // The gzip layer is the same uncompressed tar: same layer; other config, other image.
    assert.equal(a.Layers[0], b.Layers[0]);
    assert.notEqual(a.Id, b.Id);
    assert.deepEqual(store.layerDirs(a), [join(dir, "root/images/layers", a.Layers[0])]);
    assert.equal(store.list().length, 3);
    assert.deepEqual(await listDir(join(dir, "root/images/tmp")), []);
  });
});

Deno.test("ImageStore imports from a stream and refuses bad input", async () => {
  await withTempDir(async (dir) => {
    const store = await newStore(dir);
    const tar = craftTar([{ name: "hello", data: "world" }]);
    const img = await store.importRootfsStream(streamOf(tar), "streamed:v1");
    assert.equal(await Deno.readTextFile(join(store.layerDirs(img)[0], "hello")), "world");
    await assertKind(store.importRootfsStream(streamOf(tar), "Bad:Name"), "invalid", /lowercase/);
    await assertKind(store.importRootfs(join(dir, "missing.tar"), "x"), "not_found");
    await assertKind(
      store.importRootfsStream(streamOf(craftTar([{ name: "../x", data: "x" }])), "evil"),
      "invalid",
      /escapes/,
    );
    await assertKind(
      store.importRootfsStream(streamOf(new Uint8Array([1, 2, 3])), "junk"),
      "invalid",
    );
    const badGzip = new Uint8Array([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3, 1, 2, 3, 4, 5, 6, 7]);
    await assertKind(store.importRootfsStream(streamOf(badGzip), "junk"), "invalid", /gzip/);
    const xz = new Uint8Array([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00, 0, 0]);
    await assertKind(store.importRootfsStream(streamOf(xz), "junk"), "invalid", /xz/);
    assert.equal(store.find("evil"), null);
    assert.deepEqual(await listDir(join(dir, "root/images/tmp")), []);
    assert.equal((await listDir(join(dir, "root/images/layers"))).length, 1);
  });
});

Deno.test("ImageStore refuses an import over its size cap and keeps nothing of it", async () => {
  await withTempDir(async (dir) => {
    const store = new ImageStore(join(dir, "root"), { maxImageSize: 1 << 20 });
    await store.load();
    const bomb = await gzip(craftTar([{ name: "zeros", data: "\0".repeat(4 << 20) }]));
    await assertKind(
      store.importRootfsStream(streamOf(bomb, 8192), "bomb"),
      "invalid",
      /^image too large: more than 1 MiB uncompressed \(the daemon's --max-image-size\)$/,
    );
    assert.equal(store.find("bomb"), null);
    assert.deepEqual(await listDir(join(dir, "root/images/tmp")), []);
    assert.deepEqual(await listDir(join(dir, "root/images/layers")), []);
    // Under the cap, the same store imports.
    const small = await gzip(craftTar([{ name: "zeros", data: "\0".repeat(512 << 10) }]));
    await store.importRootfsStream(streamOf(small, 8192), "small");
  });
});

Deno.test("ImageStore finds images by name, tag, id and id prefix", async () => {
  await withTempDir(async (dir) => {
    const store = await newStore(dir);
    const img = await store.importRootfsStream(streamOf(craftTar([{ name: "a" }])), "app:1.0");
    const hex = img.Id.slice(7);
    for (const ref of ["app:1.0", img.Id, hex, hex.slice(0, 4), `sha256:${hex.slice(0, 12)}`]) {
      assert.equal(store.find(ref)?.Id, img.Id, ref);
    }
    assert.equal(store.find("app"), null); // "app:latest" does not exist
    assert.equal(store.find(hex.slice(0, 3)), null);
    assert.equal(store.resolve("app:1.0").Id, img.Id);
    await assertKind(() => store.resolve("nope"), "not_found", /^No such image: nope$/);
    // Results are copies: callers cannot corrupt the store.
    store.find("app:1.0")!.RepoTags.push("x");
    assert.deepEqual(store.find("app:1.0")!.RepoTags, ["app:1.0"]);
  });
});

Deno.test("ImageStore tags, moves tags on re-import, and removes Docker-style", async () => {
  await withTempDir(async (dir) => {
    const store = await newStore(dir);
    const v1 = await store.importRootfsStream(
      streamOf(craftTar([{ name: "v", data: "1" }])),
      "app",
    );
    await store.tag("app", "app:stable");
    await store.tag(v1.Id, "other/app:x");
    assert.deepEqual(store.resolve("app").RepoTags.sort(), [
      "app:latest",
      "app:stable",
      "other/app:x",
    ]);
    await assertKind(store.tag("app", "BAD"), "invalid");
    await assertKind(store.tag("missing", "x"), "not_found");

    // Re-importing to "app" moves app:latest; v1 keeps its other tags.
    const v2 = await store.importRootfsStream(
      streamOf(craftTar([{ name: "v", data: "2" }])),
      "app",
    );
    assert.equal(store.resolve("app").Id, v2.Id);
    assert.deepEqual(store.resolve(v1.Id).RepoTags, ["app:stable", "other/app:x"]);

    // A name whose image has other tags: only untagged, even in use.
    const inUse = (id: string) => id === v1.Id;
    assert.deepEqual(await store.remove("app:stable", { inUse }), [{ Untagged: "app:stable" }]);
    // The last tag of an image in use: conflict.
    await assertKind(
      store.remove("other/app:x", { inUse }),
      "conflict",
      /^unable to remove image other\/app:x: image is being used by a container$/,
    );
    // Forced: untagged, but kept for the container.
    assert.deepEqual(await store.remove("other/app:x", { inUse, force: true }), [{
      Untagged: "other/app:x",
    }]);
    assert.deepEqual(store.resolve(v1.Id).RepoTags, []);
    assert.equal(await Deno.stat(store.layerDirs(v1)[0]).then(() => true), true);

    // Not in use any more: deleted with its layer.
    const records = await store.remove(v1.Id.slice(7, 19));
    assert.deepEqual(records, [{ Deleted: v1.Id }, { Deleted: `sha256:${v1.Layers[0]}` }]);
    assert.equal(store.find(v1.Id), null);
    assert.deepEqual(await listDir(join(dir, "root/images/layers")), [v2.Layers[0]]);
    assert.deepEqual(await listDir(join(dir, "root/images/meta")), [`${v2.Id.slice(7)}.json`]);
  });
});

Deno.test("ImageStore.remove keeps shared layers; a multi-tag id needs force", async () => {
  await withTempDir(async (dir) => {
    const store = await newStore(dir);
    const tar = craftTar([{ name: "shared", data: "s" }]);
    const a = await store.importRootfsStream(streamOf(tar), "a", { Cmd: ["a"] });
    const b = await store.importRootfsStream(streamOf(tar), "b", { Cmd: ["b"] });
    assert.equal(a.Layers[0], b.Layers[0]);
    await store.tag("a", "a:two");
    await assertKind(store.remove(a.Id), "conflict", /referenced in multiple repositories/);
    assert.deepEqual(await store.remove(a.Id, { force: true }), [
      { Untagged: "a:latest" },
      { Untagged: "a:two" },
      { Deleted: a.Id },
    ]);
    assert.equal(await Deno.stat(store.layerDirs(b)[0]).then((s) => s.isDirectory), true);
    assert.deepEqual(await store.remove("b"), [
      { Untagged: "b:latest" },
      { Deleted: b.Id },
      { Deleted: `sha256:${b.Layers[0]}` },
    ]);
    assert.deepEqual(await listDir(join(dir, "root/images/layers")), []);
    await assertKind(store.remove("b"), "not_found");
  });
});

Deno.test("ImageStore reloads from disk, skipping (not deleting) corrupt metadata", async () => {
  await withTempDir(async (dir) => {
    const first = await newStore(dir);
    const img = await first.importRootfsStream(
      streamOf(craftTar([{ name: "f", data: "x" }])),
      "keep:1",
    );
    await first.tag("keep:1", "keep:2");
    const broken = join(dir, "root/images/meta", `${"ab".repeat(32)}.json`);
    await Deno.writeTextFile(broken, "{ not json");
    // An unreferenced layer, as a crash between unpack and metadata write leaves.
    const orphan = join(dir, "root/images/layers", "cd".repeat(32));
    await Deno.mkdir(orphan);

    const second = await newStore(dir);
    assert.deepEqual(second.list(), [{ ...img, RepoTags: ["keep:1", "keep:2"] }]);
    assert.equal(await Deno.readTextFile(broken), "{ not json");
    // With a corrupt metadata file, layers it might use are left alone.
    assert.equal(await Deno.stat(orphan).then((s) => s.isDirectory), true);

    await Deno.remove(broken);
    const third = await newStore(dir);
    assert.equal(third.list().length, 1);
    assert.deepEqual(await listDir(join(dir, "root/images/layers")), [img.Layers[0]]);
  });
});

Deno.test("ImageStore keeps a corrupt index aside and drops entries it cannot trust", async () => {
  await withTempDir(async (dir) => {
    const first = await newStore(dir);
    const img = await first.importRootfsStream(streamOf(craftTar([{ name: "f" }])), "app:1");
    const index = join(dir, "root/images/repositories.json");
    const unknown = `sha256:${"ef".repeat(32)}`;
    await Deno.writeTextFile(
      index,
      JSON.stringify({ "app:1": img.Id, "app:2": unknown, "Bad:x": img.Id, "app": img.Id }),
    );
    assert.deepEqual((await newStore(dir)).resolve(img.Id).RepoTags, ["app:1"]);

    await Deno.writeTextFile(index, "[]");
    const second = await newStore(dir);
    assert.deepEqual(second.list(), [{ ...img, RepoTags: [] }]);
    assert.equal(await Deno.readTextFile(`${index}.corrupt`), "[]");
    assert.throws(() => second.layerDir("../x"), /invalid layer id/);
    assert.equal(second.layerDir(img.Layers[0]), second.layerDirs(img)[0]);
  });
});
