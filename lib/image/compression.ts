/**
 * Compression detection by magic bytes (a file name or content type may lie):
 * gzip and zstd (registry layers) are decompressed, other known formats are
 * refused clearly.
 * @module
 */
import { Duplex } from "node:stream";
import { createZstdDecompress } from "node:zlib";
import { errorMessage, invalid } from "../errdefs/mod.ts";
import type { SizeLimit } from "./size_limit.ts";

const GZIP = [0x1f, 0x8b];
const ZSTD = [0x28, 0xb5, 0x2f, 0xfd];
const UNSUPPORTED: [string, number[]][] = [
  ["xz", [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]],
  ["bzip2", [0x42, 0x5a, 0x68]],
];
const MAGIC_LENGTH = 6;

/**
 * The uncompressed bytes of a possibly gzip-compressed stream, counted
 * against `limit` when given (the stream fails once it is exceeded).
 *
 * @example
 * ```ts
 * import { SizeLimit } from "./size_limit.ts";
 * const file = await Deno.open("rootfs.tar.gz");
 * const tar = await decompress(file.readable, new SizeLimit(2 ** 30)); // plain tar bytes
 * ```
 */
export async function decompress(
  stream: ReadableStream<Uint8Array>,
  limit?: SizeLimit,
): Promise<ReadableStream<Uint8Array>> {
  const reader = stream.getReader();
  const head: Uint8Array[] = [];
  let headLength = 0;
  while (headLength < MAGIC_LENGTH) {
    const { done, value } = await reader.read();
    if (done) break;
    head.push(value);
    headLength += value.length;
  }
  const magic = new Uint8Array(headLength);
  head.reduce((off, part) => (magic.set(part, off), off + part.length), 0);
  const has = (sig: number[]) => sig.every((b, i) => magic[i] === b);
  for (const [name, sig] of UNSUPPORTED) {
    if (has(sig)) {
      await reader.cancel();
      throw invalid(`unsupported archive compression: ${name} (use a plain, gzip or zstd tar)`);
    }
  }
  // Put the bytes already read back in front of the rest of the stream.
  const format = has(GZIP) ? "gzip" : has(ZSTD) ? "zstd" : null;
  if (format === null) return resume(reader, magic, (err) => err, limit);
  const inflate = format === "gzip"
    ? new DecompressionStream("gzip") as TransformStream<Uint8Array, Uint8Array>
    : Duplex.toWeb(createZstdDecompress()) as unknown as TransformStream<Uint8Array, Uint8Array>;
  const whole = resume(reader, magic, (err) => err);
  // A corrupt stream is bad input, not an internal failure.
  return resume(
    whole.pipeThrough(inflate).getReader(),
    new Uint8Array(0),
    (err) => invalid(`corrupt ${format} data: ${errorMessage(err)}`),
    limit,
  );
}

/**
 * A stream of `head`, then what `reader` still has, with read errors mapped
 * and every byte charged to `limit`.
 */
function resume(
  reader: ReadableStreamDefaultReader<Uint8Array>,
  head: Uint8Array,
  mapError: (err: unknown) => unknown,
  limit?: SizeLimit,
): ReadableStream<Uint8Array> {
  const charge = async (n: number) => {
    try {
      limit?.charge(n);
    } catch (err) {
      // Nothing reads the source again: release it (a request body is then drained).
      await reader.cancel(err).catch(() => {});
      throw err;
    }
  };
  return new ReadableStream<Uint8Array>({
    async start(controller) {
      await charge(head.length);
      if (head.length > 0) controller.enqueue(head);
    },
    async pull(controller) {
      let next: ReadableStreamReadResult<Uint8Array>;
      try {
        next = await reader.read();
      } catch (err) {
        throw mapError(err);
      }
      if (next.done) return controller.close();
      await charge(next.value.length);
      controller.enqueue(next.value);
    },
    cancel(reason) {
      return reader.cancel(reason);
    },
  });
}
