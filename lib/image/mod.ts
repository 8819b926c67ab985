/**
 * The image store: rootfs import from tar (plain or gzip) or directory, a
 * busybox image built from the host, tags, Docker-style removal, and the
 * layer directories a container mounts with overlayfs. Includes a safe,
 * streaming tar reader and extractor, and `docker load` / `docker save`
 * archives (docker save format and OCI image layout).
 *
 * @example
 * ```ts
 * import { ImageStore } from "./mod.ts";
 * const images = new ImageStore("/var/lib/corral");
 * await images.load();
 * await images.importRootfs("alpine.tar.gz", "alpine:3");
 * const img = images.resolve("alpine:3");
 * const lowerdir = images.layerDirs(img).join(":");
 * ```
 * @module
 */
export * from "./model.ts";
export * from "./reference.ts";
export * from "./store.ts";
export * from "./tar.ts";
export * from "./extract.ts";
export * from "./size_limit.ts";
export * from "./archive_load.ts";
export * from "./archive_save.ts";
export * from "./import_changes.ts";
export {
  hostArchitecture,
  imageConfigDocument,
  INDEX_MEDIA_TYPES,
  MANIFEST_MEDIA_TYPES,
  parseImageConfig,
} from "./archive_format.ts";
export { writeLayerTar } from "./layer_tar.ts";
export { TarWriter } from "./tar_writer.ts";
export { decompress } from "./compression.ts";
export { tapSha256 } from "./digest.ts";
