/**
 * The image records of the store: images by id and the "name:tag" index, in
 * memory and on disk (`meta/`, `repositories.json`), and the lookup of an
 * image by the references users write. Every change is written to disk
 * before it is made current, so what callers see is never ahead of what a
 * restart loads. Callers serialize the changes: each rewrites the index.
 * @module
 */
import { join } from "node:path";
import { imageId, ImageMetaFiles, type StoredImage } from "./_image_meta.ts";
import { readTagIndex, writeTagIndex } from "./_tag_index.ts";
import type { Image, ImageConfig, ImageOrigin } from "./model.ts";
import { formatReference, splitDigest, tryParseReference } from "./reference.ts";

const ID_PREFIX = /^[0-9a-f]{4,64}$/;

/** What a pulled image has besides its layers and config. */
export interface PulledFacts {
  /** Its id: the sha256 of its config document, as Docker reports it. */
  id: string;
  /** "name@sha256:…" it was pulled by. */
  repoDigest: string;
  origin: ImageOrigin;
}

/** An image found by {@linkcode ImageCatalog.lookup}, with the "name:tag" key it was found by. */
export interface ImageMatch {
  image: Image;
  /** Absent when the image was found by id. */
  key?: string;
}

/**
 * Images and their tags. The images it returns are its own records, kept
 * current (their `RepoTags` follow the index): copy them before handing
 * them out.
 *
 * @example
 * ```ts
 * import { normalizeConfig } from "./model.ts";
 * const catalog = new ImageCatalog("/var/lib/corral/images");
 * await catalog.load(async () => true);
 * const img = await catalog.add(["app:latest"], ["ab".repeat(32)], 0, normalizeConfig());
 * catalog.lookup("app")?.image.Id === img.Id; // true
 * ```
 */
export class ImageCatalog {
  readonly #meta: ImageMetaFiles;
  readonly #indexPath: string;
  readonly #images = new Map<string, Image>();
  /** "name:tag" -> image id; replaced as a whole once written to disk. */
  #tags = new Map<string, string>();

  constructor(imagesDir: string) {
    this.#meta = new ImageMetaFiles(join(imagesDir, "meta"));
    this.#indexPath = join(imagesDir, "repositories.json");
  }

  /**
   * Read the metadata files and the index, keeping only images whose layers
   * `hasLayer`. False when a metadata file was corrupt: the layers it uses
   * are then unknown.
   */
  async load(hasLayer: (id: string) => Promise<boolean>): Promise<boolean> {
    await this.#meta.init();
    this.#images.clear();
    const { images, clean } = await this.#meta.readAll(hasLayer);
    for (const img of images) this.#images.set(img.Id, { ...img, RepoTags: [] });
    this.#tags = await readTagIndex(this.#indexPath, (id) => this.#images.has(id));
    this.#syncRepoTags();
    return clean;
  }

  /** All images, in no particular order. */
  all(): Image[] {
    return [...this.#images.values()];
  }

  /** The image the "name:tag" `key` points at. */
  tagged(key: string): Image | undefined {
    return this.#images.get(this.#tags.get(key) ?? "");
  }

  /**
   * The image `ref` names: "name[:tag]" (tag "latest" by default),
   * "sha256:<hex>", full hex id, or unique id prefix of at least 4 hex digits.
   */
  lookup(ref: string): ImageMatch | null {
    if (ref.startsWith("sha256:")) return this.#byIdPrefix(ref.slice(7));
    const digested = splitDigest(ref);
    if (digested) {
      const image = [...this.#images.values()].find((i) =>
        i.RepoDigests?.includes(`${digested.name}@${digested.digest}`)
      );
      return image ? { image } : null;
    }
    // A full hex id is no name (tryParseReference refuses it): it falls through to the ids.
    const parsed = tryParseReference(ref);
    if (typeof parsed !== "string") {
      const key = formatReference(parsed);
      const image = this.tagged(key);
      if (image) return { image, key };
    }
    return this.#byIdPrefix(ref);
  }

  /**
   * Write the metadata of the image made of `layers` with `config` (unless
   * the same image exists) and point the "name:tag" `keys` at it. A pulled
   * image has the id of its config document and keeps its repo digests
   * (merged into an existing image's).
   */
  async add(
    keys: string[],
    layers: string[],
    size: number,
    config: ImageConfig,
    created = new Date().toISOString(),
    pulled?: PulledFacts,
  ): Promise<Image> {
    const id = pulled?.id ?? imageId(layers, config);
    let img = this.#images.get(id);
    const { RepoTags: _, ...current } = img ?? {};
    const stored: StoredImage = img ? current as StoredImage : {
      Id: id,
      Created: created,
      Size: size,
      Layers: layers,
      Config: config,
    };
    let changed = !img;
    if (pulled && !stored.RepoDigests?.includes(pulled.repoDigest)) {
      stored.RepoDigests = [...stored.RepoDigests ?? [], pulled.repoDigest];
      changed = true;
    }
    if (pulled) {
      const had = stored.Origin?.repositories ?? [];
      const repositories = [...new Set([...had, ...pulled.origin.repositories])];
      if (!stored.Origin || repositories.length !== had.length) {
        stored.Origin = { ...stored.Origin ?? pulled.origin, repositories };
        changed = true;
      }
    }
    if (changed) {
      await this.#meta.write(stored);
      img = { ...stored, RepoTags: img?.RepoTags ?? [] };
      this.#images.set(id, img);
    }
    await this.tag(keys, id);
    return img!;
  }

  /** Point the "name:tag" `keys` at the image `id`, moving them from any other image. */
  tag(keys: string[], id: string): Promise<void> {
    const next = new Map(this.#tags);
    for (const key of keys) next.set(key, id);
    return this.#setTags(next);
  }

  /** Remove the "name:tag" `keys`. */
  untag(keys: string[]): Promise<void> {
    const next = new Map(this.#tags);
    for (const key of keys) next.delete(key);
    return this.#setTags(next);
  }

  /** Forget the image `id` and remove its metadata file. Its tags must be gone first. */
  async delete(id: string): Promise<void> {
    await this.#meta.remove(id);
    this.#images.delete(id);
  }

  /** The layers some image uses. */
  usedLayers(): Set<string> {
    return new Set([...this.#images.values()].flatMap((img) => img.Layers));
  }

  async #setTags(next: Map<string, string>): Promise<void> {
    await writeTagIndex(this.#indexPath, next);
    this.#tags = next;
    this.#syncRepoTags();
  }

  #syncRepoTags(): void {
    for (const img of this.#images.values()) img.RepoTags = [];
    for (const [key, id] of this.#tags) this.#images.get(id)?.RepoTags.push(key);
  }

  #byIdPrefix(hex: string): ImageMatch | null {
    if (!ID_PREFIX.test(hex)) return null;
    const matches = [...this.#images.values()].filter((img) => img.Id.startsWith(`sha256:${hex}`));
    return matches.length === 1 ? { image: matches[0] } : null;
  }
}
