/**
 * Manifests of the distribution API: what corral asks for (Docker schema 2,
 * OCI manifests, manifest lists and OCI indexes), fetched with their digest
 * checked, an index resolved to the image for the platform asked for, and
 * the layers' media types checked against what corral can unpack.
 * @module
 */
import { createHash } from "node:crypto";
import { CorralError, invalid, notFound } from "../errdefs/mod.ts";
import {
  type BlobDescriptor,
  hostArchitecture,
  INDEX_MEDIA_TYPES,
  MANIFEST_MEDIA_TYPES,
} from "../image/mod.ts";
import { answerError, type RegistryClient } from "./client.ts";
import type { RemoteReference } from "./reference.ts";

/** Docker schema 2 image manifest. */
export const DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json";
/** OCI image manifest. */
export const OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json";
/** Docker schema 2 image config. */
export const DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json";
/** Docker's gzip layer. */
export const DOCKER_LAYER = "application/vnd.docker.image.rootfs.diff.tar.gzip";

/** The layer media types corral unpacks (the content's magic decides the decompressor). */
const LAYER_MEDIA_TYPES = [
  DOCKER_LAYER,
  "application/vnd.docker.image.rootfs.diff.tar.zstd",
  "application/vnd.oci.image.layer.v1.tar",
  "application/vnd.oci.image.layer.v1.tar+gzip",
  "application/vnd.oci.image.layer.v1.tar+zstd",
];
const ACCEPT = [...MANIFEST_MEDIA_TYPES, ...INDEX_MEDIA_TYPES].join(", ");
// Manifests are kilobytes; an index of many platforms some tens.
const MAX_MANIFEST = 4 << 20;
const DIGEST = /^sha256:[0-9a-f]{64}$/;

/** A platform: "os/architecture[/variant]". */
export interface Platform {
  os: string;
  architecture: string;
  variant?: string;
}

/** An image manifest, resolved. */
export interface ImageManifest {
  /** Its bytes as the registry served them (pushed again as they are). */
  bytes: Uint8Array;
  mediaType: string;
  /** "sha256:…" of `bytes`: the digest a pull reports. */
  digest: string;
  config: BlobDescriptor;
  layers: BlobDescriptor[];
}

/**
 * Parse `--platform` (`linux/amd64`, `linux/arm64/v8`); empty means this machine.
 *
 * @example
 * ```ts
 * parsePlatform("linux/arm64/v8"); // { os: "linux", architecture: "arm64", variant: "v8" }
 * parsePlatform(""); // this machine: linux and its architecture
 * ```
 */
export function parsePlatform(text: string | null | undefined): Platform {
  if (!text) return { os: "linux", architecture: hostArchitecture() };
  const [os, architecture, variant, ...rest] = text.toLowerCase().split("/");
  if (!os || !architecture || rest.length > 0 || variant === "") {
    throw invalid(`invalid platform "${text}": use os/architecture[/variant]`);
  }
  if (os !== "linux") throw invalid(`unsupported platform "${text}": corral runs linux images`);
  return variant ? { os, architecture, variant } : { os, architecture };
}

/**
 * Format a platform as `--platform` takes it.
 *
 * @example
 * ```ts
 * formatPlatform({ os: "linux", architecture: "amd64" }); // "linux/amd64"
 * ```
 */
export function formatPlatform(p: Platform): string {
  return [p.os, p.architecture, p.variant].filter(Boolean).join("/");
}

/**
 * The image manifest `ref` names for `platform`: an index or manifest list
 * is followed to its entry for the platform. Unknown names and tags are
 * `not_found`, other media types `invalid`.
 *
 * @example
 * ```ts
 * import { remoteReference } from "./reference.ts";
 * import type { RegistryClient } from "./client.ts";
 * declare const client: RegistryClient;
 * const m = await resolveManifest(client, remoteReference("127.0.0.1:5000/app"), parsePlatform(""));
 * ```
 */
export async function resolveManifest(
  client: RegistryClient,
  ref: RemoteReference,
  platform: Platform,
): Promise<ImageManifest> {
  let reference = ref.digest ?? ref.tag!;
  for (let depth = 0; depth < 3; depth++) {
    const doc = await fetchManifest(client, ref, reference);
    if (INDEX_MEDIA_TYPES.includes(doc.mediaType)) {
      reference = choosePlatform(doc.json, platform, `${ref.name}@${doc.digest}`);
      continue;
    }
    return imageManifest(doc, ref);
  }
  throw invalid(`${ref.name}: manifest lists nested too deep`);
}

interface FetchedDocument {
  bytes: Uint8Array;
  mediaType: string;
  digest: string;
  json: Record<string, unknown>;
}

async function fetchManifest(
  client: RegistryClient,
  ref: RemoteReference,
  reference: string,
): Promise<FetchedDocument> {
  // As Docker says it (a 404, so that clients do not ask for a password): the name may
  // not exist, or may need a login.
  const denied = (err: CorralError) =>
    notFound(
      `pull access denied for ${ref.name}, repository does not exist or may require ` +
        `'docker login': ${err.message}`,
    );
  let res: Response;
  try {
    res = await client.request(`/v2/${ref.repository}/manifests/${reference}`, {
      headers: { accept: ACCEPT },
      scope: `repository:${ref.repository}:pull`,
    });
  } catch (err) {
    if (err instanceof CorralError && err.kind === "unauthorized") throw denied(err);
    throw err;
  }
  if (res.status === 404 || res.status === 401 || res.status === 403) {
    const err = await answerError(res, `manifest for ${ref.name}:${reference} not found`);
    if (err.kind === "unauthorized" || /name unknown/i.test(err.message)) throw denied(err);
    throw err;
  }
  if (!res.ok) throw await answerError(res, `manifest for ${ref.name}:${reference} not found`);
  const bytes = await readLimited(res, MAX_MANIFEST, `manifest of ${ref.name}`);
  const digest = `sha256:${createHash("sha256").update(bytes).digest("hex")}`;
  if (DIGEST.test(reference) && reference !== digest) {
    throw invalid(`manifest ${reference} of ${ref.name}: the registry sent content of ${digest}`);
  }
  let json: Record<string, unknown>;
  try {
    json = JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    throw invalid(`manifest of ${ref.name}: not JSON`);
  }
  const header = (res.headers.get("content-type") ?? "").split(";")[0].trim();
  const mediaType = typeof json.mediaType === "string" ? json.mediaType : header;
  return { bytes, mediaType, digest, json };
}

function choosePlatform(index: Record<string, unknown>, want: Platform, what: string): string {
  const entries = Array.isArray(index.manifests) ? index.manifests : [];
  const candidates = entries.filter((e) => {
    const p = e?.platform;
    return p?.os === want.os && p?.architecture === want.architecture &&
      (!want.variant || p.variant === want.variant) && typeof e.digest === "string";
  });
  if (candidates.length === 0) {
    const have = entries.map((e) => e?.platform ? formatPlatform(e.platform) : "?").join(", ");
    throw notFound(
      `no matching manifest for ${formatPlatform(want)} in the manifest list entries of ` +
        `${what} (it has ${have || "none"})`,
    );
  }
  const digest = candidates[0].digest as string;
  if (!DIGEST.test(digest)) throw invalid(`${what}: unsupported digest ${digest}`);
  return digest;
}

function imageManifest(doc: FetchedDocument, ref: RemoteReference): ImageManifest {
  const what = `manifest ${doc.digest} of ${ref.name}`;
  if (!MANIFEST_MEDIA_TYPES.includes(doc.mediaType)) {
    throw invalid(
      `${what}: unsupported media type ${JSON.stringify(doc.mediaType)} ` +
        `(corral pulls Docker schema 2 and OCI images)`,
    );
  }
  const config = descriptor(doc.json.config, `${what}: config`);
  const layers = Array.isArray(doc.json.layers)
    ? doc.json.layers.map((l, i) => descriptor(l, `${what}: layer ${i}`))
    : [];
  if (layers.length === 0) throw invalid(`${what}: the image has no layers`);
  for (const [i, l] of layers.entries()) {
    if (!LAYER_MEDIA_TYPES.includes(l.mediaType)) {
      throw invalid(`${what}: layer ${i} has unsupported media type ${l.mediaType}`);
    }
  }
  return { bytes: doc.bytes, mediaType: doc.mediaType, digest: doc.digest, config, layers };
}

function descriptor(value: unknown, what: string): BlobDescriptor {
  const d = value as Partial<BlobDescriptor> | null;
  if (
    typeof d?.digest !== "string" || !DIGEST.test(d.digest) || typeof d.size !== "number" ||
    !Number.isSafeInteger(d.size) || d.size < 0
  ) {
    throw invalid(`${what}: expected a descriptor with a sha256 digest and a size`);
  }
  return { digest: d.digest, size: d.size, mediaType: String(d.mediaType ?? "") };
}

/**
 * A response body of at most `max` bytes, whole.
 *
 * @example
 * ```ts
 * await readLimited(new Response("{}"), 1024, "config"); // Uint8Array of 2 bytes
 * ```
 */
export async function readLimited(res: Response, max: number, what: string): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  let n = 0;
  for await (const chunk of res.body ?? new ReadableStream()) {
    n += chunk.length;
    if (n > max) {
      throw invalid(`${what}: larger than ${max} bytes`);
    }
    parts.push(chunk);
  }
  const out = new Uint8Array(n);
  parts.reduce((off, p) => (out.set(p, off), off + p.length), 0);
  return out;
}
