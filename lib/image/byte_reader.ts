/**
 * Exact-length reads over a byte stream whose chunks have arbitrary sizes,
 * as a block format like tar needs.
 * @module
 */
import { invalid } from "../errdefs/mod.ts";

/**
 * Buffered reader of a `ReadableStream<Uint8Array>`.
 *
 * @example
 * ```ts
 * declare const stream: ReadableStream<Uint8Array>;
 * const r = new ByteReader(stream);
 * const header = await r.readExact(512); // null at a clean end of stream
 * for await (const chunk of r.take(100)) console.log(chunk.length);
 * ```
 */
export class ByteReader {
  readonly #reader: ReadableStreamDefaultReader<Uint8Array>;
  #chunk: Uint8Array = new Uint8Array(0);

  constructor(stream: ReadableStream<Uint8Array>) {
    this.#reader = stream.getReader();
  }

  /** Make the current chunk non-empty; false at end of stream. */
  async #fill(): Promise<boolean> {
    while (this.#chunk.length === 0) {
      const { done, value } = await this.#reader.read();
      if (done) return false;
      this.#chunk = value;
    }
    return true;
  }

  /**
   * Read exactly `n` bytes. Null when the stream ends before the first byte;
   * an `invalid` error when it ends in the middle.
   */
  async readExact(n: number): Promise<Uint8Array | null> {
    const out = new Uint8Array(n);
    let off = 0;
    for await (const part of this.take(n)) {
      out.set(part, off);
      off += part.length;
    }
    if (off === 0 && n > 0) return null;
    return out;
  }

  /**
   * Yield the next `n` bytes as they arrive, without copying. The stream
   * ending early is an `invalid` error unless nothing was read at all (then
   * the generator just ends, so `readExact` can report a clean end).
   */
  async *take(n: number): AsyncGenerator<Uint8Array> {
    let left = n;
    while (left > 0) {
      if (!await this.#fill()) {
        if (left === n) return;
        throw invalid(`unexpected end of archive (${left} bytes missing)`);
      }
      const part = this.#chunk.subarray(0, Math.min(left, this.#chunk.length));
      this.#chunk = this.#chunk.subarray(part.length);
      left -= part.length;
      yield part;
    }
  }

  /** Discard the next `n` bytes. */
  async skip(n: number): Promise<void> {
    let got = 0;
    for await (const part of this.take(n)) got += part.length;
    if (got < n) throw invalid(`unexpected end of archive (${n - got} bytes missing)`);
  }

  /** Read and discard everything left in the stream. */
  async drain(): Promise<void> {
    this.#chunk = new Uint8Array(0);
    while (!(await this.#reader.read()).done) {
      // Reading is the point: a digest tap on the stream must see every byte.
    }
  }

  /** Stop reading early: cancel the underlying stream. */
  async cancel(): Promise<void> {
    await this.#reader.cancel().catch(() => {});
  }
}
