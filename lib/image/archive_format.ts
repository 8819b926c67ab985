/**
 * The JSON documents of image archives: `docker save`'s `manifest.json`, the
 * OCI image layout's index and manifests, and the image config both share
 * (what a container runs, and the diff ids of the layers). Parsing refuses
 * what corral cannot use, with a message naming the document.
 * @module
 */
import { invalid } from "../errdefs/mod.ts";
import type { Image, ImageConfig } from "./model.ts";

/** One image of `docker save`'s `manifest.json` (paths are archive members). */
export interface DockerManifestEntry {
  Config: string;
  RepoTags: string[];
  Layers: string[];
}

/** An OCI content descriptor: a blob by digest, with what it is. */
export interface Descriptor {
  mediaType: string;
  /** "sha256:" + 64 hex. */
  digest: string;
  annotations: Record<string, string>;
  platform?: { os?: string; architecture?: string };
}

/** The parts of an image config corral keeps. */
export interface ParsedImageConfig {
  config: Partial<ImageConfig>;
  /** Hex sha256 of each layer's uncompressed archive, bottom first. */
  diffIds: string[];
  /** ISO 8601, when the config has a valid one. */
  created?: string;
}

/** Media types of an index (a list of manifests, one per platform). */
export const INDEX_MEDIA_TYPES = [
  "application/vnd.oci.image.index.v1+json",
  "application/vnd.docker.distribution.manifest.list.v2+json",
];
/** Media types of an image manifest. */
export const MANIFEST_MEDIA_TYPES = [
  "application/vnd.oci.image.manifest.v1+json",
  "application/vnd.docker.distribution.manifest.v2+json",
];
/** The annotation holding a full image name (containerd, buildkit, docker 25+). */
export const IMAGE_NAME_ANNOTATION = "io.containerd.image.name";
/** The OCI annotation holding a reference, often just a tag. */
export const REF_NAME_ANNOTATION = "org.opencontainers.image.ref.name";

const DIGEST = /^sha256:([0-9a-f]{64})$/;

/**
 * This machine's architecture in Go's names, as image configs write it.
 *
 * @example
 * ```ts
 * hostArchitecture(); // "amd64" on x86_64
 * ```
 */
export function hostArchitecture(): string {
  const arch = Deno.build.arch as string;
  return arch === "x86_64" ? "amd64" : arch === "aarch64" ? "arm64" : arch;
}

/**
 * The hex of a "sha256:<hex>" digest; anything else is `invalid`.
 *
 * @example
 * ```ts
 * parseDigest(`sha256:${"a".repeat(64)}`, "layer"); // "aaa..."
 * ```
 */
export function parseDigest(digest: unknown, what: string): string {
  const m = typeof digest === "string" ? DIGEST.exec(digest) : null;
  if (!m) throw invalid(`${what}: unsupported digest ${JSON.stringify(digest)} (expected sha256)`);
  return m[1];
}

/**
 * Parse JSON bytes of an archive document; a syntax error is `invalid`.
 *
 * @example
 * ```ts
 * parseJson(new TextEncoder().encode("[]"), "manifest.json"); // []
 * ```
 */
export function parseJson(bytes: Uint8Array, what: string): unknown {
  try {
    return JSON.parse(new TextDecoder().decode(bytes));
  } catch (err) {
    throw invalid(`${what}: invalid JSON (${(err as Error).message})`);
  }
}

/**
 * The images of a `docker save` `manifest.json`.
 *
 * @example
 * ```ts
 * parseDockerManifest([{ Config: "c.json", RepoTags: ["a:1"], Layers: ["l/layer.tar"] }]);
 * ```
 */
export function parseDockerManifest(doc: unknown): DockerManifestEntry[] {
  if (!Array.isArray(doc) || doc.length === 0) {
    throw invalid("manifest.json: expected a non-empty list of images");
  }
  return doc.map((e, i) => {
    const what = `manifest.json image ${i}`;
    if (!isObject(e) || typeof e.Config !== "string") throw invalid(`${what}: Config missing`);
    return {
      Config: e.Config,
      RepoTags: e.RepoTags == null ? [] : strings(e.RepoTags, `${what}: RepoTags`),
      Layers: strings(e.Layers, `${what}: Layers`),
    };
  });
}

/**
 * The descriptors of an OCI index (`index.json` or a nested index blob).
 *
 * @example
 * ```ts
 * parseIndex({ schemaVersion: 2, manifests: [] }, "index.json"); // []
 * ```
 */
export function parseIndex(doc: unknown, what: string): Descriptor[] {
  if (!isObject(doc) || !Array.isArray(doc.manifests)) {
    throw invalid(`${what}: expected an OCI index with a "manifests" list`);
  }
  return doc.manifests.map((d, i) => parseDescriptor(d, `${what} manifest ${i}`));
}

/**
 * The config and layer descriptors of an image manifest.
 *
 * @example
 * ```ts
 * declare const doc: unknown;
 * const { config, layers } = parseManifest(doc, "manifest sha256:...");
 * ```
 */
export function parseManifest(
  doc: unknown,
  what: string,
): { config: Descriptor; layers: Descriptor[] } {
  if (!isObject(doc) || !Array.isArray(doc.layers)) {
    throw invalid(`${what}: expected an image manifest with config and layers`);
  }
  return {
    config: parseDescriptor(doc.config, `${what} config`),
    layers: doc.layers.map((d, i) => parseDescriptor(d, `${what} layer ${i}`)),
  };
}

function parseDescriptor(d: unknown, what: string): Descriptor {
  if (!isObject(d)) throw invalid(`${what}: expected a descriptor object`);
  parseDigest(d.digest, what);
  const annotations: Record<string, string> = {};
  if (isObject(d.annotations)) {
    for (const [k, v] of Object.entries(d.annotations)) {
      if (typeof v === "string") annotations[k] = v;
    }
  }
  const platform = isObject(d.platform)
    ? { os: String(d.platform.os ?? ""), architecture: String(d.platform.architecture ?? "") }
    : undefined;
  return {
    mediaType: typeof d.mediaType === "string" ? d.mediaType : "",
    digest: d.digest as string,
    annotations,
    platform,
  };
}

/**
 * What corral keeps of an image config: the run defaults, the layer diff
 * ids and the creation time. A config for another OS is refused.
 *
 * @example
 * ```ts
 * declare const doc: unknown;
 * const { config, diffIds } = parseImageConfig(doc, "config abc.json");
 * ```
 */
export function parseImageConfig(doc: unknown, what: string): ParsedImageConfig {
  if (!isObject(doc)) throw invalid(`${what}: expected an image config object`);
  if (doc.os !== undefined && doc.os !== "linux") {
    throw invalid(`${what}: the image is for ${JSON.stringify(doc.os)}, not linux`);
  }
  const rootfs = doc.rootfs;
  if (!isObject(rootfs) || rootfs.type !== "layers") {
    throw invalid(`${what}: rootfs.type must be "layers"`);
  }
  const diffIds = strings(rootfs.diff_ids, `${what}: rootfs.diff_ids`)
    .map((id) => parseDigest(id, `${what}: diff id`));
  const run = isObject(doc.config) ? doc.config : {};
  const config: Partial<ImageConfig> = {};
  // Docker writes null for unset fields; the model's defaults apply to them.
  const keys = ["Cmd", "Entrypoint", "Env", "WorkingDir", "User", "Labels", "StopSignal"];
  for (const key of [...keys, "Healthcheck", "Volumes", "ExposedPorts"]) {
    if (run[key] != null) (config as Record<string, unknown>)[key] = run[key];
  }
  const time = typeof doc.created === "string" ? Date.parse(doc.created) : NaN;
  return {
    config,
    diffIds,
    created: Number.isNaN(time) ? undefined : new Date(time).toISOString(),
  };
}

/**
 * The image config document of a stored image, for an archive whose layer
 * archives hash to `diffIds` (hex).
 *
 * @example
 * ```ts
 * import type { ImageStore } from "./store.ts";
 * declare const images: ImageStore;
 * const json = imageConfigDocument(images.resolve("app"), ["ab12..."]);
 * ```
 */
export function imageConfigDocument(image: Image, diffIds: string[]): Record<string, unknown> {
  const { StopSignal, ...run } = image.Config;
  return {
    architecture: hostArchitecture(),
    os: "linux",
    created: image.Created,
    config: StopSignal === "" ? run : { ...run, StopSignal },
    rootfs: { type: "layers", diff_ids: diffIds.map((hex) => `sha256:${hex}`) },
    history: diffIds.map(() => ({ created: image.Created, created_by: "corral" })),
  };
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function strings(v: unknown, what: string): string[] {
  if (!Array.isArray(v) || !v.every((s) => typeof s === "string")) {
    throw invalid(`${what} must be a list of strings`);
  }
  return v;
}
