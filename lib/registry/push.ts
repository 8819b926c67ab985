/**
 * A push: each layer's blob made present in the repository (already there,
 * mounted from another repository of the registry, or uploaded in one PUT
 * or in chunks), then the config and the manifest. A pulled image is pushed
 * with the blobs, config and manifest it came with, so its digest does not
 * change; an image built here gets its layers archived and gzipped (the same
 * bytes every time) and a Docker schema 2 manifest.
 * @module
 */
import { createHash } from "node:crypto";
import { join } from "node:path";
import { invalid } from "../errdefs/mod.ts";
import {
  type BlobDescriptor,
  type Image,
  imageConfigDocument,
  type ImageStore,
  TarWriter,
  writeLayerTar,
} from "../image/mod.ts";
import { removeAll } from "../sys/mod.ts";
import { answerError, type RegistryClient } from "./client.ts";
import { DOCKER_CONFIG, DOCKER_LAYER, DOCKER_MANIFEST, OCI_MANIFEST } from "./manifest.ts";
import { layerProgress, layerStatus, type ProgressSink, throttle } from "./progress.ts";
import type { RemoteReference } from "./reference.ts";

/** How blobs are uploaded. */
export interface UploadOptions {
  /** Blobs larger than this go up in chunks of this size; smaller ones in one PUT. */
  chunkSize: number;
}

/** The default chunk size of uploads. */
export const DEFAULT_CHUNK_SIZE = 16 << 20;

/** A blob to push: a file, or bytes. */
interface PushBlob {
  desc: BlobDescriptor;
  path?: string;
  bytes?: Uint8Array;
}

/** What a push put: the manifest's digest and size, as `docker push` prints them. */
export interface PushResult {
  digest: string;
  size: number;
}

/**
 * Push the image `image` as `ref` (which has a tag).
 *
 * @example
 * ```ts
 * import type { Image, ImageStore } from "../image/mod.ts";
 * import { remoteReference } from "./reference.ts";
 * import type { RegistryClient } from "./client.ts";
 * declare const client: RegistryClient, images: ImageStore, image: Image;
 * await pushImage(client, images, image, remoteReference("127.0.0.1:5000/app:1"), console.log);
 * ```
 */
export async function pushImage(
  client: RegistryClient,
  images: ImageStore,
  image: Image,
  ref: RemoteReference,
  sink: ProgressSink,
  opts: UploadOptions = { chunkSize: DEFAULT_CHUNK_SIZE },
): Promise<PushResult> {
  sink({ status: `The push refers to repository [${ref.name}]` });
  const scratch = await images.scratchDir();
  try {
    const origin = image.Origin;
    const diffIds: string[] = [];
    const blobs: BlobDescriptor[] = [];
    let reused = origin !== undefined;
    for (const layer of [...image.Layers].reverse()) {
      sink(layerStatus(layer.slice(0, 12), "Preparing"));
    }
    for (const [i, layer] of image.Layers.entries()) {
      const id = layer.slice(0, 12);
      const known = origin?.layers[i];
      if (known && await present(client, ref, known, origin!.repositories, sink, id)) {
        blobs.push(known);
        diffIds.push(layer);
        continue;
      }
      const archived = await archiveLayer(images.layerDir(layer), join(scratch, `${i}`));
      if (archived.diffId !== layer) reused = false;
      diffIds.push(archived.diffId);
      blobs.push(archived.desc);
      if (await exists(client, ref, archived.desc)) {
        sink(layerStatus(id, "Layer already exists"));
      } else {
        await upload(client, ref, { desc: archived.desc, path: archived.path }, opts, sink, id);
        sink(layerStatus(id, "Pushed"));
      }
    }
    const config = reused
      ? new TextEncoder().encode(origin!.config)
      : new TextEncoder().encode(JSON.stringify(imageConfigDocument(image, diffIds)));
    const configDesc: BlobDescriptor = {
      digest: `sha256:${createHash("sha256").update(config).digest("hex")}`,
      size: config.length,
      mediaType: reused ? originConfigType(origin!.layers) : DOCKER_CONFIG,
    };
    if (!(await exists(client, ref, configDesc))) {
      await upload(client, ref, { desc: configDesc, bytes: config }, opts, () => {}, "");
    }
    const mediaType = reused ? originManifestType(origin!.layers) : DOCKER_MANIFEST;
    const manifest = new TextEncoder().encode(JSON.stringify({
      schemaVersion: 2,
      mediaType,
      config: configDesc,
      layers: blobs,
    }));
    const res = await client.request(`/v2/${ref.repository}/manifests/${ref.tag}`, {
      method: "PUT",
      headers: { "content-type": mediaType },
      body: manifest,
      scope: `repository:${ref.repository}:pull,push`,
    });
    if (!res.ok) throw await answerError(res, `repository ${ref.name} not found`);
    await res.body?.cancel();
    const digest = `sha256:${createHash("sha256").update(manifest).digest("hex")}`;
    sink({ status: `${ref.tag}: digest: ${digest} size: ${manifest.length}` });
    sink({ progressDetail: {}, aux: { Tag: ref.tag, Digest: digest, Size: manifest.length } });
    return { digest, size: manifest.length };
  } finally {
    await removeAll(scratch);
  }
}

/** A pulled layer's blob: already in the repository, or mounted from where it was pulled. */
async function present(
  client: RegistryClient,
  ref: RemoteReference,
  desc: BlobDescriptor,
  repositories: string[],
  sink: ProgressSink,
  id: string,
): Promise<boolean> {
  if (await exists(client, ref, desc)) {
    sink(layerStatus(id, "Layer already exists"));
    return true;
  }
  for (const full of repositories) {
    const from = full.startsWith(`${ref.registry}/`) ? full.slice(ref.registry.length + 1) : null;
    if (from === null || from === ref.repository) continue;
    const q = `mount=${encodeURIComponent(desc.digest)}&from=${encodeURIComponent(from)}`;
    const res = await client.request(`/v2/${ref.repository}/blobs/uploads/?${q}`, {
      method: "POST",
      scope: `repository:${ref.repository}:pull,push repository:${from}:pull`,
    });
    await res.body?.cancel();
    if (res.status === 201) {
      sink(layerStatus(id, `Mounted from ${from}`));
      return true;
    }
    // 202: the registry opened an upload instead; leave it unused.
    const location = res.headers.get("location");
    if (res.status === 202 && location) {
      const cancel = await client.request(location, {
        method: "DELETE",
        scope: `repository:${ref.repository}:pull,push`,
      });
      await cancel.body?.cancel();
    }
  }
  return false;
}

async function exists(
  client: RegistryClient,
  ref: RemoteReference,
  desc: BlobDescriptor,
): Promise<boolean> {
  const res = await client.request(`/v2/${ref.repository}/blobs/${desc.digest}`, {
    method: "HEAD",
    scope: `repository:${ref.repository}:pull,push`,
  });
  await res.body?.cancel();
  if (res.ok) return true;
  if (res.status === 404) return false;
  throw await answerError(res, `repository ${ref.name} not found`);
}

/** Upload a blob: one PUT when it is small, PATCHed chunks then a PUT otherwise. */
async function upload(
  client: RegistryClient,
  ref: RemoteReference,
  blob: PushBlob,
  opts: UploadOptions,
  sink: ProgressSink,
  id: string,
): Promise<void> {
  const scope = `repository:${ref.repository}:pull,push`;
  const start = await client.request(`/v2/${ref.repository}/blobs/uploads/`, {
    method: "POST",
    scope,
  });
  if (start.status !== 202) throw await answerError(start, `repository ${ref.name} not found`);
  await start.body?.cancel();
  let location = start.headers.get("location");
  if (!location) throw invalid(`registry ${ref.registry}: an upload without a location`);
  const { desc } = blob;
  const bytes = blob.bytes ??
    (desc.size <= opts.chunkSize ? await Deno.readFile(blob.path!) : null);
  const progress = throttle((n: number) => sink(layerProgress(id, "Pushing", n, desc.size)), 100);
  if (bytes === null) {
    const file = await Deno.open(blob.path!);
    try {
      const buf = new Uint8Array(opts.chunkSize);
      for (let offset = 0; offset < desc.size;) {
        let n = 0;
        while (n < buf.length) {
          const got = await file.read(buf.subarray(n));
          if (got === null) break;
          n += got;
        }
        const res = await client.request(location, {
          method: "PATCH",
          headers: {
            "content-type": "application/octet-stream",
            "content-range": `${offset}-${offset + n - 1}`,
          },
          body: buf.slice(0, n),
          scope,
        });
        if (res.status !== 202) throw await answerError(res, `upload to ${ref.name} not found`);
        await res.body?.cancel();
        location = res.headers.get("location") ?? location;
        offset += n;
        progress(offset);
      }
    } finally {
      file.close();
    }
  }
  const url = await client.url(location);
  url.searchParams.set("digest", desc.digest);
  const done = await client.request(url.href, {
    method: "PUT",
    headers: { "content-type": "application/octet-stream" },
    body: (bytes ?? new Uint8Array(0)) as BodyInit,
    scope,
  });
  if (done.status !== 201) throw await answerError(done, `upload to ${ref.name} not found`);
  await done.body?.cancel();
  progress(desc.size);
  progress.flush();
}

/** A layer directory archived and gzipped to `path`, with its diff id and blob digest. */
async function archiveLayer(dir: string, path: string) {
  const diff = createHash("sha256");
  const blob = createHash("sha256");
  let size = 0;
  const file = await Deno.open(path, { write: true, createNew: true, mode: 0o600 });
  const gzip = new CompressionStream("gzip");
  const writer = gzip.writable.getWriter();
  const drained = (async () => {
    for await (const chunk of gzip.readable) {
      blob.update(chunk);
      size += chunk.length;
      for (let off = 0; off < chunk.length;) off += await file.write(chunk.subarray(off));
    }
  })();
  try {
    const tar = new TarWriter(async (chunk) => {
      diff.update(chunk);
      await writer.write(chunk as Uint8Array<ArrayBuffer>);
    });
    await writeLayerTar(dir, tar);
    await tar.finish();
    await writer.close();
    await drained;
  } finally {
    file.close();
  }
  return {
    path,
    diffId: diff.digest("hex"),
    desc: { digest: `sha256:${blob.digest("hex")}`, size, mediaType: DOCKER_LAYER },
  };
}

/** OCI layers come with an OCI manifest and config, Docker's with Docker's. */
function isOci(layers: BlobDescriptor[]): boolean {
  return layers.every((l) => l.mediaType.startsWith("application/vnd.oci."));
}

function originManifestType(layers: BlobDescriptor[]): string {
  return isOci(layers) ? OCI_MANIFEST : DOCKER_MANIFEST;
}

function originConfigType(layers: BlobDescriptor[]): string {
  return isOci(layers) ? "application/vnd.oci.image.config.v1+json" : DOCKER_CONFIG;
}
