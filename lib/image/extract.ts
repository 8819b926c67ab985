/**
 * Unpack a tar stream into a layer directory through the safe writer, with
 * what Docker unpacks: device nodes and fifos too (skipped only where the
 * kernel refuses mknod, without root), sparse files with their holes. Only
 * unknown entry types are skipped. Any entry that would write outside the
 * destination fails the whole extraction.
 * @module
 */
import { ErrnoError } from "../sys/mod.ts";
import type { SizeLimit } from "./size_limit.ts";
import type { TarEntry } from "./tar.ts";
import { readTar } from "./tar.ts";
import { parseWhiteout, type Whiteout } from "./whiteout.ts";
import { LayerWriter } from "./writer.ts";

/** How to extract. */
export interface ExtractOptions {
  /**
   * The archive is a layer over other layers: `.wh.` entries become
   * overlayfs whiteouts (see whiteout.ts) instead of plain files.
   */
  whiteouts?: boolean;
  /**
   * Charged with the holes of sparse files, which take no disk space here
   * but become zeros wherever the image is copied (the stream's own bytes
   * are charged by `decompress`).
   */
  limit?: SizeLimit;
}

/** What an extraction produced. */
export interface ExtractResult {
  /** Bytes of regular file content written. */
  size: number;
  /** One line per entry that was skipped, saying why. */
  skipped: string[];
}

/**
 * Extract an uncompressed tar stream into `dest` (which should be a fresh
 * directory). Throws `invalid` for traversal, writes through symlinks and
 * hard links to missing or outside targets.
 *
 * @example
 * ```ts
 * const file = await Deno.open("rootfs.tar");
 * const { size, skipped } = await extractTar(file.readable, "/tmp/layer");
 * ```
 */
export async function extractTar(
  stream: ReadableStream<Uint8Array>,
  dest: string,
  opts: ExtractOptions = {},
): Promise<ExtractResult> {
  const writer = new LayerWriter(dest);
  const skipped: string[] = [];
  for await (const entry of readTar(stream)) {
    const whiteout = opts.whiteouts ? parseWhiteout(entry.path) : null;
    const reason = whiteout
      ? await applyWhiteout(writer, whiteout, entry.mtime)
      : await applyEntry(writer, entry, opts.limit);
    if (reason !== null) skipped.push(`${entry.path}: ${reason}`);
  }
  await writer.finish();
  return { size: writer.size, skipped };
}

/** Whiteouts in the overlayfs format; the markers themselves are not created. */
async function applyWhiteout(w: LayerWriter, wh: Whiteout, mtime: number): Promise<string | null> {
  if (wh.kind === "opaque") await w.opaque(wh.dir);
  else if (wh.kind === "remove") await w.whiteout(wh.path, mtime);
  return null;
}

/** Create one entry; returns why it was skipped, or null. */
async function applyEntry(
  w: LayerWriter,
  entry: TarEntry,
  limit?: SizeLimit,
): Promise<string | null> {
  const meta = { mode: entry.mode, uid: entry.uid, gid: entry.gid, mtime: entry.mtime };
  switch (entry.type) {
    case "dir":
      await w.dir(entry.path, meta);
      return null;
    case "file": {
      const sparse = entry.sparse ? { size: entry.size, regions: entry.sparse } : undefined;
      if (sparse) limit?.charge(sparse.regions.reduce((n, r) => n - r.length, sparse.size));
      await w.file(entry.path, meta, entry.body(), sparse);
      return null;
    }
    case "symlink":
      await w.symlink(entry.path, entry.linkpath, meta);
      return null;
    case "hardlink":
      await w.hardlink(entry.path, entry.linkpath);
      return null;
    case "char":
    case "block":
    case "fifo":
      try {
        await w.node(entry.path, entry.type, meta, entry.devmajor, entry.devminor);
      } catch (err) {
        // Unprivileged, or in a user namespace: Docker skips these too.
        if (err instanceof ErrnoError && err.code === "EPERM") {
          return `${entry.type} not created (EPERM)`;
        }
        throw err;
      }
      return null;
    case "unknown":
      return `unsupported entry type ${JSON.stringify(entry.typeflag)}`;
  }
}
