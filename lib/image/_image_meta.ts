/**
 * Image metadata files: `meta/<hex>.json` holds one image, without its tags
 * (the tag index has them). A file is replaced atomically, and every field is
 * checked when read back: a hand edit or a bug must not bring in an image
 * whose layers are gone.
 * @module
 */
import { createHash } from "node:crypto";
import { join } from "node:path";
import { getLogger } from "@logtape/logtape";
import { errorMessage, invalid } from "../errdefs/mod.ts";
import { readJson, removeAll, writeFileAtomic } from "../sys/mod.ts";
import { LAYER_ID } from "./_layer_store.ts";
import { type Image, type ImageConfig, type ImageOrigin, normalizeConfig } from "./model.ts";

const log = getLogger(["corral", "image"]);

/** An image as its metadata file holds it. */
export type StoredImage = Omit<Image, "RepoTags">;

/**
 * The id of the image made of `layers` (bottom first) with `config`: the
 * same image imported twice gets the same id, and is stored once.
 *
 * @example
 * ```ts
 * import { normalizeConfig } from "./model.ts";
 * imageId(["ab".repeat(32)], normalizeConfig({ Cmd: ["sh"] })); // "sha256:" + 64 hex
 * ```
 */
export function imageId(layers: string[], config: ImageConfig): string {
  const hash = createHash("sha256").update(JSON.stringify({ Layers: layers, Config: config }));
  return `sha256:${hash.digest("hex")}`;
}

/**
 * The metadata files of a `meta/` directory.
 *
 * @example
 * ```ts
 * const meta = new ImageMetaFiles("/var/lib/corral/images/meta");
 * await meta.init();
 * const { images, clean } = await meta.readAll(async () => true);
 * ```
 */
export class ImageMetaFiles {
  readonly #dir: string;

  constructor(dir: string) {
    this.#dir = dir;
  }

  /** Create the directory if needed. */
  async init(): Promise<void> {
    await Deno.mkdir(this.#dir, { recursive: true });
  }

  /** Write (or replace) the metadata file of `image`. */
  write(image: StoredImage): Promise<void> {
    return writeFileAtomic(this.#path(image.Id), JSON.stringify(image, null, 2));
  }

  /** Remove the metadata file of the image `id`; a missing one is fine. */
  remove(id: string): Promise<void> {
    return removeAll(this.#path(id));
  }

  /**
   * Every image whose metadata file is sound and whose layers `hasLayer`.
   * A corrupt file is logged and skipped, never deleted; `clean` is false
   * then, since the layers it names are not known.
   */
  async readAll(
    hasLayer: (id: string) => Promise<boolean>,
  ): Promise<{ images: StoredImage[]; clean: boolean }> {
    const images: StoredImage[] = [];
    let clean = true;
    for await (const entry of Deno.readDir(this.#dir)) {
      if (!entry.isFile || !entry.name.endsWith(".json")) continue;
      const path = join(this.#dir, entry.name);
      try {
        images.push(await parseStored(await readJson(path), entry.name.slice(0, -5), hasLayer));
      } catch (err) {
        clean = false;
        log.error("skipping corrupt image metadata {path}: {error}", {
          path,
          error: errorMessage(err),
        });
      }
    }
    return { images, clean };
  }

  #path(id: string): string {
    return join(this.#dir, `${id.slice(7)}.json`);
  }
}

/** The image of the metadata file `<hex>.json`, whose content is `value`. */
async function parseStored(
  value: unknown,
  hex: string,
  hasLayer: (id: string) => Promise<boolean>,
): Promise<StoredImage> {
  const v = value as Partial<StoredImage> | null;
  if (typeof v !== "object" || v === null) throw invalid("not a JSON object");
  if (v.Id !== `sha256:${hex}`) {
    throw invalid(`Id ${JSON.stringify(v.Id)} does not match the file name`);
  }
  if (typeof v.Created !== "string" || typeof v.Size !== "number") {
    throw invalid("Created or Size missing");
  }
  if (
    !Array.isArray(v.Layers) || !v.Layers.every((l) => typeof l === "string" && LAYER_ID.test(l))
  ) {
    throw invalid("Layers must be a list of layer ids");
  }
  for (const layer of v.Layers) {
    if (!(await hasLayer(layer))) throw invalid(`layer ${layer} is missing`);
  }
  if (
    v.RepoDigests !== undefined &&
    !(Array.isArray(v.RepoDigests) && v.RepoDigests.every((d) => typeof d === "string"))
  ) {
    throw invalid("RepoDigests must be a list of strings");
  }
  return {
    Id: v.Id,
    Created: v.Created,
    Size: v.Size,
    Layers: v.Layers,
    Config: normalizeConfig(v.Config),
    ...(v.RepoDigests?.length ? { RepoDigests: v.RepoDigests } : {}),
    ...(v.Origin ? { Origin: parseOrigin(v.Origin, v.Layers.length) } : {}),
  };
}

/** A pulled image's origin, checked: one blob per layer. */
function parseOrigin(value: unknown, layers: number): ImageOrigin {
  const o = value as Partial<ImageOrigin> | null;
  const blobsOk = Array.isArray(o?.layers) && o.layers.length === layers &&
    o.layers.every((l) =>
      typeof l?.digest === "string" && typeof l.size === "number" && typeof l.mediaType === "string"
    );
  if (
    typeof o?.config !== "string" || !blobsOk || !Array.isArray(o.repositories) ||
    !o.repositories.every((r) => typeof r === "string")
  ) {
    throw invalid("Origin must have config, one blob per layer and repositories");
  }
  return { config: o.config, layers: o.layers!, repositories: o.repositories };
}
