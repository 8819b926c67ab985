/**
 * Safe creation of files, directories and links inside a layer directory.
 * Every path is cleaned, and no write ever goes through a symlink: each parent
 * component is checked with lstat, and an existing entry is removed before
 * its replacement is created (O_EXCL), so `link -> /etc` followed by
 * `link/passwd` cannot reach the host.
 * @module
 */
import { lchown, lutimes } from "node:fs/promises";
import { join } from "node:path";
import { invalid } from "../errdefs/mod.ts";
import { mknodChar, setXattr } from "../sys/mod.ts";
import { cleanEntryPath } from "./path.ts";
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

  /** Create a regular file from its content. */
  async file(path: string, meta: EntryMeta, content: FileContent): Promise<void> {
    const abs = await this.#prepare(path, false);
    const f = await Deno.open(abs, { write: true, createNew: true, mode: 0o600 });
    try {
      for await (const chunk of content) {
        for (let off = 0; off < chunk.length;) off += await f.write(chunk.subarray(off));
        this.#size += chunk.length;
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
    const targetRel = cleanEntryPath(target);
    if (targetRel === cleanEntryPath(path)) return;
    const targetAbs = join(this.root, targetRel);
    let info: Deno.FileInfo;
    try {
      await this.#checkParents(targetRel, false);
      info = await Deno.lstat(targetAbs);
    } catch (err) {
      if (!(err instanceof Deno.errors.NotFound)) throw err;
      throw invalid(`hard link "${path}" points to "${target}", which is not in the archive`);
    }
    if (info.isDirectory) throw invalid(`hard link "${path}" points to a directory`);
    // link(2) does not follow a symlink target: the link shares the symlink inode.
    await Deno.link(targetAbs, await this.#prepare(path, false));
  }

  /**
   * Mark `path` deleted for the layers below: overlayfs's whiteout, a 0:0
   * character device. `mtime` (the archive entry's) keeps a layer archived
   * again identical to the one it came from.
   */
  async whiteout(path: string, mtime?: number): Promise<void> {
    const abs = await this.#prepare(path, false);
    mknodChar(abs, 0, 0n);
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
   * Clean `path`, make sure its parents are real directories, and clear the
   * way: remove what is there unless a directory merges into a directory.
   * Returns the absolute path.
   */
  async #prepare(path: string, isDir: boolean): Promise<string> {
    const rel = cleanEntryPath(path);
    if (rel === "") {
      if (!isDir) throw invalid(`archive entry "${path}" would replace the root directory`);
      return this.root;
    }
    await this.#checkParents(rel, true);
    const abs = join(this.root, rel);
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

  /** Refuse a parent that is a symlink or not a directory; create missing ones if asked. */
  async #checkParents(rel: string, create: boolean): Promise<void> {
    const parts = rel.split("/").slice(0, -1);
    let abs = this.root;
    for (let i = 0; i < parts.length; i++) {
      abs = join(abs, parts[i]);
      let info: Deno.FileInfo;
      try {
        info = await Deno.lstat(abs);
      } catch (err) {
        if (!(err instanceof Deno.errors.NotFound) || !create) throw err;
        await Deno.mkdir(abs, { mode: 0o755 });
        await Deno.chmod(abs, 0o755);
        continue;
      }
      const parent = parts.slice(0, i + 1).join("/");
      if (info.isSymlink) {
        throw invalid(`refusing to write "${rel}": its parent "${parent}" is a symlink`);
      }
      if (!info.isDirectory) {
        throw invalid(`refusing to write "${rel}": its parent "${parent}" is not a directory`);
      }
    }
  }
}

/**
 * The content of a host file, opened only when first read, so that an entry
 * refused before its content is read leaks no fd.
 *
 * @example
 * ```ts
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
