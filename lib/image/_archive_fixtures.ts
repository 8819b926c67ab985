/**
 * Fixtures of the archive tests: a two-layer image whose upper layer deletes
 * a file and makes a directory opaque, as a `docker save` archive, and the
 * overlay view a container of it gets.
 * @module
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { mountOverlay, unmount } from "../sys/mod.ts";
import { type BuildEntry, buildTar, listDir, sha256Hex } from "./_test_utils.ts";
import type { Image } from "./model.ts";
import { ImageStore } from "./store.ts";

/** The lower layer. */
export const LOWER: BuildEntry[] = [
  { path: "etc/" },
  { path: "etc/keep", data: "keep\n" },
  { path: "etc/gone", data: "gone\n" },
  { path: "data/" },
  { path: "data/old", data: "old\n" },
  { path: "data/sub/" },
  { path: "data/sub/older", data: "older\n" },
];
/** The upper layer: deletes etc/gone, hides what data/ had, adds data/new and etc/added. */
export const UPPER: BuildEntry[] = [
  { path: "etc/" },
  { path: "etc/.wh.gone" },
  { path: "etc/added", data: "added\n" },
  { path: "data/" },
  { path: "data/.wh..wh..opq" },
  { path: "data/new", data: "new\n" },
];
/** The run config of the image. */
export const RUN = {
  Env: ["PATH=/bin", "GREETING=hello"],
  Cmd: ["/bin/sh", "-c", "cat /data/new"],
  Entrypoint: null,
  WorkingDir: "/data",
  User: "1000:1000",
  Labels: null,
  ExposedPorts: null,
};

/** An image config document over layers of these diff ids. */
export function imageConfig(diffIds: string[], run: object = RUN): Uint8Array {
  return new TextEncoder().encode(JSON.stringify({
    architecture: "amd64",
    os: "linux",
    created: "2024-05-06T07:08:09.123456789Z",
    config: run,
    rootfs: { type: "layers", diff_ids: diffIds.map((d) => `sha256:${d}`) },
  }));
}

/**
 * A `docker save` archive: layer 1 in the classic `ID/layer.tar`, layer 2
 * in docker 25's `blobs/sha256/HEX`, manifest.json first.
 */
export async function dockerArchive(
  opts: { tags?: string[] | null; layers?: Uint8Array[]; diffIds?: string[]; run?: object } = {},
): Promise<Uint8Array> {
  const layers = opts.layers ?? [await buildTar(LOWER), await buildTar(UPPER)];
  const config = imageConfig(opts.diffIds ?? layers.map((l) => sha256Hex(l)), opts.run);
  const configName = `${sha256Hex(config)}.json`;
  const paths = layers.map((l, i) => i === 0 ? `l${i}/layer.tar` : `blobs/sha256/${sha256Hex(l)}`);
  const manifest = [{ Config: configName, RepoTags: opts.tags ?? null, Layers: paths }];
  return await buildTar([
    { path: "manifest.json", data: JSON.stringify(manifest) },
    { path: configName, data: config },
    ...layers.map((data, i) => ({ path: paths[i], data })),
  ]);
}

/** A loaded store under `dir`. */
export async function newStore(dir: string): Promise<ImageStore> {
  const store = new ImageStore(join(dir, "root"));
  await store.load();
  return store;
}

/** Mount the image's layers as a container would see them, run `fn`, unmount. */
export async function withMergedView(
  store: ImageStore,
  img: Image,
  dir: string,
  fn: (merged: string) => Promise<void>,
): Promise<void> {
  const [upper, work, merged] = ["upper", "work", "merged"].map((n) => join(dir, n));
  for (const d of [upper, work, merged]) await Deno.mkdir(d, { recursive: true });
  mountOverlay(store.layerDirs(img), upper, work, merged);
  try {
    await fn(merged);
  } finally {
    unmount(merged);
    for (const d of [upper, work, merged]) await Deno.remove(d, { recursive: true });
  }
}

/** What the overlay of a loaded LOWER+UPPER image must show. */
export async function assertWhiteoutsApplied(merged: string): Promise<void> {
  assert.deepEqual(await listDir(join(merged, "etc")), ["added", "keep"]);
  assert.deepEqual(await listDir(join(merged, "data")), ["new"]);
  assert.equal(await Deno.readTextFile(join(merged, "data/new")), "new\n");
}
