import assert from "node:assert/strict";
import { join } from "node:path";
import { errorKind } from "../errdefs/mod.ts";
import {
  assertWhiteoutsApplied,
  dockerArchive,
  newStore,
  RUN,
  withMergedView,
} from "./_archive_fixtures.ts";
import { buildTar, listDir, readAll, sha256Hex, streamOf, withTempDir } from "./_test_utils.ts";
import { loadImageArchive, loadMessages } from "./archive_load.ts";
import { saveImageArchive } from "./archive_save.ts";
import { readTar } from "./tar.ts";

/** Every member of an archive with its content, in archive order. */
async function members(bytes: Uint8Array): Promise<Map<string, Uint8Array>> {
  const out = new Map<string, Uint8Array>();
  for await (const e of readTar(streamOf(bytes))) {
    out.set(
      e.path,
      e.type === "file" ? await readAll(ReadableStream.from(e.body())) : new Uint8Array(),
    );
  }
  return out;
}

async function paths(tar: Uint8Array): Promise<string[]> {
  return [...(await members(tar)).keys()];
}

Deno.test("saveImageArchive writes a docker archive that loads back identically", async () => {
  await withTempDir(async (dir) => {
    const store = await newStore(dir);
    await loadImageArchive(store, streamOf(await dockerArchive({ tags: ["multi:v1"] })));
    const original = store.resolve("multi:v1");
    const saved = await readAll(await saveImageArchive(store, ["multi:v1"]));

    const files = await members(saved);
    const manifest = JSON.parse(new TextDecoder().decode(files.get("manifest.json")));
    assert.equal(manifest.length, 1);
    assert.deepEqual(manifest[0].RepoTags, ["multi:v1"]);
    const [lower, upper] = manifest[0].Layers.map((p: string) => files.get(p)!);
    assert.equal(manifest[0].Layers[1], `${sha256Hex(upper)}/layer.tar`);
    // Overlay whiteouts are Docker whiteout entries again.
    assert.deepEqual(await paths(upper), [
      "data/",
      "data/.wh..wh..opq",
      "data/new",
      "etc/",
      "etc/added",
      "etc/.wh.gone",
    ]);
    assert.ok((await paths(lower)).includes("etc/gone"));
    const config = JSON.parse(new TextDecoder().decode(files.get(manifest[0].Config)));
    assert.equal(manifest[0].Config, `${sha256Hex(files.get(manifest[0].Config)!)}.json`);
    assert.deepEqual(config.rootfs.diff_ids, [lower, upper].map((l) => `sha256:${sha256Hex(l)}`));
    assert.deepEqual(config.config.Cmd, RUN.Cmd);
    const repositories = JSON.parse(new TextDecoder().decode(files.get("repositories")));
    assert.deepEqual(repositories, { multi: { v1: sha256Hex(upper) } });

    // save, rmi, load: the same image config and the same view.
    await store.remove("multi:v1");
    assert.deepEqual(store.list(), []);
    const loaded = await loadImageArchive(store, streamOf(saved));
    assert.deepEqual(loadMessages(loaded), ["Loaded image: multi:v1"]);
    const again = store.resolve("multi:v1");
    assert.deepEqual(again.Config, original.Config);
    assert.equal(again.Created, original.Created);
    await withMergedView(store, again, dir, assertWhiteoutsApplied);
    // A saved image saves to the very same bytes: its id is stable from now on.
    assert.deepEqual(await readAll(await saveImageArchive(store, ["multi:v1"])), saved);
    assert.deepEqual(await listDir(join(dir, "root/images/tmp")), []);
  });
});

Deno.test("saveImageArchive writes shared layers once and an id untagged", async () => {
  await withTempDir(async (dir) => {
    const store = await newStore(dir);
    const base = await buildTar([{ path: "base", data: "b" }]);
    const top = await buildTar([{ path: "top", data: "t" }]);
    await loadImageArchive(
      store,
      streamOf(await dockerArchive({ tags: ["one:1"], layers: [base] })),
    );
    const [two] = await loadImageArchive(
      store,
      streamOf(await dockerArchive({ tags: ["two:1"], layers: [base, top] })),
    );
    const saved = await readAll(await saveImageArchive(store, ["one:1", two.id.slice(7, 19)]));
    const names = await paths(saved);
    assert.equal(names.filter((n) => n.endsWith("/layer.tar")).length, 2);
    const files = await members(saved);
    const manifest = JSON.parse(new TextDecoder().decode(files.get("manifest.json")));
    assert.deepEqual(manifest.map((m: { RepoTags: string[] }) => m.RepoTags), [["one:1"], []]);

    for (const ref of ["one:1", "two:1"]) await store.remove(ref);
    const loaded = await loadImageArchive(store, streamOf(saved));
    assert.deepEqual(loadMessages(loaded), [
      "Loaded image: one:1",
      `Loaded image ID: ${loaded[1].id}`,
    ]);
    const [topDir, baseDir] = store.layerDirs(store.resolve(loaded[1].id));
    assert.equal(await Deno.readTextFile(join(topDir, "top")), "t");
    assert.equal(await Deno.readTextFile(join(baseDir, "base")), "b");
  });
});

Deno.test("saveImageArchive refuses a missing image and cleans up after a cancel", async () => {
  await withTempDir(async (dir) => {
    const store = await newStore(dir);
    await loadImageArchive(store, streamOf(await dockerArchive({ tags: ["multi:v1"] })));
    await assert.rejects(saveImageArchive(store, ["multi:v1", "nope:1"]), (err: Error) => {
      assert.equal(errorKind(err), "not_found");
      assert.match(err.message, /No such image: nope:1/);
      return true;
    });
    await assert.rejects(saveImageArchive(store, []), (err) => errorKind(err) === "invalid");
    // A client going away mid-download.
    const reader = (await saveImageArchive(store, ["multi:v1"])).getReader();
    await reader.read();
    await reader.cancel();
    const tmp = join(dir, "root/images/tmp");
    const deadline = Date.now() + 5000;
    while ((await listDir(tmp)).length > 0 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 10));
    }
    assert.deepEqual(await listDir(tmp), []);
  });
});
