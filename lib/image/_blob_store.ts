/**
 * Registry blobs (compressed layer archives) under `blobs/<hex>`: a download
 * goes to a file in `tmp/` and enters `blobs/` by one rename once its digest
 * and size are verified, so a blob there is always whole. A pull keeps its
 * blobs until its image is stored, so a pull that fails or is killed is
 * resumed from the blobs it completed; they are removed once an image holds
 * their layers, and a day after they were fetched if none ever does.
 * @module
 */
import { join } from "node:path";
import { removeAll, syncDir } from "../sys/mod.ts";

const HEX = /^[0-9a-f]{64}$/;
/** How long a blob no pull has used is kept for a retry. */
export const BLOB_KEEP_MS = 24 * 3600_000;

/**
 * The `blobs/` directory of an images directory.
 *
 * @example
 * ```ts
 * const blobs = new BlobStore("/var/lib/corral/images");
 * await blobs.init();
 * const temp = blobs.tempPath();
 * // ... download into temp, check its sha256 is `hex`, then:
 * declare const hex: string;
 * await blobs.commit(temp, hex);
 * ```
 */
export class BlobStore {
  readonly #dir: string;
  readonly #tmp: string;

  constructor(imagesDir: string) {
    this.#dir = join(imagesDir, "blobs");
    this.#tmp = join(imagesDir, "tmp");
  }

  /** Create `blobs/` if needed and drop blobs older than {@linkcode BLOB_KEEP_MS}. */
  async init(now = Date.now()): Promise<void> {
    await Deno.mkdir(this.#dir, { recursive: true });
    for await (const e of Deno.readDir(this.#dir)) {
      const path = join(this.#dir, e.name);
      const info = await Deno.lstat(path);
      if (!HEX.test(e.name) || now - (info.mtime?.getTime() ?? 0) > BLOB_KEEP_MS) {
        await removeAll(path);
      }
    }
  }

  /** The path of the blob `hex` (which may not exist). */
  path(hex: string): string {
    return join(this.#dir, checkHex(hex));
  }

  /** The size of the blob `hex`, or null when it is not stored. */
  async size(hex: string): Promise<number | null> {
    try {
      return (await Deno.stat(this.path(hex))).size;
    } catch (err) {
      if (err instanceof Deno.errors.NotFound) return null;
      throw err;
    }
  }

  /** A fresh path in `tmp/` (emptied at every daemon start) to download into. */
  tempPath(): string {
    return join(this.#tmp, `blob-${crypto.randomUUID()}`);
  }

  /** Move a verified download into place (it is flushed first). */
  async commit(temp: string, hex: string): Promise<void> {
    const f = await Deno.open(temp, { read: true });
    try {
      await f.sync();
    } finally {
      f.close();
    }
    await Deno.rename(temp, this.path(hex));
    await syncDir(this.#dir);
  }

  /** Remove the blob `hex`; a missing one is fine. */
  remove(hex: string): Promise<void> {
    return removeAll(this.path(hex));
  }
}

function checkHex(hex: string): string {
  if (!HEX.test(hex)) throw new Error(`invalid blob digest "${hex}"`);
  return hex;
}
