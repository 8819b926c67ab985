/**
 * The distribution API client: references resolved to a registry with
 * Docker's normalisation, Basic and Bearer auth, manifests (Docker schema 2,
 * OCI, manifest lists and indexes, the platform chosen), blobs downloaded
 * verified into the image store and handed to it as layers, push with
 * mounts and chunked uploads, and Docker's progress messages.
 *
 * @example
 * ```ts
 * import { ImageStore } from "../image/mod.ts";
 * import { RegistryService } from "./mod.ts";
 * const images = new ImageStore("/var/lib/corral");
 * await images.load();
 * const registry = new RegistryService(images);
 * const pull = await registry.preparePull("127.0.0.1:5000/app:1");
 * await pull.run((msg) => console.log(JSON.stringify(msg)));
 * ```
 * @module
 */
export * from "./service.ts";
export * from "./reference.ts";
export * from "./progress.ts";
export { type Credentials, decodeRegistryAuth, encodeRegistryAuth } from "./auth.ts";
export { formatPlatform, parsePlatform, type Platform } from "./manifest.ts";
export { MAX_CONCURRENT_DOWNLOADS } from "./pull.ts";
export { DEFAULT_CHUNK_SIZE, type PushResult } from "./push.ts";
