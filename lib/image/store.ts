/**
 * The image store under `<root>/images/`: unpacked layers in `layers/<id>/`,
 * one metadata file per image in `meta/<hex>.json`, and the "name:tag" index
 * in `repositories.json`. Layers are unpacked in `tmp/` and renamed into
 * place, and every file is replaced atomically, so a crash leaves at worst an
 * unreferenced layer (removed by the next load), never a half one in use.
 *
 * This module is the store's API and its lock; the layer directories, the
 * image records and the checks of an import are in the modules it uses.
 * @module
 */
import { join } from "node:path";
import { conflict, invalid, notFound } from "../errdefs/mod.ts";
import { removeAll } from "../sys/mod.ts";
import { ImageCatalog, type ImageMatch } from "./_image_catalog.ts";
import {
  checkSource,
  type ImageSource,
  reportSkipped,
  type Unpacked,
  unpackNewLayers,
} from "./_import.ts";
import { BlobStore } from "./_blob_store.ts";
import { LAYER_ID, LayerStore } from "./_layer_store.ts";
import { BUSYBOX_CONFIG, writeBusyboxRootfs } from "./busybox.ts";
import { decompress } from "./compression.ts";
import { copyTree } from "./copy.ts";
import { digestTree, tapSha256 } from "./digest.ts";
import { extractTar } from "./extract.ts";
import { type Image, type ImageConfig, normalizeConfig } from "./model.ts";
import { formatReference, parseReference } from "./reference.ts";
import { DEFAULT_MAX_IMAGE_SIZE, SizeLimit } from "./size_limit.ts";
import { LayerWriter } from "./writer.ts";

// Public here, with the store: importImages takes them.
export type { ImageSource, LayerSource, Unpacked } from "./_import.ts";
export type { PulledFacts } from "./_image_catalog.ts";
export type { BlobStore } from "./_blob_store.ts";

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
  readonly #layers: LayerStore;
  readonly #catalog: ImageCatalog;
  /** Verified registry blobs kept until the pull that fetched them has stored its image. */
  readonly blobs: BlobStore;
  /** The cap on what one import or load decompresses, in bytes. */
  readonly maxImageSize: number;
  /** Mutations run one at a time: they read and rewrite the shared index. */
  #queue: Promise<unknown> = Promise.resolve();

  constructor(root: string, opts: ImageStoreOptions = {}) {
    this.maxImageSize = opts.maxImageSize ?? DEFAULT_MAX_IMAGE_SIZE;
    const dir = join(root, "images");
    this.#layers = new LayerStore(dir);
    this.#catalog = new ImageCatalog(dir);
    this.blobs = new BlobStore(dir);
  }

  /**
   * Read the index and metadata, creating the directories if needed. A
   * corrupt metadata file is reported on stderr and skipped, never deleted.
   * Call once at startup, before anything else: it clears `tmp/`.
   */
  load(): Promise<void> {
    return this.#exclusive(async () => {
      await this.#layers.reset();
      await this.blobs.init();
      const clean = await this.#catalog.load((id) => this.#layers.has(id));
      // Only sure to be unreferenced when every metadata file could be read.
      if (clean) await this.#layers.removeUnused(this.#catalog.usedLayers());
    });
  }

  /** All images, newest first. */
  list(): Image[] {
    return this.#catalog.all()
      .sort((a, b) => b.Created.localeCompare(a.Created) || a.Id.localeCompare(b.Id))
      .map((img) => structuredClone(img));
  }

  /**
   * Find an image by "name[:tag]" (tag "latest" by default), "sha256:<hex>",
   * full hex id, or unique id prefix of at least 4 hex digits.
   */
  find(ref: string): Image | null {
    const hit = this.#catalog.lookup(ref);
    return hit ? structuredClone(hit.image) : null;
  }

  /** Like {@linkcode ImageStore.find}, but a missing image is a `not_found` error. */
  resolve(ref: string): Image {
    return structuredClone(this.#mustLookup(ref).image);
  }

  /**
   * The absolute layer directories, top first (as overlay's lowerdir lists
   * them). A layer the image has twice is listed once, at its topmost place:
   * overlay refuses a repeated lowerdir, and the lower copy can show nothing
   * the upper one does not cover.
   */
  layerDirs(img: Image): string[] {
    return [...new Set([...img.Layers].reverse())].map((id) => this.#layers.dir(id));
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
    const existing = this.#catalog.tagged(formatReference(parseReference(ref)));
    if (existing) return structuredClone(existing);
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
    const checked = sources.map(checkSource);
    const staged = new Map<string, string>();
    try {
      const layers = sources.flatMap((src) => src.layers);
      const sizes = await unpackNewLayers(this.#layers, layers, staged);
      // One flush for every unpacked file and directory, then the renames.
      if (staged.size) await this.#layers.syncStaged();
      return await this.#exclusive(async () => {
        await this.#layers.commit(staged);
        // A removal may have taken a reused layer meanwhile.
        for (const id of sizes.keys()) {
          if (!(await this.#layers.has(id))) {
            throw conflict(`layer ${id} was removed during the load; try again`);
          }
        }
        const images: Image[] = [];
        for (const c of checked) {
          const size = [...new Set(c.layers)].reduce((n, id) => n + sizes.get(id)!, 0);
          const image = await this.#catalog.add(
            c.keys,
            c.layers,
            size,
            c.config,
            c.created,
            c.pulled,
          );
          images.push(structuredClone(image));
        }
        return images;
      });
    } finally {
      for (const dir of staged.values()) await removeAll(dir);
    }
  }

  /** Whether the layer `id` (its diff id, 64 hex) is stored. */
  hasLayer(id: string): Promise<boolean> {
    if (!LAYER_ID.test(id)) throw invalid(`invalid layer id "${id}"`);
    return this.#layers.has(id);
  }

  /** The directory of a stored layer. */
  layerDir(layerId: string): string {
    if (!LAYER_ID.test(layerId)) throw invalid(`invalid layer id "${layerId}"`);
    return this.#layers.dir(layerId);
  }

  /** A fresh scratch directory inside the store (removed by the caller, or at the next load). */
  scratchDir(): Promise<string> {
    return this.#layers.scratchDir();
  }

  /** Add the reference `newRef` to the image `ref` (moving it from any other image). */
  tag(ref: string, newRef: string): Promise<void> {
    return this.#exclusive(async () => {
      const { image } = this.#mustLookup(ref);
      const key = formatReference(parseReference(newRef));
      await this.#catalog.tag([key], image.Id);
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
        await this.#catalog.untag([key]);
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
      await this.#catalog.untag(repoTags);
      const records: RemoveRecord[] = repoTags.map((t) => ({ Untagged: t }));
      if (inUse) return records;
      await this.#catalog.delete(image.Id);
      records.push({ Deleted: image.Id });
      const used = this.#catalog.usedLayers();
      for (const layer of image.Layers) {
        if (used.has(layer)) continue;
        await this.#layers.remove(layer);
        records.push({ Deleted: `sha256:${layer}` });
      }
      return records;
    });
  }

  /** Unpack into a fresh staging dir, then register the layer and the image under the lock. */
  async #import(
    ref: string,
    config: Partial<ImageConfig> | undefined,
    unpack: (dir: string) => Promise<Unpacked>,
  ): Promise<Image> {
    const key = formatReference(parseReference(ref));
    const cfg = normalizeConfig(config);
    const dir = await this.#layers.stagingDir();
    try {
      const { digest, size, skipped } = await unpack(dir);
      reportSkipped(`image ${key}`, skipped);
      await this.#layers.syncStaged();
      return await this.#exclusive(async () => {
        await this.#layers.commit([[digest, dir]]);
        return structuredClone(await this.#catalog.add([key], [digest], size, cfg));
      });
    } finally {
      await removeAll(dir);
    }
  }

  #mustLookup(ref: string): ImageMatch {
    const hit = this.#catalog.lookup(ref);
    if (!hit) throw notFound(`No such image: ${ref}`);
    return hit;
  }

  #exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(fn);
    this.#queue = run.catch(() => {});
    return run;
  }
}
