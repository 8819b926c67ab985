/**
 * Docker's multiplexed stream framing, as the API's clients and routes use
 * it; lib/shim/frames.ts owns it (the shim's attach socket speaks it too).
 * @module
 */
export { decodeFrames, encodeFrame, STDERR, STDOUT } from "../shim/frames.ts";
