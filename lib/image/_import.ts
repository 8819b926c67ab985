/**
 * What an import brings into the image store, and the work done on it before
 * the store's lock is taken. An import is images made of layers, each layer
 * able to unpack itself and announcing the digest its content must have
 * (`docker load` describes an archive's images this way). The sources are
 * checked, then the layers not stored yet are unpacked into staging
 * directories and checked against their diff ids: nothing is in place until
 * the store commits the staged layers.
 * @module
 */
import { getLogger } from "@logtape/logtape";
import { invalid } from "../errdefs/mod.ts";
import { LAYER_ID, type LayerStore } from "./_layer_store.ts";
import type { PulledFacts } from "./_image_catalog.ts";
import { type ImageConfig, normalizeConfig } from "./model.ts";
import { formatReference, parseReference } from "./reference.ts";

const log = getLogger(["corral", "image"]);

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

/**
 * An image for `ImageStore.importImages`: its tags, layers and config.
 *
 * @example
 * ```ts
 * declare const layer: LayerSource;
 * const source: ImageSource = { refs: ["app:1"], layers: [layer], config: { Cmd: ["/app"] } };
 * ```
 */
export interface ImageSource {
  /** References to tag it with; none for an untagged image. */
  refs: string[];
  /** Its layers, bottom first. */
  layers: LayerSource[];
  config?: Partial<ImageConfig>;
  /** Creation time, ISO 8601; now when absent. */
  created?: string;
  /** For an image pulled from a registry: its id, repo digest and origin. */
  pulled?: PulledFacts;
}

/** An {@linkcode ImageSource} checked and normalized, ready to be registered. */
export interface CheckedImage {
  /** The "name:tag" keys to point at it. */
  keys: string[];
  config: ImageConfig;
  /** Layer ids, bottom first. */
  layers: string[];
  created?: string;
  pulled?: PulledFacts;
}

/**
 * Check an image source: it has layers, its layer ids, references, config
 * and creation time are well-formed. A bad one is an `invalid` error.
 *
 * @example
 * ```ts
 * declare const source: ImageSource;
 * const { keys, layers } = checkSource(source);
 * ```
 */
export function checkSource(src: ImageSource): CheckedImage {
  if (src.layers.length === 0) throw invalid("image has no layers: corral cannot run it");
  for (const layer of src.layers) {
    if (!LAYER_ID.test(layer.diffId)) throw invalid(`invalid layer diff id "${layer.diffId}"`);
  }
  if (src.created !== undefined && Number.isNaN(Date.parse(src.created))) {
    throw invalid(`image config: invalid created time ${JSON.stringify(src.created)}`);
  }
  return {
    keys: src.refs.map((r) => formatReference(parseReference(r))),
    config: normalizeConfig(src.config),
    layers: src.layers.map((l) => l.diffId),
    created: src.created,
    pulled: src.pulled,
  };
}

/**
 * Unpack each layer that is not stored yet (once, however often it is
 * listed) into a staging directory, recorded in `staged` (layer id to
 * directory) as soon as it exists, so that the caller removes it whatever
 * happens. A layer whose content does not hash to its diff id is an
 * `invalid` error. Returns the size of every layer listed, by id.
 *
 * @example
 * ```ts
 * import type { LayerStore } from "./_layer_store.ts";
 * declare const layers: LayerStore;
 * declare const sources: LayerSource[];
 * const staged = new Map<string, string>();
 * const sizes = await unpackNewLayers(layers, sources, staged);
 * ```
 */
export async function unpackNewLayers(
  layers: LayerStore,
  sources: LayerSource[],
  staged: Map<string, string>,
): Promise<Map<string, number>> {
  const sizes = new Map<string, number>();
  for (const layer of sources) {
    if (sizes.has(layer.diffId)) continue;
    if (await layers.has(layer.diffId)) {
      sizes.set(layer.diffId, await layers.size(layer.diffId));
      continue;
    }
    const dir = await layers.stagingDir();
    staged.set(layer.diffId, dir);
    const unpacked = await layer.unpack(dir);
    if (unpacked.digest !== layer.diffId) {
      throw invalid(
        `layer content sha256:${unpacked.digest} does not match its diff id sha256:${layer.diffId}`,
      );
    }
    reportSkipped(`layer ${layer.diffId.slice(0, 12)}`, unpacked.skipped);
    sizes.set(layer.diffId, unpacked.size);
  }
  return sizes;
}

/**
 * Log the entries an unpack could not create, for the admin: the import
 * still succeeds, but the image may lack files its user expects.
 *
 * @example
 * ```ts
 * reportSkipped("image app:latest", ["dev/null: device nodes are not created"]);
 * ```
 */
export function reportSkipped(what: string, skipped: string[]): void {
  if (skipped.length === 0) return;
  const some = skipped.slice(0, 3).join("; ") + (skipped.length > 3 ? "; ..." : "");
  log.warn("{what}: skipped {count} entries ({some})", { what, count: skipped.length, some });
}
