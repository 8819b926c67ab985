/**
 * Safe creation of files, directories, links and special files inside a
 * layer directory. Every path is cleaned, and every parent is resolved inside
 * the root one component at a time, as the container will see it: a symlink
 * among the parents is followed with the root as "/" (so the merged-usr
 * `lib -> usr/lib` then `lib/x` writes `usr/lib/x`), and one climbing above
 * the root is refused, so `link -> ../..` followed by `link/passwd` cannot
 * reach the host. The entry itself is never followed: an existing one is
 * removed before its replacement is created (O_EXCL).
 * @module
 */
import { lchown, lutimes } from "node:fs/promises";
import { join } from "node:path";
import { invalid } from "../errdefs/mod.ts";
import { mknod, setXattr } from "../sys/mod.ts";
import { cleanEntryPath } from "./path.ts";
import type { SparseRegion } from "./tar.ts";
import { OPAQUE_XATTR } from "./whiteout.ts";

/** Ownership, permissions and time of an entry to create. */
export interface EntryMeta {
  /** Permission bits including setuid, setgid and sticky. */
  mode: number;
  uid: number;
  gid: number;
  /** Seconds since the epoch; the creation time when absent. */
  mtime?: number;
}

/** Content for a regular file. */
export type FileContent = AsyncIterable<Uint8Array> | Iterable<Uint8Array>;

/** Where a sparse file's content goes: its regions (the rest are holes) and its whole length. */
export interface SparseLayout {
  size: number;
  regions: SparseRegion[];
}

// As Linux does: a bounded number of symlinks on one path, so a loop ends.
const MAX_SYMLINKS = 40;

/**
 * Writes entries under a root directory; a later entry replaces an earlier
 * one at the same path, except that a directory over a directory merges.
 *
 * @example
 * ```ts
 * const w = new LayerWriter("/var/lib/corral/images/tmp/x");
 * await w.dir("etc", { mode: 0o755, uid: 0, gid: 0 });
 * const root = { uid: 0, gid: 0 };
 * await w.file("etc/hostname", { ...root, mode: 0o644 }, [new TextEncoder().encode("box\n")]);
 * await w.symlink("bin/sh", "busybox", { mode: 0o777, uid: 0, gid: 0 });
 * await w.finish();
 * ```
 */
export class LayerWriter {
  /** The directory written into. */
  readonly root: string;
  #size = 0;
  readonly #dirTimes: [string, number][] = [];

  constructor(root: string) {
    this.root = root;
  }

  /** Bytes of regular file content written so far. */
  get size(): number {
    return this.#size;
  }

  /** Create a directory, or update an existing one ("" is the root itself). */
  async dir(path: string, meta: EntryMeta): Promise<void> {
    const abs = await this.#prepare(path, true);
    try {
      await Deno.mkdir(abs, { mode: 0o700 });
    } catch (err) {
      if (!(err instanceof Deno.errors.AlreadyExists)) throw err;
    }
    await Deno.chown(abs, meta.uid, meta.gid);
    await Deno.chmod(abs, meta.mode & 0o7777);
    // Creating entries inside would bump the time again: set it in finish().
    if (meta.mtime !== undefined) this.#dirTimes.push([abs, meta.mtime]);
  }

  /**
   * Create a regular file from its content; for a sparse file, the content is
   * its regions one after the other, and the holes take no disk space.
   */
  async file(
    path: string,
    meta: EntryMeta,
    content: FileContent,
    sparse?: SparseLayout,
  ): Promise<void> {
    const abs = await this.#prepare(path, false);
    const f = await Deno.open(abs, { write: true, createNew: true, mode: 0o600 });
    try {
      if (sparse) {
        await writeSparse(f, content, sparse);
        this.#size += sparse.size;
      } else {
        for await (const chunk of content) {
          await writeAll(f, chunk);
          this.#size += chunk.length;
        }
      }
    } finally {
      f.close();
    }
    // chown before chmod: chown clears setuid and setgid.
    await Deno.chown(abs, meta.uid, meta.gid);
    await Deno.chmod(abs, meta.mode & 0o7777);
    if (meta.mtime !== undefined) await bestEffort(Deno.utime(abs, meta.mtime, meta.mtime));
  }

  /** Create a symlink; the target is stored as given and never followed here. */
  async symlink(path: string, target: string, meta: EntryMeta): Promise<void> {
    if (target === "") throw invalid(`symlink "${path}" has an empty target`);
    const abs = await this.#prepare(path, false);
    await Deno.symlink(target, abs);
    await lchown(abs, meta.uid, meta.gid);
    if (meta.mtime !== undefined) await bestEffort(lutimes(abs, meta.mtime, meta.mtime));
  }

  /** Create a hard link to an entry already written (`target` is a path in the layer). */
  async hardlink(path: string, target: string): Promise<void> {
    let targetAbs: string;
    let info: Deno.FileInfo;
    try {
      targetAbs = await this.#locate(target, false);
      info = await Deno.lstat(targetAbs);
    } catch (err) {
      if (!(err instanceof Deno.errors.NotFound)) throw err;
      throw invalid(`hard link "${path}" points to "${target}", which is not in the archive`);
    }
    if (info.isDirectory) throw invalid(`hard link "${path}" points to a directory`);
    if (targetAbs === await this.#locate(path, true)) return;
    // link(2) does not follow a symlink target: the link shares the symlink inode.
    await Deno.link(targetAbs, await this.#prepare(path, false));
  }

  /** Create a character or block device node, or a fifo. */
  async node(
    path: string,
    type: "char" | "block" | "fifo",
    meta: EntryMeta,
    major = 0,
    minor = 0,
  ): Promise<void> {
    const abs = await this.#prepare(path, false);
    mknod(abs, type, 0o600, major, minor);
    await Deno.chown(abs, meta.uid, meta.gid);
    await Deno.chmod(abs, meta.mode & 0o7777);
    if (meta.mtime !== undefined) await bestEffort(Deno.utime(abs, meta.mtime, meta.mtime));
  }

  /**
   * Mark `path` deleted for the layers below: overlayfs's whiteout, a 0:0
   * character device. `mtime` (the archive entry's) keeps a layer archived
   * again identical to the one it came from.
   */
  async whiteout(path: string, mtime?: number): Promise<void> {
    const abs = await this.#prepare(path, false);
    mknod(abs, "char", 0);
    if (mtime !== undefined) await bestEffort(Deno.utime(abs, mtime, mtime));
  }

  /** Hide what the layers below have in directory `path` (created if missing). */
  async opaque(path: string): Promise<void> {
    const abs = await this.#prepare(path, true);
    try {
      await Deno.mkdir(abs, { mode: 0o755 });
    } catch (err) {
      if (!(err instanceof Deno.errors.AlreadyExists)) throw err;
    }
    setXattr(abs, OPAQUE_XATTR, "y");
  }

  /** Apply the deferred directory times; call once every entry is written. */
  async finish(): Promise<void> {
    for (const [abs, mtime] of this.#dirTimes) await bestEffort(Deno.utime(abs, mtime, mtime));
    this.#dirTimes.length = 0;
  }

  /**
   * Locate `path` as `#locate` does, creating missing parents, and clear the
   * way: remove what is there unless a directory merges into a directory.
   * Returns the absolute path.
   */
  async #prepare(path: string, isDir: boolean): Promise<string> {
    const abs = await this.#locate(path, true);
    if (abs === this.root) {
      if (!isDir) throw invalid(`archive entry "${path}" would replace the root directory`);
      return abs;
    }
    let existing: Deno.FileInfo;
    try {
      existing = await Deno.lstat(abs);
    } catch (err) {
      if (err instanceof Deno.errors.NotFound) return abs;
      throw err;
    }
    if (!(isDir && existing.isDirectory)) await Deno.remove(abs, { recursive: true });
    return abs;
  }

  /**
   * The absolute path of the entry `path`: cleaned, its parents resolved one
   * component at a time inside the root (symlinks followed with the root as
   * "/"; one climbing above the root is an `invalid` error), its last
   * component not followed. Missing parents are created when `create`, else
   * NotFound.
   */
  async #locate(path: string, create: boolean): Promise<string> {
    const rel = cleanEntryPath(path);
    if (rel === "") return this.root;
    const todo = rel.split("/");
    const name = todo.pop()!;
    const real: string[] = [];
    let links = 0;
    while (todo.length > 0) {
      const part = todo.shift()!;
      if (part === "" || part === ".") continue;
      if (part === "..") {
        // Only a link target brings "..": the entry path is clean.
        if (real.length === 0) {
          throw invalid(
            `refusing to write "${rel}": a symlink on its path points outside the root`,
          );
        }
        real.pop();
        continue;
      }
      const abs = join(this.root, ...real, part);
      let info: Deno.FileInfo;
      try {
        info = await Deno.lstat(abs);
      } catch (err) {
        if (!(err instanceof Deno.errors.NotFound) || !create) throw err;
        await Deno.mkdir(abs, { mode: 0o755 });
        await Deno.chmod(abs, 0o755);
        real.push(part);
        continue;
      }
      if (info.isSymlink) {
        if (++links > MAX_SYMLINKS) {
          throw invalid(`refusing to write "${rel}": too many levels of symlinks`);
        }
        const target = await Deno.readLink(abs);
        if (target.startsWith("/")) real.length = 0;
        todo.unshift(...target.split("/"));
        continue;
      }
      if (!info.isDirectory) {
        const parent = [...real, part].join("/");
        throw invalid(`refusing to write "${rel}": its parent "${parent}" is not a directory`);
      }
      real.push(part);
    }
    return join(this.root, ...real, name);
  }
}

/** Write a sparse file's regions at their offsets; the holes are never written. */
async function writeSparse(f: Deno.FsFile, content: FileContent, layout: SparseLayout) {
  const { regions } = layout;
  let i = 0;
  let done = 0; // bytes of regions[i] written
  for await (const chunk of content) {
    for (let off = 0; off < chunk.length;) {
      while (i < regions.length && done === regions[i].length) [i, done] = [i + 1, 0];
      if (i === regions.length) throw invalid("sparse file data longer than its map");
      const n = Math.min(chunk.length - off, regions[i].length - done);
      await f.seek(regions[i].offset + done, Deno.SeekMode.Start);
      await writeAll(f, chunk.subarray(off, off + n));
      [off, done] = [off + n, done + n];
    }
  }
  await f.truncate(layout.size);
}

async function writeAll(f: Deno.FsFile, bytes: Uint8Array): Promise<void> {
  for (let off = 0; off < bytes.length;) off += await f.write(bytes.subarray(off));
}

/**
 * The content of a host file, opened only when first read, so that an entry
 * refused before its content is read leaks no fd.
 *
 * @example
 * ```ts
 * const w = new LayerWriter("/tmp/layer");
 * await w.file("bin/busybox", { mode: 0o755, uid: 0, gid: 0 }, hostFile("/bin/busybox"));
 * ```
 */
export async function* hostFile(path: string): AsyncGenerator<Uint8Array> {
  const file = await Deno.open(path);
  yield* file.readable;
}

/** Timestamps are cosmetic: a filesystem refusing them must not fail an import. */
async function bestEffort(op: Promise<void>): Promise<void> {
  try {
    await op;
  } catch {
    // Ignored on purpose, see above.
  }
}
