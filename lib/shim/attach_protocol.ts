/**
 * The shim's attach socket (`attach.sock` in the state dir, contract v2):
 * how the daemon reaches the streams the shim holds. Both ways speak the
 * frames of frames.ts. The client's first frame is a control frame with a
 * {@linkcode ShimRequest}; the shim answers with a control frame
 * {@linkcode ShimReply}, then sends output frames (stdout, stderr) and, when
 * the process exits, a control frame `{exitCode}` before it closes. The
 * client sends stdin frames; an empty one ends stdin. A connection that
 * closes without that frame (a daemon that died, a detach) leaves stdin open.
 * @module
 */
// Only corral's own modules: the shim loads this (see main.ts).
import { shortSocketPath } from "../sys/short_path.ts";
import { attachSocketName } from "./contract.ts";
import { CONTROL, decodeFrames, encodeFrame, frameHeader, STDIN } from "./frames.ts";
import type { RuncExec } from "./runc_args.ts";

/** Attach to the container's own streams. */
export interface AttachRequest {
  op: "attach";
  stdin: boolean;
  stdout: boolean;
  stderr: boolean;
}

/** Run a process in the container with its streams on this connection. */
export interface ExecRequest {
  op: "exec";
  exec: RuncExec & { execId: string; tty: boolean; stdin: boolean };
}

/** Set the window size of the container's terminal, or of an exec's (`exec`: its id). */
export interface ResizeRequest {
  op: "resize";
  exec?: string;
  h: number;
  w: number;
}

/** What a client asks of the shim. */
export type ShimRequest = AttachRequest | ExecRequest | ResizeRequest;

/** The shim's first answer: the process has a terminal (raw output) or not; its pid for an exec. */
export type ShimReply = { ok: true; tty: boolean; pid?: number } | { ok: false; error: string };

/** The last control frame: the process exited. */
export interface ExitReport {
  exitCode: number;
}

const enc = new TextEncoder();

/**
 * A control frame.
 *
 * @example
 * ```ts
 * controlFrame({ op: "resize", h: 24, w: 80 });
 * ```
 */
export function controlFrame(value: unknown): Uint8Array {
  return encodeFrame(CONTROL, enc.encode(JSON.stringify(value)));
}

/** Write all of `bytes` to a connection. */
export async function writeAll(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
  for (let off = 0; off < bytes.length;) off += await conn.write(bytes.subarray(off));
}

/**
 * Frames to one connection in the order they were queued (output of two
 * streams, then the exit report), each written whole.
 *
 * @example
 * ```ts
 * declare const conn: Deno.Conn;
 * const out = new FrameSender(conn);
 * await out.send(controlFrame({ exitCode: 0 }));
 * out.close();
 * ```
 */
export class FrameSender {
  #chain: Promise<void> = Promise.resolve();
  #failed = false;

  constructor(readonly conn: Deno.Conn) {}

  /** Queue a frame; false once the connection failed (the client went away). */
  send(frame: Uint8Array): Promise<boolean> {
    this.#chain = this.#chain.then(async () => {
      if (this.#failed) return;
      try {
        await writeAll(this.conn, frame);
      } catch {
        this.#failed = true;
      }
    });
    return this.#chain.then(() => !this.#failed);
  }

  /** Close the connection. */
  close(): void {
    try {
      this.conn.close();
    } catch {
      // Closed already.
    }
  }
}

/** An open connection to a shim, after its reply. */
export interface ShimSession {
  reply: ShimReply;
  /** Output frames (stdout 1, stderr 2) until the exit report or the shim closing. */
  output(
    onData: (stream: number, payload: Uint8Array) => Promise<void>,
  ): Promise<ExitReport | null>;
  /** Send stdin bytes (back-pressured by the shim). */
  stdin(bytes: Uint8Array): Promise<void>;
  /** End stdin (the empty stdin frame). */
  endStdin(): Promise<void>;
  /** Close the connection; stdin stays open unless ended. */
  close(): void;
}

/**
 * Connect to the shim of the run whose state dir is `bundle` and send
 * `request`; resolves once the shim answered.
 *
 * @example
 * ```ts
 * const s = await connectShim("/run/corral/containers/ID", { op: "resize", h: 40, w: 120 });
 * s.close();
 * ```
 */
export async function connectShim(bundle: string, request: ShimRequest): Promise<ShimSession> {
  const sock = shortSocketPath(bundle, attachSocketName());
  let conn: Deno.UnixConn;
  try {
    conn = await Deno.connect({ transport: "unix", path: sock.path });
  } finally {
    sock.close();
  }
  let closed = false;
  const close = () => {
    if (closed) return;
    closed = true;
    try {
      conn.close();
    } catch {
      // Closed by the other side's error already.
    }
  };
  try {
    await writeAll(conn, controlFrame(request));
  } catch (err) {
    close();
    throw err;
  }
  // One reader for the whole connection: the reply, then the output.
  type Frame = { stream: number; payload: Uint8Array };
  const queue: Frame[] = [];
  let wake: (() => void) | null = null;
  let ended = false;
  let taken: (() => void) | null = null;
  const reading = decodeFrames(conn.readable, async (stream, payload) => {
    queue.push({ stream, payload: payload.slice() });
    wake?.();
    // Back-pressure: the next frame is read once this one was taken.
    await new Promise<void>((r) => taken = r);
  }).catch(() => {}).finally(() => {
    ended = true;
    wake?.();
  });
  const next = async (): Promise<Frame | null> => {
    while (queue.length === 0 && !ended) await new Promise<void>((r) => wake = r);
    const f = queue.shift() ?? null;
    taken?.();
    return f;
  };
  const first = await next();
  if (!first || first.stream !== CONTROL) {
    close();
    throw new Error("the shim closed the attach socket without answering");
  }
  const reply = JSON.parse(new TextDecoder().decode(first.payload)) as ShimReply;
  return {
    reply,
    async output(onData) {
      try {
        for (let f = await next(); f; f = await next()) {
          if (f.stream === CONTROL) return JSON.parse(new TextDecoder().decode(f.payload));
          await onData(f.stream, f.payload);
        }
        return null;
      } finally {
        await Promise.race([reading, Promise.resolve()]);
      }
    },
    // The header alone, then the bytes: no copy of a large input.
    stdin: async (bytes) => {
      await writeAll(conn, frameHeader(STDIN, bytes.length));
      await writeAll(conn, bytes);
    },
    endStdin: () => writeAll(conn, encodeFrame(STDIN, new Uint8Array(0))),
    close,
  };
}
