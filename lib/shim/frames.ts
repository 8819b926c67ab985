/**
 * Docker's multiplexed stream framing (non-TTY attach, logs, exec): an
 * 8-byte header `[stream, 0, 0, 0, size(u32 BE)]` before each payload. The
 * shim's attach socket speaks it both ways, with two more stream ids: stdin
 * (0, client to shim; an empty payload ends stdin) and control (3, JSON).
 * @module
 */

/** stdin stream id (client to shim; an empty frame is stdin's end). */
export const STDIN = 0;
/** stdout stream id. */
export const STDOUT = 1;
/** stderr stream id. */
export const STDERR = 2;
/** Control frames of the shim's attach socket: one JSON object each. */
export const CONTROL = 3;

/**
 * Frame one payload.
 *
 * @example
 * ```ts
 * const frame = encodeFrame(STDOUT, new TextEncoder().encode("hi\n"));
 * ```
 */
export function encodeFrame(stream: number, payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(8 + payload.length);
  out.set(frameHeader(stream, payload.length));
  out.set(payload, 8);
  return out;
}

/**
 * The 8-byte header of a frame whose payload is written separately.
 *
 * @example
 * ```ts
 * frameHeader(STDIN, 3); // [0, 0, 0, 0, 0, 0, 0, 3]
 * ```
 */
export function frameHeader(stream: number, size: number): Uint8Array {
  const out = new Uint8Array(8);
  out[0] = stream;
  new DataView(out.buffer).setUint32(4, size, false);
  return out;
}

/** Decode frames from a byte stream, calling `onFrame` for each. */
export async function decodeFrames(
  body: ReadableStream<Uint8Array>,
  onFrame: (stream: number, payload: Uint8Array) => void | Promise<void>,
): Promise<void> {
  let buf = new Uint8Array(0);
  for await (const chunk of body) {
    // Only the unconsumed tail of the last chunk is carried over: one copy per chunk.
    const merged = new Uint8Array(buf.length + chunk.length);
    merged.set(buf);
    merged.set(chunk, buf.length);
    let at = 0;
    while (merged.length - at >= 8) {
      const size = new DataView(merged.buffer, at).getUint32(4, false);
      if (merged.length - at < 8 + size) break;
      await onFrame(merged[at], merged.subarray(at + 8, at + 8 + size));
      at += 8 + size;
    }
    buf = merged.subarray(at);
  }
}
