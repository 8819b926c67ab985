/**
 * The layer directories of the image store: `layers/<id>/` holds one
 * unpacked layer, `tmp/` what is being unpacked or removed. A layer enters
 * and leaves `layers/` by one rename, so a crash leaves at worst an
 * unreferenced layer, never a half one in place.
 * @module
 */
import { join } from "node:path";
import { removeAll, syncDir, syncFilesystem, treeSize } from "../sys/mod.ts";

/** A layer id: the hex sha256 of the layer's uncompressed archive (its diff id). */
export const LAYER_ID = /^[0-9a-f]{64}$/;

/**
 * The `layers/` and `tmp/` directories under an images directory.
 *
 * @example
 * ```ts
 * const layers = new LayerStore("/var/lib/corral/images");
 * await layers.reset();
 * const staged = await layers.stagingDir();
 * // ... unpack a layer whose diff id is `id` into `staged`, then:
 * declare const id: string;
 * await layers.syncStaged();
 * await layers.commit([[id, staged]]);
 * ```
 */
export class LayerStore {
  readonly #layers: string;
  readonly #tmp: string;

  constructor(imagesDir: string) {
    this.#layers = join(imagesDir, "layers");
    this.#tmp = join(imagesDir, "tmp");
  }

  /** Create `layers/` if needed and empty `tmp/`. Only at startup: nothing may be staged. */
  async reset(): Promise<void> {
    await Deno.mkdir(this.#layers, { recursive: true });
    // Whatever is in tmp is an unpack or a removal that a crash interrupted.
    await removeAll(this.#tmp);
    await Deno.mkdir(this.#tmp);
  }

  /** The directory of the layer `id` (which may not exist). */
  dir(id: string): string {
    return join(this.#layers, id);
  }

  /** Whether the layer `id` is stored. */
  has(id: string): Promise<boolean> {
    return exists(this.dir(id));
  }

  /** Bytes of regular file content in the layer `id`. */
  size(id: string): Promise<number> {
    return treeSize(this.dir(id));
  }

  /** A fresh empty directory in `tmp/` to unpack a layer into. */
  async stagingDir(): Promise<string> {
    const dir = join(this.#tmp, crypto.randomUUID());
    await Deno.mkdir(dir);
    return dir;
  }

  /** A fresh private directory in `tmp/`, for the caller's own use (cleared at the next reset). */
  async scratchDir(): Promise<string> {
    const dir = join(this.#tmp, `scratch-${crypto.randomUUID()}`);
    await Deno.mkdir(dir, { mode: 0o700 });
    return dir;
  }

  /** Flush what was unpacked in `tmp/`: one syncfs for every file and directory staged. */
  syncStaged(): Promise<void> {
    return syncFilesystem(this.#tmp);
  }

  /**
   * Move staged layers (id and staging directory) into place. A layer already
   * stored is kept: same content, same id.
   */
  async commit(staged: Iterable<[string, string]>): Promise<void> {
    let moved = false;
    for (const [id, dir] of staged) {
      if (await this.has(id)) continue;
      await Deno.rename(dir, this.dir(id));
      moved = true;
    }
    if (moved) await syncDir(this.#layers);
  }

  /** Unregister a layer with one rename, then delete it; a missing layer is fine. */
  async remove(id: string): Promise<void> {
    const doomed = join(this.#tmp, `rm-${id}-${crypto.randomUUID()}`);
    try {
      await Deno.rename(this.dir(id), doomed);
    } catch (err) {
      if (err instanceof Deno.errors.NotFound) return;
      throw err;
    }
    await removeAll(doomed);
  }

  /** Remove every layer not in `used`: what a crash mid-import or mid-removal left behind. */
  async removeUnused(used: ReadonlySet<string>): Promise<void> {
    for await (const entry of Deno.readDir(this.#layers)) {
      if (!used.has(entry.name)) await this.remove(entry.name);
    }
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return false;
    throw err;
  }
}
