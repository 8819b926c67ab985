/**
 * A cap on the bytes an image brings in once decompressed, so that a small
 * upload (a gzip bomb) cannot fill the disk.
 * @module
 */
import { invalid } from "../errdefs/mod.ts";

/** The default cap of the daemon (`--max-image-size`). */
export const DEFAULT_MAX_IMAGE_SIZE = 32 * 2 ** 30;

/**
 * A byte budget shared by every stream of one import or load.
 *
 * @example
 * ```ts
 * const limit = new SizeLimit(1 << 20, "image archive");
 * limit.charge(4096); // throws "image archive too large: ..." past 1 MiB in all
 * ```
 */
export class SizeLimit {
  #used = 0;

  /** `max` bytes in all; `what` names the content in the error. */
  constructor(readonly max: number, readonly what = "image") {}

  /** Count `n` more bytes; an `invalid` error once the total is over the cap. */
  charge(n: number): void {
    this.#used += n;
    if (this.#used > this.max) {
      throw invalid(
        `${this.what} too large: more than ${formatSize(this.max)} uncompressed ` +
          `(the daemon's --max-image-size)`,
      );
    }
  }
}

function formatSize(n: number): string {
  for (const [unit, size] of [["GiB", 2 ** 30], ["MiB", 2 ** 20], ["KiB", 2 ** 10]] as const) {
    if (n >= size) return `${Number((n / size).toFixed(1))} ${unit}`;
  }
  return `${n} bytes`;
}
