/**
 * `docker save`: stored images as a `docker save` archive that `docker load`
 * (corral's or Docker's) reads back: `manifest.json`, `repositories`, one
 * `HEX.json` image config per image and one `HEX/layer.tar` per layer,
 * written from the stored layer directories with overlay whiteouts turned
 * back into `.wh.` entries. A layer archive's digest goes into the config
 * (as its diff id) and into member names before the layer itself, so each
 * layer is archived to a scratch file first; the archive then streams.
 * @module
 */
import { createHash } from "node:crypto";
import { join } from "node:path";
import { errorMessage, invalid } from "../errdefs/mod.ts";
import { removeAll } from "../sys/mod.ts";
import { type DockerManifestEntry, imageConfigDocument } from "./archive_format.ts";
import { writeLayerTar } from "./layer_tar.ts";
import type { Image } from "./model.ts";
import { formatReference, tryParseReference } from "./reference.ts";
import type { ImageStore } from "./store.ts";
import { type TarWriteEntry, TarWriter } from "./tar_writer.ts";
import { hostFile } from "./writer.ts";
import { getLogger } from "@logtape/logtape";

const log = getLogger(["corral", "image"]);

/** A layer archived to a scratch file. */
interface LayerFile {
  path: string;
  /** Hex sha256 of the file: the layer's diff id in the saved config. */
  digest: string;
  size: number;
}

/** An image to save, with the references the archive names it by. */
interface Selected {
  image: Image;
  tags: string[];
}

const enc = new TextEncoder();
// Fixed times and owners: the same images always give the same archive.
const MEMBER: Omit<TarWriteEntry, "path" | "type"> = { mode: 0o644, uid: 0, gid: 0, mtime: 0 };

/**
 * The archive of the images `names` (by "name:tag", id or id prefix). A name
 * that is a reference saves that tag; an id saves the image untagged. Every
 * name is resolved before anything is written, so a missing one is a
 * `not_found` error and no archive.
 *
 * @example
 * ```ts
 * import type { ImageStore } from "./store.ts";
 * declare const images: ImageStore;
 * const archive = await saveImageArchive(images, ["app:1"]);
 * await archive.pipeTo((await Deno.create("app.tar")).writable);
 * ```
 */
export async function saveImageArchive(
  store: ImageStore,
  names: string[],
): Promise<ReadableStream<Uint8Array>> {
  const selected = selectImages(store, names);
  const scratch = await store.scratchDir();
  try {
    const layers = new Map<string, LayerFile>();
    for (const { image } of selected) {
      for (const id of image.Layers) {
        if (layers.has(id)) continue;
        layers.set(id, await archiveLayer(store.layerDir(id), join(scratch, `${layers.size}.tar`)));
      }
    }
    const out = new TransformStream<Uint8Array, Uint8Array>();
    void streamArchive(out.writable.getWriter(), selected, layers, scratch);
    return out.readable;
  } catch (err) {
    await removeAll(scratch);
    throw err;
  }
}

/** Resolve every name first; names of one image merge into one entry. */
function selectImages(store: ImageStore, names: string[]): Selected[] {
  if (names.length === 0) throw invalid("no image to save: give at least one name");
  const byId = new Map<string, Selected>();
  for (const name of names) {
    const image = store.resolve(name);
    const entry = byId.get(image.Id) ?? { image, tags: [] };
    byId.set(image.Id, entry);
    const parsed = tryParseReference(name);
    // A name that resolved by id prefix is no tag of the image.
    const key = typeof parsed === "string" ? null : formatReference(parsed);
    if (key !== null && image.RepoTags.includes(key) && !entry.tags.includes(key)) {
      entry.tags.push(key);
    }
  }
  return [...byId.values()];
}

/** Archive a layer directory to `path`, hashing it on the way. */
async function archiveLayer(dir: string, path: string): Promise<LayerFile> {
  const hash = createHash("sha256");
  let size = 0;
  const file = await Deno.open(path, { write: true, createNew: true, mode: 0o600 });
  try {
    const tar = new TarWriter(async (chunk) => {
      hash.update(chunk);
      size += chunk.length;
      for (let off = 0; off < chunk.length;) off += await file.write(chunk.subarray(off));
    });
    const { skipped } = await writeLayerTar(dir, tar);
    await tar.finish();
    if (skipped.length > 0) {
      log.warn("save: layer {dir}: {count} entries not archived", { dir, count: skipped.length });
    }
  } finally {
    file.close();
  }
  return { path, digest: hash.digest("hex"), size };
}

/** Write the archive to `sink`; the scratch files are gone by the time it ends. */
async function streamArchive(
  sink: WritableStreamDefaultWriter<Uint8Array>,
  selected: Selected[],
  layers: Map<string, LayerFile>,
  scratch: string,
): Promise<void> {
  let failure: unknown = null;
  try {
    await writeArchive(new TarWriter((chunk) => sink.write(chunk)), selected, layers);
  } catch (err) {
    failure = err;
  }
  // Left behind, the scratch files would go at the next daemon start.
  await removeAll(scratch).catch((err) => log.warn("save: {error}", { error: errorMessage(err) }));
  // A client that went away already errored the stream: nothing more to tell it.
  await (failure === null ? sink.close() : sink.abort(failure)).catch(() => {});
}

async function writeArchive(
  tar: TarWriter,
  selected: Selected[],
  layers: Map<string, LayerFile>,
): Promise<void> {
  const addJson = (path: string, doc: unknown) => {
    const bytes = enc.encode(JSON.stringify(doc));
    return tar.add({ ...MEMBER, path, type: "file", size: bytes.length }, [bytes]);
  };
  for (const layer of layers.values()) {
    await tar.add({ ...MEMBER, path: layer.digest, type: "dir", mode: 0o755 });
    await tar.add(
      { ...MEMBER, path: `${layer.digest}/layer.tar`, type: "file", size: layer.size },
      hostFile(layer.path),
    );
  }
  const manifest: DockerManifestEntry[] = [];
  const repositories: Record<string, Record<string, string>> = {};
  for (const { image, tags } of selected) {
    const files = image.Layers.map((id) => layers.get(id)!);
    const config = enc.encode(
      JSON.stringify(imageConfigDocument(image, files.map((f) => f.digest))),
    );
    const configName = `${createHash("sha256").update(config).digest("hex")}.json`;
    await tar.add({ ...MEMBER, path: configName, type: "file", size: config.length }, [config]);
    manifest.push({
      Config: configName,
      RepoTags: tags,
      Layers: files.map((f) => `${f.digest}/layer.tar`),
    });
    for (const tag of tags) {
      const colon = tag.lastIndexOf(":");
      (repositories[tag.slice(0, colon)] ??= {})[tag.slice(colon + 1)] = files.at(-1)!.digest;
    }
  }
  await addJson("manifest.json", manifest);
  await addJson("repositories", repositories);
  await tar.finish();
}
