/**
 * `docker load`: an image archive into the store. Two formats are read, plain
 * or gzip-compressed: a `docker save` archive (`manifest.json`, the image
 * configs, one layer archive per layer, as `ID/layer.tar` or, since docker
 * 25, `blobs/sha256/HEX`) and an OCI image layout (`oci-layout`,
 * `index.json`, `blobs/sha256/HEX`, gzip layers allowed). The archive is
 * unpacked into a private scratch directory first (its members come in any
 * order), then every layer is unpacked with its whiteouts as overlay
 * whiteouts and checked against its diff id; only then are the images
 * registered, so a bad archive stores nothing.
 * @module
 */
import { createHash } from "node:crypto";
import { join } from "node:path";
import { invalid } from "../errdefs/mod.ts";
import { removeAll } from "../sys/mod.ts";
import {
  type Descriptor,
  hostArchitecture,
  IMAGE_NAME_ANNOTATION,
  INDEX_MEDIA_TYPES,
  MANIFEST_MEDIA_TYPES,
  parseDigest,
  type ParsedImageConfig,
  parseDockerManifest,
  parseImageConfig,
  parseIndex,
  parseJson,
  parseManifest,
  REF_NAME_ANNOTATION,
} from "./archive_format.ts";
import { decompress } from "./compression.ts";
import { tapSha256 } from "./digest.ts";
import { extractTar } from "./extract.ts";
import { cleanEntryPath } from "./path.ts";
import { formatReference, parseReference } from "./reference.ts";
import { SizeLimit } from "./size_limit.ts";
import type { ImageSource, ImageStore, LayerSource } from "./store.ts";

/** One image a load stored. */
export interface LoadedImage {
  /** "sha256:" + 64 hex. */
  id: string;
  /** Its "name:tag" references from the archive. */
  refs: string[];
  /** References that pointed at another image before the load. */
  moved: { ref: string; previousId: string }[];
}

// Documents are read whole; real ones are kilobytes.
const MAX_DOCUMENT = 8 << 20;
const BLOB_NAME = /(?:^|\/)([0-9a-f]{64})(?:\.json)?$/;

/**
 * Store the images of an archive stream. Bad archives (unknown format,
 * missing member, digest mismatch, malformed document, unsafe path) are
 * `invalid` errors and leave the store unchanged.
 *
 * @example
 * ```ts
 * import { ImageStore } from "./store.ts";
 * const images = new ImageStore("/var/lib/corral");
 * const file = await Deno.open("app.tar");
 * const loaded = await loadImageArchive(images, file.readable);
 * loadMessages(loaded); // ["Loaded image: app:latest"]
 * ```
 */
export async function loadImageArchive(
  store: ImageStore,
  archive: ReadableStream<Uint8Array>,
): Promise<LoadedImage[]> {
  const staging = await store.scratchDir();
  try {
    const archiveLimit = new SizeLimit(store.maxImageSize, "image archive");
    await extractTar(await decompress(archive, archiveLimit), staging, { limit: archiveLimit });
    // The layers are capped in all, apart from the archive that holds them (maybe compressed).
    const members = new ArchiveMembers(
      await Deno.realPath(staging),
      new SizeLimit(store.maxImageSize, "image layers"),
    );
    const sources = await members.exists("manifest.json")
      ? await dockerSources(members)
      : await members.exists("index.json")
      ? await ociSources(members)
      : null;
    if (sources === null) {
      throw invalid(
        "not an image archive: it has neither manifest.json (docker save) " +
          "nor index.json (OCI image layout)",
      );
    }
    for (const src of sources) src.refs = src.refs.map((r) => formatReference(parseReference(r)));
    const before = sources.map((src) => src.refs.map((ref) => store.find(ref)?.Id));
    const images = await store.importImages(sources);
    return images.map((image, i) => {
      const refs = sources[i].refs;
      const moved = refs.flatMap((ref, j) => {
        const previousId = before[i][j];
        return previousId !== undefined && previousId !== image.Id ? [{ ref, previousId }] : [];
      });
      return { id: image.Id, refs, moved };
    });
  } finally {
    await removeAll(staging);
  }
}

/**
 * The lines `docker load` prints for a load, as Docker words them.
 *
 * @example
 * ```ts
 * loadMessages([{ id: "sha256:ab..", refs: [], moved: [] }]); // ["Loaded image ID: sha256:ab.."]
 * ```
 */
export function loadMessages(loaded: LoadedImage[]): string[] {
  return loaded.flatMap((img) => [
    ...img.moved.map((m) =>
      `The image ${m.ref} already exists, renaming the old one with ID ${m.previousId} to empty string`
    ),
    ...(img.refs.length === 0
      ? [`Loaded image ID: ${img.id}`]
      : img.refs.map((ref) => `Loaded image: ${ref}`)),
  ]);
}

/** The images of a `docker save` archive. */
async function dockerSources(members: ArchiveMembers): Promise<ImageSource[]> {
  const entries = parseDockerManifest(await members.json("manifest.json"));
  const sources: ImageSource[] = [];
  for (const entry of entries) {
    const hex = BLOB_NAME.exec(entry.Config)?.[1];
    const parsed = parseImageConfig(
      await members.json(entry.Config, hex),
      `image config ${entry.Config}`,
    );
    sources.push(
      await imageSource(members, entry.RepoTags, parsed, "manifest.json", entry.Layers),
    );
  }
  return sources;
}

/** The images of an OCI image layout: one per manifest, named by its annotations. */
async function ociSources(members: ArchiveMembers): Promise<ImageSource[]> {
  const layout = await members.json("oci-layout");
  if (typeof (layout as { imageLayoutVersion?: unknown })?.imageLayoutVersion !== "string") {
    throw invalid("oci-layout: imageLayoutVersion missing (not an OCI image layout)");
  }
  // Several names may point at one manifest: one image, several tags.
  const byManifest = new Map<string, { manifest: Descriptor; refs: string[] }>();
  for (const top of parseIndex(await members.json("index.json"), "index.json")) {
    const manifest = await platformManifest(members, top);
    const entry = byManifest.get(manifest.digest) ?? { manifest, refs: [] };
    const name = ociImageName(top.annotations);
    if (name !== null && !entry.refs.includes(name)) entry.refs.push(name);
    byManifest.set(manifest.digest, entry);
  }
  if (byManifest.size === 0) throw invalid("index.json: the layout holds no image");
  const sources: ImageSource[] = [];
  for (const { manifest, refs } of byManifest.values()) {
    const what = `manifest ${manifest.digest}`;
    const m = parseManifest(await members.blobJson(manifest), what);
    const parsed = parseImageConfig(await members.blobJson(m.config), `image config ${what}`);
    sources.push(await imageSource(members, refs, parsed, what, m.layers.map(blobPath)));
  }
  return sources;
}

/** An image from its parsed config and its layer members, bottom first. */
async function imageSource(
  members: ArchiveMembers,
  refs: string[],
  parsed: ParsedImageConfig,
  what: string,
  layerPaths: string[],
): Promise<ImageSource> {
  if (parsed.diffIds.length !== layerPaths.length) {
    throw invalid(
      `${what}: ${layerPaths.length} layers for the ${parsed.diffIds.length} diff ids of the image config`,
    );
  }
  const layers: LayerSource[] = [];
  for (const [i, path] of layerPaths.entries()) {
    layers.push(layerSource(await members.file(path), parsed.diffIds[i], members.limit));
  }
  return { refs, layers, config: parsed.config, created: parsed.created };
}

/** The image manifest a descriptor stands for: itself, or its index's entry for this machine. */
async function platformManifest(members: ArchiveMembers, desc: Descriptor): Promise<Descriptor> {
  for (let depth = 0; depth < 4; depth++) {
    if (!INDEX_MEDIA_TYPES.includes(desc.mediaType)) {
      if (desc.mediaType !== "" && !MANIFEST_MEDIA_TYPES.includes(desc.mediaType)) {
        throw invalid(`${desc.digest}: unsupported media type ${desc.mediaType}`);
      }
      return desc;
    }
    const entries = parseIndex(await members.blobJson(desc), `index ${desc.digest}`);
    const arch = hostArchitecture();
    const match = entries.find((e) =>
      e.platform?.os === "linux" && e.platform.architecture === arch
    );
    if (!match) throw invalid(`index ${desc.digest}: no image for linux/${arch}`);
    desc = match;
  }
  throw invalid(`index ${desc.digest}: indexes nested too deep`);
}

/**
 * The name an index entry gives its image: the full name containerd and
 * docker write, else the OCI ref name when it is a whole reference (a bare
 * tag names no repository, and the image stays untagged).
 */
function ociImageName(annotations: Record<string, string>): string | null {
  const full = annotations[IMAGE_NAME_ANNOTATION];
  if (full) return full;
  const ref = annotations[REF_NAME_ANNOTATION];
  return ref && /[:/]/.test(ref) ? ref : null;
}

function blobPath(desc: Descriptor): string {
  return `blobs/sha256/${parseDigest(desc.digest, "blob")}`;
}

/** A layer archive member, unpacked (gzip or not) with its whiteouts. */
function layerSource(path: string, diffId: string, limit: SizeLimit): LayerSource {
  return {
    diffId,
    async unpack(dir) {
      const file = await Deno.open(path);
      const tap = tapSha256(await decompress(file.readable, limit));
      const { size, skipped } = await extractTar(tap.stream, dir, { whiteouts: true, limit });
      return { digest: tap.digest(), size, skipped };
    },
  };
}

/** The members of an unpacked archive, reached only inside it. */
class ArchiveMembers {
  constructor(readonly root: string, readonly limit: SizeLimit) {}

  async exists(name: string): Promise<boolean> {
    try {
      await Deno.lstat(join(this.root, name));
      return true;
    } catch (err) {
      if (err instanceof Deno.errors.NotFound) return false;
      throw err;
    }
  }

  /**
   * The host path of a regular file member. Symlinks (old `docker save`
   * links repeated layers) are followed only while they stay in the archive.
   */
  async file(name: string): Promise<string> {
    const rel = cleanEntryPath(name);
    let real: string;
    try {
      real = await Deno.realPath(join(this.root, rel));
    } catch (err) {
      if (err instanceof Deno.errors.NotFound) throw invalid(`archive member ${name} is missing`);
      throw err;
    }
    if (!real.startsWith(`${this.root}/`)) {
      throw invalid(`archive member ${name} links outside the archive`);
    }
    if (!(await Deno.stat(real)).isFile) throw invalid(`archive member ${name} is not a file`);
    return real;
  }

  /** A JSON member; when `hex` is given, its bytes must hash to it. */
  async json(name: string, hex?: string): Promise<unknown> {
    const path = await this.file(name);
    if ((await Deno.stat(path)).size > MAX_DOCUMENT) {
      throw invalid(`archive member ${name} is too large for a JSON document`);
    }
    const bytes = await Deno.readFile(path);
    if (hex !== undefined && createHash("sha256").update(bytes).digest("hex") !== hex) {
      throw invalid(`archive member ${name} does not match its digest sha256:${hex}`);
    }
    return parseJson(bytes, name);
  }

  /** A JSON blob of the OCI layout, checked against its digest. */
  blobJson(desc: Descriptor): Promise<unknown> {
    const path = blobPath(desc);
    return this.json(path, path.slice("blobs/sha256/".length));
  }
}
