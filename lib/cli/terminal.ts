/**
 * An interactive session on a hijacked connection (`run -i/-t`, `start -ai`,
 * `attach`, `exec -it`): the local terminal in raw mode while a remote
 * terminal is attached, stdin sent until its end, the output shown (raw, or
 * Docker's frames split to stdout and stderr), the window size kept in step
 * (SIGWINCH → resize), and the detach keys noticed.
 * @module
 */
import {
  type ApiClient,
  decodeFrames,
  DEFAULT_DETACH_KEYS,
  DetachScanner,
  type Hijacked,
  parseDetachKeys,
  STDERR,
} from "../api/mod.ts";

/** What a session sends and shows. */
export interface SessionOptions {
  /** Send this process's stdin. */
  stdin: boolean;
  /** The remote side is a terminal: raw mode here, window size kept in step. */
  tty: boolean;
  /** The resize route (`/containers/ID/resize` or `/exec/ID/resize`), when `tty`. */
  resizePath?: string;
  /** The detach keys (Docker's default when unset). */
  detachKeys?: string;
}

/** How a session ended. */
export interface SessionEnd {
  /** The user typed the detach keys: the container runs on. */
  detached: boolean;
}

async function writeAll(
  w: { write(p: Uint8Array): Promise<number> },
  b: Uint8Array,
): Promise<void> {
  for (let off = 0; off < b.length;) off += await w.write(b.subarray(off));
}

/** The early bytes, then the connection's. */
function streamOf(h: Hijacked): ReadableStream<Uint8Array> {
  const early = h.early;
  const reader = h.conn.readable.getReader();
  let first = early.length > 0;
  return new ReadableStream<Uint8Array>({
    async pull(ctrl) {
      if (first) {
        first = false;
        return ctrl.enqueue(early);
      }
      const { value, done } = await reader.read().catch(() => ({ value: undefined, done: true }));
      if (done || !value) ctrl.close();
      else ctrl.enqueue(value);
    },
    cancel: () => reader.cancel().catch(() => {}),
  });
}

/**
 * Run a session until the remote side ends the stream (the process exited,
 * or the user detached).
 *
 * @example
 * ```ts
 * import { type ApiClient, hijack } from "../api/mod.ts";
 * declare const api: ApiClient;
 * const h = await hijack(api.path, "POST", "/containers/web/attach?stream=1&stdin=1&stdout=1&stderr=1");
 * const end = await runSession(api, h, { stdin: true, tty: true, resizePath: "/containers/web/resize" });
 * ```
 */
export async function runSession(
  api: ApiClient,
  h: Hijacked,
  o: SessionOptions,
): Promise<SessionEnd> {
  // As Docker, detach keys apply only with a terminal: piped data passes whole.
  const scan = new DetachScanner(o.tty ? parseDetachKeys(o.detachKeys || DEFAULT_DETACH_KEYS) : []);
  let detached = false;
  const raw = o.tty && o.stdin && Deno.stdin.isTerminal();
  if (raw) Deno.stdin.setRaw(true);
  const resize = async () => {
    if (!o.resizePath || !Deno.stdout.isTerminal()) return;
    const { rows, columns } = Deno.consoleSize();
    await api.request("POST", `${o.resizePath}?h=${rows}&w=${columns}`)
      .then((r) => r.body?.cancel()).catch(() => {});
  };
  const onWinch = () => void resize();
  if (o.tty && o.resizePath) {
    Deno.addSignalListener("SIGWINCH", onWinch);
    await resize();
  }
  let stdinReader: ReadableStreamDefaultReader<Uint8Array> | null = null;
  if (o.stdin) {
    stdinReader = Deno.stdin.readable.getReader();
    const reader = stdinReader;
    void (async () => {
      try {
        for (let r = await reader.read(); !r.done; r = await reader.read()) {
          // The daemon detaches; noticing the keys here tells "detached" from "exited".
          if (scan.push(r.value).detached) detached = true;
          await writeAll(h.conn, r.value);
        }
        await h.conn.closeWrite();
      } catch {
        // The connection ended first.
      }
    })();
  }
  try {
    const output = streamOf(h);
    if (h.raw) {
      for await (const chunk of output) await writeAll(Deno.stdout, chunk);
    } else {
      await decodeFrames(
        output,
        (stream, payload) => writeAll(stream === STDERR ? Deno.stderr : Deno.stdout, payload),
      );
    }
  } catch {
    // The daemon went away: the session is over.
  } finally {
    if (raw) Deno.stdin.setRaw(false);
    if (o.tty && o.resizePath) Deno.removeSignalListener("SIGWINCH", onWinch);
    try {
      stdinReader?.releaseLock();
    } catch {
      // A read still pending: the process ends soon anyway.
    }
    try {
      h.conn.close();
    } catch {
      // Closed already.
    }
  }
  // The remote prompt was left mid-line: the local shell's starts on a line of its own.
  if (detached && o.tty) await writeAll(Deno.stderr, new TextEncoder().encode("\r\n"));
  return { detached };
}
