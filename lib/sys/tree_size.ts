/**
 * Disk use of a directory tree, as Docker reports reclaimed space.
 * @module
 */
import { join } from "node:path";

/**
 * Bytes of regular file content under `dir` (symlinks are not followed); 0
 * when `dir` does not exist.
 *
 * @example
 * ```ts
 * const bytes = await treeSize("/var/lib/corral/containers/ID/upper");
 * ```
 */
export async function treeSize(dir: string): Promise<number> {
  let size = 0;
  try {
    for await (const e of Deno.readDir(dir)) {
      const path = join(dir, e.name);
      if (e.isDirectory) size += await treeSize(path);
      else if (e.isFile) size += (await Deno.lstat(path)).size;
    }
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
  }
  return size;
}
