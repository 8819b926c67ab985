/**
 * The image store under `<root>/images/`: unpacked layers in `layers/<id>/`,
 * one metadata file per image in `meta/<hex>.json`, and the "name:tag" index
 * in `repositories.json`. Layers are unpacked in `tmp/` and renamed into
 * place, and every file is replaced atomically, so a crash leaves at worst an
 * unreferenced layer (removed by the next load), never a half one in use.
 * @module
 */
import { createHash } from "node:crypto";
import { join } from "node:path";
import { conflict, errorMessage, invalid, notFound } from "../errdefs/mod.ts";
import {
  readJson,
  removeAll,
  syncDir,
  syncFilesystem,
  treeSize,
  writeFileAtomic,
} from "../sys/mod.ts";
import { BUSYBOX_CONFIG, writeBusyboxRootfs } from "./busybox.ts";
import { decompress } from "./compression.ts";
import { copyTree } from "./copy.ts";
import { digestTree, tapSha256 } from "./digest.ts";
import { extractTar } from "./extract.ts";
import { type Image, type ImageConfig, normalizeConfig } from "./model.ts";
import { formatReference, parseReference, tryParseReference } from "./reference.ts";
import { DEFAULT_MAX_IMAGE_SIZE, SizeLimit } from "./size_limit.ts";
import { LayerWriter } from "./writer.ts";
import { getLogger } from "@logtape/logtape";

const log = getLogger(["corral", "image"]);

/** One line of an image removal report, as Docker's `DELETE /images/{name}` returns. */
export interface RemoveRecord {
  Untagged?: string;
  Deleted?: string;
}

/** Options of {@linkcode ImageStore.remove}. */
export interface RemoveOptions {
  /** Remove even when referenced by several tags or used by a container. */
  force?: boolean;
  /** Whether a container uses the image (by id). */
  inUse?: (imageId: string) => boolean;
}

/** Options of an {@linkcode ImageStore}. */
export interface ImageStoreOptions {
  /**
   * Bytes an import or load may bring in once decompressed (the archive, and
   * again its layers), so that a small upload cannot fill the disk.
   */
  maxImageSize?: number;
}

/** An unpacked layer, ready to be registered. */
export interface Unpacked {
  /** Hex sha256 of the layer's uncompressed archive (its diff id). */
  digest: string;
  /** Bytes of regular file content. */
  size: number;
  /** Entries not created, with the reason. */
  skipped: string[];
}

/** A layer of an {@linkcode ImageSource}. */
export interface LayerSource {
  /** Hex sha256 of the uncompressed layer archive, as the image config lists it. */
  diffId: string;
  /** Unpack the layer into the empty directory `dir`. */
  unpack(dir: string): Promise<Unpacked>;
}

/** An image of {@linkcode ImageStore.importImages}. */
export interface ImageSource {
  /** References to tag it with; none for an untagged image. */
  refs: string[];
  /** Its layers, bottom first. */
  layers: LayerSource[];
  config?: Partial<ImageConfig>;
  /** Creation time, ISO 8601; now when absent. */
  created?: string;
}

type StoredImage = Omit<Image, "RepoTags">;

const HEX64 = /^[0-9a-f]{64}$/;
const ID_PREFIX = /^[0-9a-f]{4,64}$/;

/**
 * Images by id and "name:tag".
 *
 * @example
 * ```ts
 * const images = new ImageStore("/var/lib/corral");
 * await images.load();
 * const img = await images.ensureBusybox();
 * images.layerDirs(img).join(":"); // overlay lowerdir
 * ```
 */
export class ImageStore {
  readonly #layers: string;
  readonly #meta: string;
  readonly #tmp: string;
  readonly #index: string;
  /** The cap on what one import or load decompresses, in bytes. */
  readonly maxImageSize: number;
  readonly #images = new Map<string, Image>();
  /** "name:tag" -> image id; replaced as a whole once written to disk. */
  #tags = new Map<string, string>();
  /** Mutations run one at a time: they read and rewrite the shared index. */
  #queue: Promise<unknown> = Promise.resolve();

  constructor(root: string, opts: ImageStoreOptions = {}) {
    this.maxImageSize = opts.maxImageSize ?? DEFAULT_MAX_IMAGE_SIZE;
    const dir = join(root, "images");
    this.#layers = join(dir, "layers");
    this.#meta = join(dir, "meta");
    this.#tmp = join(dir, "tmp");
    this.#index = join(dir, "repositories.json");
  }

  /**
   * Read the index and metadata, creating the directories if needed. A
   * corrupt metadata file is reported on stderr and skipped, never deleted.
   * Call once at startup, before anything else: it clears `tmp/`.
   */
  load(): Promise<void> {
    return this.#exclusive(async () => {
      for (const dir of [this.#layers, this.#meta]) await Deno.mkdir(dir, { recursive: true });
      // Whatever is in tmp is an unpack or a removal that a crash interrupted.
      await removeAll(this.#tmp);
      await Deno.mkdir(this.#tmp);
      this.#images.clear();
      const clean = await this.#loadMeta();
      this.#tags = await this.#loadIndex();
      this.#syncRepoTags();
      // Only sure to be unreferenced when every metadata file could be read.
      if (clean) await this.#removeOrphanLayers();
    });
  }

  /** All images, newest first. */
  list(): Image[] {
    return [...this.#images.values()]
      .sort((a, b) => b.Created.localeCompare(a.Created) || a.Id.localeCompare(b.Id))
      .map((img) => structuredClone(img));
  }

  /**
   * Find an image by "name[:tag]" (tag "latest" by default), "sha256:<hex>",
   * full hex id, or unique id prefix of at least 4 hex digits.
   */
  find(ref: string): Image | null {
    const hit = this.#lookup(ref);
    return hit ? structuredClone(hit.image) : null;
  }

  /** Like {@linkcode ImageStore.find}, but a missing image is a `not_found` error. */
  resolve(ref: string): Image {
    const img = this.find(ref);
    if (!img) throw notFound(`No such image: ${ref}`);
    return img;
  }

  /**
   * The absolute layer directories, top first (as overlay's lowerdir lists
   * them). A layer the image has twice is listed once, at its topmost place:
   * overlay refuses a repeated lowerdir, and the lower copy can show nothing
   * the upper one does not cover.
   */
  layerDirs(img: Image): string[] {
    return [...new Set([...img.Layers].reverse())].map((id) => join(this.#layers, id));
  }

  /**
   * Import a rootfs from a .tar, a gzip tar (detected by content) or a
   * directory (copied), and tag it `ref`; the tag moves from any other image.
   */
  async importRootfs(
    source: string,
    ref: string,
    config?: Partial<ImageConfig>,
  ): Promise<Image> {
    let info: Deno.FileInfo;
    try {
      info = await Deno.stat(source);
    } catch (err) {
      if (err instanceof Deno.errors.NotFound) throw notFound(`import source not found: ${source}`);
      throw err;
    }
    if (!info.isDirectory) {
      return this.importRootfsStream((await Deno.open(source)).readable, ref, config);
    }
    return this.#import(ref, config, async (dir) => {
      const w = new LayerWriter(dir);
      const skipped = await copyTree(source, w);
      await w.finish();
      return { digest: await digestTree(dir), size: w.size, skipped };
    });
  }

  /** Import a rootfs from a tar stream, gzip-compressed or not (detected by content). */
  async importRootfsStream(
    stream: ReadableStream<Uint8Array>,
    ref: string,
    config?: Partial<ImageConfig>,
  ): Promise<Image> {
    try {
      parseReference(ref);
      normalizeConfig(config);
    } catch (err) {
      // Release the request body that will not be read.
      await stream.cancel().catch(() => {});
      throw err;
    }
    return this.#import(ref, config, async (dir) => {
      const limit = new SizeLimit(this.maxImageSize);
      const tap = tapSha256(await decompress(stream, limit));
      const { size, skipped } = await extractTar(tap.stream, dir, { limit });
      return { digest: tap.digest(), size, skipped };
    });
  }

  /**
   * The image `ref`, built from the host's static busybox if it does not
   * exist yet.
   */
  async ensureBusybox(ref = "busybox:latest", busyboxPath = "/bin/busybox"): Promise<Image> {
    const id = this.#tags.get(formatReference(parseReference(ref)));
    if (id !== undefined) return structuredClone(this.#images.get(id)!);
    return await this.#import(ref, BUSYBOX_CONFIG, async (dir) => {
      const w = new LayerWriter(dir);
      await writeBusyboxRootfs(w, busyboxPath);
      await w.finish();
      return { digest: await digestTree(dir), size: w.size, skipped: [] };
    });
  }

  /**
   * Add images made of layers (bottom first), each tagged with every one of
   * its `refs` (none: an untagged image), all or nothing: every new layer is
   * unpacked and checked before any image is registered. A layer already
   * stored under its diff id is reused; a new one must hash to the diff id
   * its image config announced. Returns the images in the order given.
   */
  async importImages(sources: ImageSource[]): Promise<Image[]> {
    const checked = sources.map((src) => {
      if (src.layers.length === 0) throw invalid("image has no layers: corral cannot run it");
      for (const layer of src.layers) {
        if (!HEX64.test(layer.diffId)) throw invalid(`invalid layer diff id "${layer.diffId}"`);
      }
      if (src.created !== undefined && Number.isNaN(Date.parse(src.created))) {
        throw invalid(`image config: invalid created time ${JSON.stringify(src.created)}`);
      }
      return {
        keys: src.refs.map((r) => formatReference(parseReference(r))),
        config: normalizeConfig(src.config),
        ids: src.layers.map((l) => l.diffId),
        created: src.created,
      };
    });
    const sizes = new Map<string, number>();
    const staged = new Map<string, string>();
    try {
      for (const layer of sources.flatMap((src) => src.layers)) {
        if (sizes.has(layer.diffId)) continue;
        const layerDir = join(this.#layers, layer.diffId);
        if (await exists(layerDir)) {
          sizes.set(layer.diffId, await treeSize(layerDir));
          continue;
        }
        const tmp = join(this.#tmp, crypto.randomUUID());
        await Deno.mkdir(tmp);
        staged.set(layer.diffId, tmp);
        const unpacked = await layer.unpack(tmp);
        if (unpacked.digest !== layer.diffId) {
          throw invalid(
            `layer content sha256:${unpacked.digest} does not match its diff id sha256:${layer.diffId}`,
          );
        }
        reportSkipped(`layer ${layer.diffId.slice(0, 12)}`, unpacked.skipped);
        sizes.set(layer.diffId, unpacked.size);
      }
      // One flush for every unpacked file and directory, then the renames.
      if (staged.size) await syncFilesystem(this.#tmp);
      return await this.#exclusive(async () => {
        for (const [id, tmp] of staged) {
          if (!(await exists(join(this.#layers, id)))) {
            await Deno.rename(tmp, join(this.#layers, id));
          }
        }
        await syncDir(this.#layers);
        // A removal may have taken a reused layer meanwhile.
        for (const id of sizes.keys()) {
          if (!(await exists(join(this.#layers, id)))) {
            throw conflict(`layer ${id} was removed during the load; try again`);
          }
        }
        const images: Image[] = [];
        for (const c of checked) {
          const size = [...new Set(c.ids)].reduce((n, id) => n + sizes.get(id)!, 0);
          images.push(
            structuredClone(await this.#register(c.keys, c.ids, size, c.config, c.created)),
          );
        }
        return images;
      });
    } finally {
      for (const tmp of staged.values()) await removeAll(tmp);
    }
  }

  /** The directory of a stored layer. */
  layerDir(layerId: string): string {
    if (!HEX64.test(layerId)) throw invalid(`invalid layer id "${layerId}"`);
    return join(this.#layers, layerId);
  }

  /** A fresh scratch directory inside the store (removed by the caller, or at the next load). */
  async scratchDir(): Promise<string> {
    const dir = join(this.#tmp, `scratch-${crypto.randomUUID()}`);
    await Deno.mkdir(dir, { mode: 0o700 });
    return dir;
  }

  /** Add the reference `newRef` to the image `ref` (moving it from any other image). */
  tag(ref: string, newRef: string): Promise<void> {
    return this.#exclusive(async () => {
      const { image } = this.#mustLookup(ref);
      const key = formatReference(parseReference(newRef));
      await this.#updateTags((tags) => tags.set(key, image.Id));
    });
  }

  /**
   * Remove an image with Docker's semantics: a name whose image has other
   * tags is only untagged; an id of an image with several tags needs force;
   * an image in use is a conflict, and with force it is only untagged (its
   * container still needs the layers). Layers no other image uses go too.
   */
  remove(ref: string, opts: RemoveOptions = {}): Promise<RemoveRecord[]> {
    return this.#exclusive(async () => {
      const { image, key } = this.#mustLookup(ref);
      if (key !== undefined && image.RepoTags.length > 1) {
        await this.#updateTags((tags) => tags.delete(key));
        return [{ Untagged: key }];
      }
      if (key === undefined && image.RepoTags.length > 1 && !opts.force) {
        throw conflict(
          `unable to delete ${image.Id.slice(7, 19)} (must be forced) - ` +
            "image is referenced in multiple repositories",
        );
      }
      const inUse = opts.inUse?.(image.Id) ?? false;
      if (inUse && !opts.force) {
        throw conflict(`unable to remove image ${ref}: image is being used by a container`);
      }
      const repoTags = [...image.RepoTags];
      await this.#updateTags((tags) => repoTags.forEach((t) => tags.delete(t)));
      const records: RemoveRecord[] = repoTags.map((t) => ({ Untagged: t }));
      if (inUse) return records;
      await removeAll(this.#metaPath(image.Id));
      this.#images.delete(image.Id);
      records.push({ Deleted: image.Id });
      const used = this.#usedLayers();
      for (const layer of image.Layers) {
        if (used.has(layer)) continue;
        await this.#removeLayer(layer);
        records.push({ Deleted: `sha256:${layer}` });
      }
      return records;
    });
  }

  /** Unpack into a fresh tmp dir, then register the layer and the image under the lock. */
  async #import(
    ref: string,
    config: Partial<ImageConfig> | undefined,
    unpack: (dir: string) => Promise<Unpacked>,
  ): Promise<Image> {
    const key = formatReference(parseReference(ref));
    const cfg = normalizeConfig(config);
    const tmp = join(this.#tmp, crypto.randomUUID());
    await Deno.mkdir(tmp);
    try {
      const { digest, size, skipped } = await unpack(tmp);
      reportSkipped(`image ${key}`, skipped);
      await syncFilesystem(tmp);
      return await this.#exclusive(async () => {
        const layerDir = join(this.#layers, digest);
        // Same content, same id: an existing layer is reused.
        if (!(await exists(layerDir))) {
          await Deno.rename(tmp, layerDir);
          await syncDir(this.#layers);
        }
        return structuredClone(await this.#register([key], [digest], size, cfg));
      });
    } finally {
      await removeAll(tmp);
    }
  }

  /** Write the image metadata (unless the same image exists) and point `keys` at it. */
  async #register(
    keys: string[],
    layers: string[],
    size: number,
    config: ImageConfig,
    created = new Date().toISOString(),
  ): Promise<Image> {
    const hash = createHash("sha256").update(JSON.stringify({ Layers: layers, Config: config }));
    const id = `sha256:${hash.digest("hex")}`;
    let img = this.#images.get(id);
    if (!img) {
      const stored: StoredImage = {
        Id: id,
        Created: created,
        Size: size,
        Layers: layers,
        Config: config,
      };
      await writeFileAtomic(this.#metaPath(id), JSON.stringify(stored, null, 2));
      img = { ...stored, RepoTags: [] };
      this.#images.set(id, img);
    }
    await this.#updateTags((tags) => keys.forEach((key) => tags.set(key, id)));
    return img;
  }

  /** Change a copy of the index, write it, then make it current. */
  async #updateTags(change: (tags: Map<string, string>) => unknown): Promise<void> {
    const next = new Map(this.#tags);
    change(next);
    const sorted = Object.fromEntries([...next].sort(([a], [b]) => a.localeCompare(b)));
    await writeFileAtomic(this.#index, JSON.stringify(sorted, null, 2));
    this.#tags = next;
    this.#syncRepoTags();
  }

  #syncRepoTags(): void {
    for (const img of this.#images.values()) img.RepoTags = [];
    for (const [key, id] of this.#tags) this.#images.get(id)?.RepoTags.push(key);
  }

  #lookup(ref: string): { image: Image; key?: string } | null {
    if (ref.startsWith("sha256:")) return this.#byIdPrefix(ref.slice(7));
    if (HEX64.test(ref)) return this.#byIdPrefix(ref);
    const parsed = tryParseReference(ref);
    if (typeof parsed !== "string") {
      const key = formatReference(parsed);
      const image = this.#images.get(this.#tags.get(key) ?? "");
      if (image) return { image, key };
    }
    return this.#byIdPrefix(ref);
  }

  #mustLookup(ref: string): { image: Image; key?: string } {
    const hit = this.#lookup(ref);
    if (!hit) throw notFound(`No such image: ${ref}`);
    return hit;
  }

  #byIdPrefix(hex: string): { image: Image } | null {
    if (!ID_PREFIX.test(hex)) return null;
    const matches = [...this.#images.values()].filter((img) => img.Id.startsWith(`sha256:${hex}`));
    return matches.length === 1 ? { image: matches[0] } : null;
  }

  #metaPath(id: string): string {
    return join(this.#meta, `${id.slice(7)}.json`);
  }

  #usedLayers(): Set<string> {
    return new Set([...this.#images.values()].flatMap((img) => img.Layers));
  }

  /** Unregister a layer with one rename, so a crash mid-removal leaves no half layer in place. */
  async #removeLayer(layer: string): Promise<void> {
    const doomed = join(this.#tmp, `rm-${layer}-${crypto.randomUUID()}`);
    try {
      await Deno.rename(join(this.#layers, layer), doomed);
    } catch (err) {
      if (err instanceof Deno.errors.NotFound) return;
      throw err;
    }
    await removeAll(doomed);
  }

  /** Read every metadata file; false if any was corrupt. */
  async #loadMeta(): Promise<boolean> {
    let clean = true;
    for await (const entry of Deno.readDir(this.#meta)) {
      if (!entry.isFile || !entry.name.endsWith(".json")) continue;
      const path = join(this.#meta, entry.name);
      try {
        const img = await this.#parseStored(await readJson(path), entry.name.slice(0, -5));
        this.#images.set(img.Id, { ...img, RepoTags: [] });
      } catch (err) {
        clean = false;
        log.error("skipping corrupt image metadata {path}: {error}", {
          path,
          error: errorMessage(err),
        });
      }
    }
    return clean;
  }

  async #parseStored(value: unknown, hex: string): Promise<StoredImage> {
    const v = value as Partial<StoredImage> | null;
    if (typeof v !== "object" || v === null) throw invalid("not a JSON object");
    if (v.Id !== `sha256:${hex}`) {
      throw invalid(`Id ${JSON.stringify(v.Id)} does not match the file name`);
    }
    if (typeof v.Created !== "string" || typeof v.Size !== "number") {
      throw invalid("Created or Size missing");
    }
    if (
      !Array.isArray(v.Layers) || !v.Layers.every((l) => typeof l === "string" && HEX64.test(l))
    ) {
      throw invalid("Layers must be a list of layer ids");
    }
    for (const layer of v.Layers) {
      if (!(await exists(join(this.#layers, layer)))) throw invalid(`layer ${layer} is missing`);
    }
    return {
      Id: v.Id,
      Created: v.Created,
      Size: v.Size,
      Layers: v.Layers,
      Config: normalizeConfig(v.Config),
    };
  }

  /**
   * The index, without entries for unknown images or malformed names. A
   * corrupt index is kept aside as `repositories.json.corrupt` for the admin.
   */
  async #loadIndex(): Promise<Map<string, string>> {
    const tags = new Map<string, string>();
    let raw: unknown;
    try {
      raw = await readJson(this.#index);
      if (raw !== null && (typeof raw !== "object" || Array.isArray(raw))) {
        throw invalid("not an object");
      }
    } catch (err) {
      log.error("image index {path} is corrupt ({error}); starting empty", {
        path: this.#index,
        error: errorMessage(err),
      });
      await Deno.copyFile(this.#index, `${this.#index}.corrupt`);
      return tags;
    }
    for (const [key, id] of Object.entries(raw ?? {})) {
      const parsed = tryParseReference(key);
      if (typeof parsed === "string" || formatReference(parsed) !== key || !this.#images.has(id)) {
        log.warn("image index: ignoring {key} -> {id}", { key, id });
        continue;
      }
      tags.set(key, id);
    }
    return tags;
  }

  /** Layer directories no loaded image references: left by a crash mid-import or mid-removal. */
  async #removeOrphanLayers(): Promise<void> {
    const used = this.#usedLayers();
    for await (const entry of Deno.readDir(this.#layers)) {
      if (!used.has(entry.name)) await this.#removeLayer(entry.name);
    }
  }

  #exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(fn);
    this.#queue = run.catch(() => {});
    return run;
  }
}

/** Entries an unpack could not create, in the daemon's log for the admin. */
function reportSkipped(what: string, skipped: string[]): void {
  if (skipped.length === 0) return;
  const some = skipped.slice(0, 3).join("; ") + (skipped.length > 3 ? "; ..." : "");
  log.warn("{what}: skipped {count} entries ({some})", { what, count: skipped.length, some });
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return false;
    throw err;
  }
}
