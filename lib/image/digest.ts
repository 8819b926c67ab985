/**
 * Layer digests: the sha256 of an archive's bytes as they stream past, or of
 * a deterministic walk of an unpacked tree (for layers built from a
 * directory). Modification times are left out of the walk so that rebuilding
 * the same content gives the same id.
 * @module
 */
import { createHash, type Hash } from "node:crypto";
import { join } from "node:path";

/** A stream passed through unchanged, and the sha256 of what went through. */
export interface DigestTap {
  stream: ReadableStream<Uint8Array>;
  /** Hex sha256 of the bytes read so far; call once the stream is consumed. */
  digest(): string;
}

/**
 * Hash a stream while it is read.
 *
 * @example
 * ```ts
 * const file = await Deno.open("layer.tar");
 * const tap = tapSha256(file.readable);
 * for await (const _ of tap.stream) {}
 * tap.digest(); // 64 hex
 * ```
 */
export function tapSha256(stream: ReadableStream<Uint8Array>): DigestTap {
  const hash = createHash("sha256");
  const tapped = stream.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        hash.update(chunk);
        controller.enqueue(chunk);
      },
    }),
  );
  return { stream: tapped, digest: () => hash.copy().digest("hex") };
}

/**
 * The hex sha256 of a tree: for every entry in sorted order its path, type,
 * permission bits, owner, and its content, link target, or the first path of
 * the inode it is a hard link to. Device nodes and sockets count by type only.
 *
 * @example
 * ```ts
 * const id = await digestTree("/var/lib/corral/images/tmp/abc"); // 64 hex
 * ```
 */
export async function digestTree(root: string): Promise<string> {
  const hash = createHash("sha256");
  const inodes = new Map<string, string>();
  await walk(root, "", hash, inodes);
  return hash.digest("hex");
}

async function walk(root: string, rel: string, hash: Hash, inodes: Map<string, string>) {
  const abs = rel === "" ? root : join(root, rel);
  const info = await Deno.lstat(abs);
  const owner = `${((info.mode ?? 0) & 0o7777).toString(8)} ${info.uid}:${info.gid}`;
  // NUL never occurs in a path, so records cannot run into each other.
  const record = (kind: string, extra = "") => hash.update(`${kind}\0${rel}\0${owner}\0${extra}\0`);
  if (info.isDirectory) {
    record("dir");
    const names: string[] = [];
    for await (const e of Deno.readDir(abs)) names.push(e.name);
    for (const name of names.sort()) {
      await walk(root, rel === "" ? name : `${rel}/${name}`, hash, inodes);
    }
  } else if (info.isSymlink) {
    record("symlink", await Deno.readLink(abs));
  } else if (info.isFile) {
    const inode = `${info.dev}:${info.ino}`;
    const first = inodes.get(inode);
    if (first !== undefined) {
      record("hardlink", first);
    } else {
      if (info.nlink !== null && info.nlink > 1) inodes.set(inode, rel);
      record("file", String(info.size));
      const file = await Deno.open(abs);
      for await (const chunk of file.readable) hash.update(chunk);
    }
  } else {
    record("special");
  }
}
