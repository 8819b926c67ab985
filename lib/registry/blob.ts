/**
 * Blob downloads into the image store's blob directory: the body streams to
 * a temp file while its sha256 and length are checked (a blob longer than
 * its descriptor is cut off at once), and enters the store only whole and
 * verified. A dropped connection is retried; a digest mismatch is not (the
 * registry would send the same bytes). Two pulls that need one blob share
 * one download.
 * @module
 */
import { createHash } from "node:crypto";
import { CorralError, errorMessage, invalid } from "../errdefs/mod.ts";
import type { BlobDescriptor, BlobStore } from "../image/mod.ts";
import { removeAll, sleep } from "../sys/mod.ts";
import { answerError, type RegistryClient, unreachable } from "./client.ts";

/** What a download reports as it goes. */
export interface BlobEvents {
  /** Bytes received so far of the blob's size. */
  progress(current: number): void;
  /** All bytes are in; the digest is being checked. */
  verifying(): void;
  /** The attempt failed and another follows in `seconds`. */
  retrying(seconds: number, reason: string): void;
}

/** Attempts of one download, as Docker makes them. */
const ATTEMPTS = 5;

/**
 * Downloads shared by every pull of a daemon.
 *
 * @example
 * ```ts
 * import type { BlobDescriptor, BlobStore } from "../image/mod.ts";
 * import type { RegistryClient } from "./client.ts";
 * declare const store: BlobStore, client: RegistryClient, desc: BlobDescriptor;
 * const fetcher = new BlobFetcher(store);
 * await fetcher.fetch(client, "app", desc, { progress() {}, verifying() {}, retrying() {} });
 * ```
 */
export class BlobFetcher {
  readonly #inFlight = new Map<string, Promise<void>>();

  constructor(readonly store: BlobStore, readonly retryDelayMs = 1000) {}

  /**
   * Make the blob `desc` of `repository` present in the store; true when it
   * was downloaded by this call, false when it was there or another pull
   * downloaded it.
   */
  async fetch(
    client: RegistryClient,
    repository: string,
    desc: BlobDescriptor,
    events: BlobEvents,
  ): Promise<boolean> {
    const hex = desc.digest.slice(7);
    const running = this.#inFlight.get(hex);
    if (running) {
      await running;
      return false;
    }
    if (await this.store.size(hex) === desc.size) return false;
    const download = this.#download(client, repository, desc, events);
    this.#inFlight.set(hex, download);
    try {
      await download;
      return true;
    } finally {
      this.#inFlight.delete(hex);
    }
  }

  async #download(
    client: RegistryClient,
    repository: string,
    desc: BlobDescriptor,
    events: BlobEvents,
  ): Promise<void> {
    for (let attempt = 1;; attempt++) {
      try {
        return await this.#attempt(client, repository, desc, events);
      } catch (err) {
        const retry = err instanceof CorralError && err.kind === "unavailable";
        if (!retry || attempt === ATTEMPTS) throw err;
        const seconds = attempt * this.retryDelayMs / 1000;
        events.retrying(seconds, errorMessage(err));
        await sleep(attempt * this.retryDelayMs);
      }
    }
  }

  async #attempt(
    client: RegistryClient,
    repository: string,
    desc: BlobDescriptor,
    events: BlobEvents,
  ): Promise<void> {
    const res = await client.request(`/v2/${repository}/blobs/${desc.digest}`, {
      scope: `repository:${repository}:pull`,
    });
    if (!res.ok) throw await answerError(res, `blob ${desc.digest} of ${repository} not found`);
    const temp = this.store.tempPath();
    const file = await Deno.open(temp, { write: true, createNew: true, mode: 0o600 });
    const hash = createHash("sha256");
    let received = 0;
    try {
      try {
        for await (const chunk of res.body!) {
          received += chunk.length;
          if (received > desc.size) {
            throw invalid(
              `blob ${desc.digest}: the registry sent more than its ${desc.size} bytes`,
            );
          }
          hash.update(chunk);
          for (let off = 0; off < chunk.length;) off += await file.write(chunk.subarray(off));
          events.progress(received);
        }
      } catch (err) {
        if (err instanceof CorralError) throw err;
        // The body broke off: the connection was dropped.
        throw unreachable(client.registry, err);
      } finally {
        file.close();
      }
      events.verifying();
      if (received < desc.size) {
        throw unreachable(
          client.registry,
          new Error(`blob ${desc.digest} ended after ${received} of ${desc.size} bytes`),
        );
      }
      const got = `sha256:${hash.digest("hex")}`;
      if (got !== desc.digest) {
        throw invalid(`digest mismatch: blob ${desc.digest} of ${repository} has content ${got}`);
      }
      await this.store.commit(temp, desc.digest.slice(7));
    } finally {
      await removeAll(temp);
    }
  }
}
