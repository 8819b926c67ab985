/**
 * The registry side of the daemon: pull, push and login, with the blob
 * downloads every pull shares and the daemon's `--insecure-registry` list.
 * @module
 */
import { invalid } from "../errdefs/mod.ts";
import type { ImageStore } from "../image/mod.ts";
import type { Credentials } from "./auth.ts";
import { BlobFetcher } from "./blob.ts";
import { RegistryClient } from "./client.ts";
import { parsePlatform } from "./manifest.ts";
import type { ProgressSink } from "./progress.ts";
import { BlobUsers, planPull, type PullPlan, runPull } from "./pull.ts";
import { DEFAULT_CHUNK_SIZE, pushImage, type PushResult } from "./push.ts";
import { describeReference, remoteReference } from "./reference.ts";

/** Options of a {@linkcode RegistryService}. */
export interface RegistryOptions {
  /** Registries reached over plain HTTP besides loopback (`--insecure-registry`). */
  insecureRegistries?: string[];
  /** Blobs larger than this are uploaded in chunks of this size. */
  chunkSize?: number;
  /** The first delay before a download is tried again (doubling). */
  retryDelayMs?: number;
}

/** A pull that is resolved and ready to stream. */
export interface PreparedPull {
  /** The reference as Docker's messages write it. */
  reference: string;
  /** Download, unpack and store; resolves with the image id. */
  run(sink: ProgressSink): Promise<string>;
}

/**
 * Pull, push and login.
 *
 * @example
 * ```ts
 * import { ImageStore } from "../image/mod.ts";
 * const registry = new RegistryService(new ImageStore("/var/lib/corral"));
 * const pull = await registry.preparePull("127.0.0.1:5000/app", { tag: "1" });
 * await pull.run((msg) => console.log(msg.status));
 * ```
 */
export class RegistryService {
  readonly #images: ImageStore;
  readonly #insecure: string[];
  readonly #fetcher: BlobFetcher;
  readonly #users = new BlobUsers();
  readonly #chunkSize: number;

  constructor(images: ImageStore, opts: RegistryOptions = {}) {
    this.#images = images;
    this.#insecure = opts.insecureRegistries ?? [];
    this.#fetcher = new BlobFetcher(images.blobs, opts.retryDelayMs);
    this.#chunkSize = opts.chunkSize ?? DEFAULT_CHUNK_SIZE;
  }

  /**
   * Resolve `name` (with `tag`, a tag or digest, when given apart) for
   * `platform`: an unknown image, a refused login or an unreachable registry
   * fail here, before anything is streamed.
   */
  async preparePull(
    name: string,
    opts: { tag?: string; platform?: string; creds?: Credentials | null } = {},
  ): Promise<PreparedPull> {
    if (!name) throw invalid("pull: no image given");
    const ref = remoteReference(name, opts.tag || undefined);
    const platform = parsePlatform(opts.platform);
    const client = this.#client(ref.registry, opts.creds);
    const plan: PullPlan = await planPull(client, ref, platform, (id) => this.#images.find(id));
    return {
      reference: describeReference(ref),
      run: (sink) => runPull(plan, this.#images, this.#fetcher, this.#users, sink),
    };
  }

  /** Push the local image `name` (a name with a registry, and a tag). */
  push(
    name: string,
    tag: string | null,
    creds: Credentials | null,
    sink: ProgressSink,
  ): Promise<PushResult> {
    const local = tag ? `${name}:${tag}` : name;
    const ref = remoteReference(local);
    if (ref.digest) throw invalid(`push: give a tag, not a digest: ${local}`);
    const image = this.#images.resolve(local);
    return pushImage(this.#client(ref.registry, creds), this.#images, image, ref, sink, {
      chunkSize: this.#chunkSize,
    });
  }

  /** Check `creds` against `registry` (what `docker login` asks the daemon). */
  async login(registry: string, creds: Credentials): Promise<void> {
    await this.#client(normalizeServer(registry), creds).login();
  }

  #client(registry: string, creds?: Credentials | null): RegistryClient {
    return new RegistryClient(registry, creds ?? null, { insecureRegistries: this.#insecure });
  }
}

/**
 * A server address as `docker login` sends it, as a registry name:
 * `https://127.0.0.1:5000/` is `127.0.0.1:5000`; empty or Docker Hub's
 * index URL is Docker Hub.
 *
 * @example
 * ```ts
 * normalizeServer("http://127.0.0.1:5000/v2/"); // "127.0.0.1:5000"
 * normalizeServer("https://index.docker.io/v1/"); // "docker.io"
 * ```
 */
export function normalizeServer(server: string): string {
  const host = server.trim().replace(/^[a-z]+:\/\//i, "").replace(/\/.*$/, "");
  if (host === "" || host === "index.docker.io" || host === "registry-1.docker.io") {
    return "docker.io";
  }
  if (!/^[a-zA-Z0-9.-]+(?::\d+)?$|^\[[0-9a-fA-F:]+\](?::\d+)?$/.test(host)) {
    throw invalid(`invalid registry address "${server}"`);
  }
  return host;
}
