/**
 * A stored layer directory back to a layer archive: entries in sorted order,
 * hard links kept, and overlayfs whiteouts (0:0 character devices, opaque
 * directories) written as Docker's `.wh.` entries again.
 * @module
 */
import { join } from "node:path";
import { getXattr } from "../sys/mod.ts";
import type { TarWriteEntry, TarWriter } from "./tar_writer.ts";
import { OPAQUE_MARKER, OPAQUE_XATTR, whiteoutPath } from "./whiteout.ts";

/** What a layer archive holds besides its entries. */
export interface LayerTarResult {
  /** Entries a layer archive cannot carry (sockets, devices other than whiteouts). */
  skipped: string[];
}

/**
 * Write the layer directory `root` as a tar, without the end marker (the
 * caller finishes the archive).
 *
 * @example
 * ```ts
 * import { TarWriter } from "./tar_writer.ts";
 * const w = (await Deno.create("layer.tar")).writable.getWriter();
 * const tar = new TarWriter((chunk) => w.write(chunk));
 * await writeLayerTar("/var/lib/corral/images/layers/abc", tar);
 * await tar.finish();
 * ```
 */
export async function writeLayerTar(root: string, tar: TarWriter): Promise<LayerTarResult> {
  const state = { inodes: new Map<string, string>(), skipped: [] as string[] };
  await walk(root, "", tar, state);
  return { skipped: state.skipped };
}

interface WalkState {
  /** dev:ino of files with several links → the first archive path written. */
  inodes: Map<string, string>;
  skipped: string[];
}

async function walk(root: string, rel: string, tar: TarWriter, st: WalkState): Promise<void> {
  const names: string[] = [];
  for await (const e of Deno.readDir(rel === "" ? root : join(root, rel))) names.push(e.name);
  for (const name of names.sort()) {
    const path = rel === "" ? name : `${rel}/${name}`;
    const abs = join(root, path);
    const info = await Deno.lstat(abs);
    const meta: TarWriteEntry = {
      path,
      type: "file",
      mode: (info.mode ?? 0) & 0o7777,
      uid: info.uid ?? 0,
      gid: info.gid ?? 0,
      mtime: Math.floor((info.mtime?.getTime() ?? 0) / 1000),
    };
    if (info.isDirectory) {
      await tar.add({ ...meta, type: "dir" });
      if (getXattr(abs, OPAQUE_XATTR) === "y") {
        await tar.add({ ...meta, path: `${path}/${OPAQUE_MARKER}`, mode: 0, size: 0 });
      }
      await walk(root, path, tar, st);
    } else if (info.isSymlink) {
      await tar.add({ ...meta, type: "symlink", linkpath: await Deno.readLink(abs) });
    } else if (info.isFile) {
      const inode = `${info.dev}:${info.ino}`;
      const first = st.inodes.get(inode);
      if (first !== undefined) {
        await tar.add({ ...meta, type: "hardlink", linkpath: first });
        continue;
      }
      if ((info.nlink ?? 1) > 1) st.inodes.set(inode, path);
      const file = await Deno.open(abs);
      try {
        await tar.add({ ...meta, size: info.size }, file.readable);
      } finally {
        try {
          file.close();
        } catch {
          // Closed by reading its stream to the end.
        }
      }
    } else if (info.isCharDevice && info.rdev === 0) {
      await tar.add({ ...meta, path: whiteoutPath(path), mode: 0, size: 0 });
    } else {
      st.skipped.push(`${path}: special file not archived`);
    }
  }
}
