/**
 * Copy a host directory into a layer through the safe writer: symlinks are
 * copied, not followed; hard links inside the tree stay hard links; device
 * nodes, fifos and sockets are skipped as in an archive.
 * @module
 */
import { join } from "node:path";
import { invalid } from "../errdefs/mod.ts";
import { type EntryMeta, hostFile, type LayerWriter } from "./writer.ts";

/**
 * Copy the tree at `src` into `writer`'s root; returns one line per skipped
 * entry. Entries are visited in sorted order, so the result is deterministic.
 *
 * @example
 * ```ts
 * import { LayerWriter } from "./writer.ts";
 * const w = new LayerWriter("/tmp/layer");
 * const skipped = await copyTree("/srv/rootfs", w);
 * await w.finish();
 * ```
 */
export async function copyTree(src: string, writer: LayerWriter): Promise<string[]> {
  const info = await Deno.lstat(src);
  if (!info.isDirectory) throw invalid(`${src} is not a directory`);
  const skipped: string[] = [];
  await copyEntry(src, "", info, writer, new Map(), skipped);
  return skipped;
}

async function copyEntry(
  src: string,
  rel: string,
  info: Deno.FileInfo,
  w: LayerWriter,
  inodes: Map<string, string>,
  skipped: string[],
): Promise<void> {
  const abs = rel === "" ? src : join(src, rel);
  const meta: EntryMeta = {
    mode: (info.mode ?? 0o755) & 0o7777,
    uid: info.uid ?? 0,
    gid: info.gid ?? 0,
    mtime: info.mtime ? info.mtime.getTime() / 1000 : undefined,
  };
  if (info.isDirectory) {
    await w.dir(rel, meta);
    const names: string[] = [];
    for await (const e of Deno.readDir(abs)) names.push(e.name);
    for (const name of names.sort()) {
      const child = rel === "" ? name : `${rel}/${name}`;
      await copyEntry(src, child, await Deno.lstat(join(src, child)), w, inodes, skipped);
    }
  } else if (info.isSymlink) {
    await w.symlink(rel, await Deno.readLink(abs), meta);
  } else if (info.isFile) {
    const inode = `${info.dev}:${info.ino}`;
    const first = inodes.get(inode);
    if (first !== undefined) {
      await w.hardlink(rel, first);
    } else {
      if (info.nlink !== null && info.nlink > 1) inodes.set(inode, rel);
      await w.file(rel, meta, hostFile(abs));
    }
  } else {
    skipped.push(`${rel}: special file not copied`);
  }
}
