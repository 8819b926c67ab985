/**
 * Disk use of a directory tree, as Docker reports reclaimed space.
 * @module
 */
import { join } from "node:path";

/**
 * Bytes of regular file content under `dir` (symlinks are not followed, a
 * file with several hard links counts once); 0 when `dir` does not exist.
 *
 * @example
 * ```ts
 * const bytes = await treeSize("/var/lib/corral/containers/ID/upper");
 * ```
 */
export function treeSize(dir: string): Promise<number> {
  return sizeOf(dir, new Set());
}

async function sizeOf(dir: string, seen: Set<string>): Promise<number> {
  let size = 0;
  try {
    for await (const e of Deno.readDir(dir)) {
      const path = join(dir, e.name);
      if (e.isDirectory) size += await sizeOf(path, seen);
      else if (e.isFile) {
        const info = await Deno.lstat(path);
        const inode = `${info.dev}:${info.ino}`;
        if ((info.nlink ?? 1) > 1 && seen.has(inode)) continue;
        seen.add(inode);
        size += info.size;
      }
    }
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
  }
  return size;
}
