/**
 * A pull: the manifest and config resolved first (so an unknown image or a
 * refused login is an error before any progress is sent), then the layers
 * not stored yet downloaded (a few at a time, each blob verified) and
 * unpacked, and the image stored all at once under the id Docker gives it,
 * the digest of its config. Until then nothing of it is visible; the
 * verified blobs stay for a retry.
 * @module
 */
import { createHash } from "node:crypto";
import { invalid } from "../errdefs/mod.ts";
import {
  type BlobDescriptor,
  decompress,
  extractTar,
  type Image,
  type ImageStore,
  type LayerSource,
  parseImageConfig,
  SizeLimit,
  tapSha256,
} from "../image/mod.ts";
import type { BlobFetcher } from "./blob.ts";
import { answerError, type RegistryClient } from "./client.ts";
import { type ImageManifest, type Platform, readLimited, resolveManifest } from "./manifest.ts";
import { layerProgress, layerStatus, type ProgressSink, shortId, throttle } from "./progress.ts";
import { describeReference, type RemoteReference } from "./reference.ts";

/** Layers downloaded at once by one pull, as Docker's default. */
export const MAX_CONCURRENT_DOWNLOADS = 3;
const MAX_CONFIG = 8 << 20;
const PROGRESS_MS = 100;

/** What a pull will store, resolved before it streams. */
export interface PullPlan {
  ref: RemoteReference;
  client: RegistryClient;
  manifest: ImageManifest;
  /** The config document, verified against the manifest. */
  config: Uint8Array;
}

/**
 * Resolve what `ref` names for `platform`: its manifest and config.
 *
 * @example
 * ```ts
 * import { remoteReference } from "./reference.ts";
 * import { parsePlatform } from "./manifest.ts";
 * import type { RegistryClient } from "./client.ts";
 * declare const client: RegistryClient;
 * const plan = await planPull(client, remoteReference("127.0.0.1:5000/app"), parsePlatform(""));
 * ```
 */
export async function planPull(
  client: RegistryClient,
  ref: RemoteReference,
  platform: Platform,
  stored: (id: string) => Image | null = () => null,
): Promise<PullPlan> {
  const manifest = await resolveManifest(client, ref, platform);
  const { digest } = manifest.config;
  // An image pulled before has its config: a pull of it again fetches no blob.
  const known = stored(digest)?.Origin?.config;
  const config = known !== undefined
    ? new TextEncoder().encode(known)
    : await fetchConfig(client, ref, digest);
  const got = `sha256:${createHash("sha256").update(config).digest("hex")}`;
  if (got !== digest) {
    throw invalid(`digest mismatch: image config ${digest} of ${ref.name} has content ${got}`);
  }
  return { ref, client, manifest, config };
}

async function fetchConfig(
  client: RegistryClient,
  ref: RemoteReference,
  digest: string,
): Promise<Uint8Array> {
  const res = await client.request(`/v2/${ref.repository}/blobs/${digest}`, {
    scope: `repository:${ref.repository}:pull`,
  });
  if (!res.ok) throw await answerError(res, `config ${digest} of ${ref.name} not found`);
  return await readLimited(res, MAX_CONFIG, `image config of ${ref.name}`);
}

/** Blobs a pull holds: they are removed when the last pull that needs them has stored its image. */
export class BlobUsers {
  readonly #count = new Map<string, number>();

  hold(hexes: string[]): void {
    for (const h of hexes) this.#count.set(h, (this.#count.get(h) ?? 0) + 1);
  }

  /** Release; returns the blobs no pull holds any more. */
  release(hexes: string[]): string[] {
    const free: string[] = [];
    for (const h of hexes) {
      const n = (this.#count.get(h) ?? 1) - 1;
      if (n > 0) this.#count.set(h, n);
      else {
        this.#count.delete(h);
        free.push(h);
      }
    }
    return free;
  }
}

/**
 * Run a planned pull, reporting Docker's progress to `sink`; resolves with
 * the image id once the image is stored.
 *
 * @example
 * ```ts
 * import type { ImageStore } from "../image/mod.ts";
 * import type { BlobFetcher } from "./blob.ts";
 * declare const plan: PullPlan, images: ImageStore, fetcher: BlobFetcher;
 * await runPull(plan, images, fetcher, new BlobUsers(), console.log);
 * ```
 */
export async function runPull(
  plan: PullPlan,
  images: ImageStore,
  fetcher: BlobFetcher,
  users: BlobUsers,
  sink: ProgressSink,
): Promise<string> {
  const { ref, manifest } = plan;
  const what = `image config of ${ref.name}`;
  const parsed = parseImageConfig(JSON.parse(new TextDecoder().decode(plan.config)), what);
  if (parsed.diffIds.length !== manifest.layers.length) {
    throw invalid(
      `${ref.name}: the manifest has ${manifest.layers.length} layers, ` +
        `its config ${parsed.diffIds.length} diff ids`,
    );
  }
  const id = manifest.config.digest;
  const wanted = describeReference(ref);
  const upToDate = images.find(wanted)?.Id === id;
  sink({ status: `Pulling from ${ref.repository}`, id: ref.tag ?? ref.digest });

  const missing: BlobDescriptor[] = [];
  for (const [i, layer] of manifest.layers.entries()) {
    if (await images.hasLayer(parsed.diffIds[i])) {
      sink(layerStatus(shortId(layer.digest), "Already exists"));
    } else if (!missing.some((m) => m.digest === layer.digest)) {
      missing.push(layer);
      sink(layerStatus(shortId(layer.digest), "Pulling fs layer"));
    }
  }
  // The registry says how large the blobs are; they are cut off there, so this bounds the disk.
  const download = missing.reduce((n, l) => n + l.size, 0);
  if (download > images.maxImageSize) {
    throw invalid(
      `${ref.name}: its layers are ${download} bytes, more than the daemon's --max-image-size`,
    );
  }
  const hexes = missing.map((l) => l.digest.slice(7));
  users.hold(hexes);
  let stored = false;
  try {
    await downloadAll(plan, fetcher, missing, sink);
    const limit = new SizeLimit(images.maxImageSize, "image layers");
    const layers: LayerSource[] = manifest.layers.map((layer, i) => ({
      diffId: parsed.diffIds[i],
      unpack: (dir) => unpackBlob(images, layer, dir, limit, sink),
    }));
    const pulledBy = `${ref.name}@${manifest.digest}`;
    await images.importImages([{
      refs: ref.tag ? [`${ref.name}:${ref.tag}`] : [],
      layers,
      config: parsed.config,
      created: parsed.created,
      pulled: {
        id,
        repoDigest: pulledBy,
        origin: {
          config: new TextDecoder().decode(plan.config),
          layers: manifest.layers,
          repositories: [`${ref.registry}/${ref.repository}`],
        },
      },
    }]);
    stored = true;
  } finally {
    const free = users.release(hexes);
    // A failed pull keeps its verified blobs: the retry starts from them.
    if (stored) { for (const hex of free) await images.blobs.remove(hex); }
  }
  sink({ status: `Digest: ${manifest.digest}` });
  sink({
    status: upToDate
      ? `Status: Image is up to date for ${wanted}`
      : `Status: Downloaded newer image for ${wanted}`,
  });
  return id;
}

/** Download the missing blobs, a few at a time; the first failure ends the pull. */
async function downloadAll(
  plan: PullPlan,
  fetcher: BlobFetcher,
  missing: BlobDescriptor[],
  sink: ProgressSink,
): Promise<void> {
  for (const layer of missing.slice(MAX_CONCURRENT_DOWNLOADS)) {
    sink(layerStatus(shortId(layer.digest), "Waiting"));
  }
  const queue = [...missing];
  const worker = async () => {
    for (let layer = queue.shift(); layer; layer = queue.shift()) {
      const id = shortId(layer.digest);
      const total = layer.size;
      const progress = throttle(
        (n: number) => sink(layerProgress(id, "Downloading", n, total)),
        PROGRESS_MS,
      );
      await fetcher.fetch(plan.client, plan.ref.repository, layer, {
        progress,
        verifying: () => {
          progress.flush();
          sink(layerStatus(id, "Verifying Checksum"));
        },
        retrying: (seconds) => sink(layerStatus(id, `Retrying in ${seconds} seconds`)),
      });
      sink(layerStatus(id, "Download complete"));
    }
  };
  const workers = Array.from(
    { length: Math.min(MAX_CONCURRENT_DOWNLOADS, missing.length) },
    worker,
  );
  const results = await Promise.allSettled(workers);
  const failed = results.find((r) => r.status === "rejected");
  if (failed) throw (failed as PromiseRejectedResult).reason;
}

/** Unpack a downloaded blob (gzip, zstd or plain tar) with its whiteouts. */
async function unpackBlob(
  images: ImageStore,
  layer: BlobDescriptor,
  dir: string,
  limit: SizeLimit,
  sink: ProgressSink,
) {
  const id = shortId(layer.digest);
  const file = await Deno.open(images.blobs.path(layer.digest.slice(7)));
  let read = 0;
  const progress = throttle(
    (n: number) => sink(layerProgress(id, "Extracting", n, layer.size)),
    PROGRESS_MS,
  );
  const counted = file.readable.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, ctrl) {
        read += chunk.length;
        progress(read);
        ctrl.enqueue(chunk);
      },
    }),
  );
  const tap = tapSha256(await decompress(counted, limit));
  const { size, skipped } = await extractTar(tap.stream, dir, { whiteouts: true, limit });
  progress.flush();
  sink(layerStatus(id, "Pull complete"));
  return { digest: tap.digest(), size, skipped };
}
