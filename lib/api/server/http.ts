/**
 * Serving a fetch-style handler (`Request` → `Response`) on a unix socket
 * with `node:http`, which, unlike `Deno.serve`, hands over the raw socket of
 * an upgrade request. Docker clients hijack the connection for attach and
 * exec (`Connection: Upgrade`, `Upgrade: tcp`): the answer is `101
 * UPGRADED` and then the response body as raw bytes on the socket.
 * @module
 */
import { createServer, type IncomingMessage, type ServerResponse, STATUS_CODES } from "node:http";
import type { Socket } from "node:net";
import { errorMessage, invalid } from "../../errdefs/mod.ts";
import { concat } from "./bytes.ts";
import { getLogger } from "@logtape/logtape";

const log = getLogger(["corral", "api"]);

/** What the client sends after an upgrade request's body (stdin), by request. */
const hijackedInputs = new WeakMap<Request, () => ReadableStream<Uint8Array>>();

/**
 * The bytes the client sends on a hijacked connection after its request
 * (attach's and exec's stdin), read as they are pulled (back-pressure on the
 * client); it ends when the client half-closes. Null for a request that did
 * not upgrade. What no route takes is discarded.
 *
 * @example
 * ```ts
 * declare const req: Request;
 * const stdin = hijackedInput(req);
 * ```
 */
export function hijackedInput(req: Request): ReadableStream<Uint8Array> | null {
  return hijackedInputs.get(req)?.() ?? null;
}

/** A fetch-style request handler. */
export type FetchHandler = (req: Request) => Promise<Response>;

/** A listening server. */
export interface ApiServer {
  /** Stop accepting connections and close the open ones. */
  close(): Promise<void>;
}

const NO_BODY = new Set(["GET", "HEAD"]);

/**
 * Listen on the unix socket `path` (which must not exist) and answer every
 * request with `handler`; upgrade requests get the hijacked-stream answer.
 *
 * @example
 * ```ts
 * const server = await serveUnix("/run/corral/corral.sock", async () => new Response("OK"));
 * await server.close();
 * ```
 */
export async function serveUnix(path: string, handler: FetchHandler): Promise<ApiServer> {
  const sockets = new Set<Socket>();
  const server = createServer((req, res) => void answer(handler, req, res));
  server.on("connection", (s: Socket) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  server.on("upgrade", (req: IncomingMessage, socket: Socket, head: Uint8Array) => {
    void hijack(handler, req, socket, head);
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(path, () => {
      server.off("error", reject);
      resolve();
    });
  });
  return {
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const s of sockets) s.destroy();
      }),
  };
}

function toRequest(req: IncomingMessage, body: ReadableStream<Uint8Array> | null): Request {
  const headers = new Headers();
  for (let i = 0; i + 1 < req.rawHeaders.length; i += 2) {
    headers.append(req.rawHeaders[i], req.rawHeaders[i + 1]);
  }
  const method = req.method ?? "GET";
  // Deno's unix-socket fetch sends an absolute-form target (`GET http://host/path`).
  const target = req.url ?? "/";
  const url = /^https?:\/\//.test(target) ? target : `http://corral${target}`;
  return new Request(url, {
    method,
    headers,
    body,
    // A streamed request body needs half duplex.
    duplex: "half",
  } as RequestInit);
}

async function callHandler(handler: FetchHandler, req: Request): Promise<Response> {
  try {
    return await handler(req);
  } catch (err) {
    log.error("{method} {path}: {error}", {
      method: req.method,
      path: new URL(req.url).pathname,
      error: errorMessage(err),
    });
    return Response.json({ message: errorMessage(err) }, { status: 500 });
  }
}

/** A plain request: status, headers, then the body as it is produced. */
async function answer(
  handler: FetchHandler,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const body = NO_BODY.has(req.method ?? "GET") ? null : requestBody(req);
  const response = await callHandler(handler, toRequest(req, body?.stream ?? null));
  // What the handler left unread (it failed early) is drained: the client can finish sending.
  body?.discard();
  res.statusCode = response.status;
  response.headers.forEach((v, k) => res.setHeader(k, v));
  const stream = response.body;
  if (!stream || req.method === "HEAD") {
    await stream?.cancel();
    res.end();
    return;
  }
  // Streams (wait, events, logs -f) need the headers out before the first chunk.
  res.flushHeaders();
  await pump(stream, res, () => res.end());
}

/**
 * A request body as a web stream read only when pulled. Not `Readable.toWeb`:
 * Deno's adapter enqueues chunks still in flight after the stream was
 * cancelled (a handler refusing an upload early), which throws outside any
 * handler and ends the daemon. A cancelled body is read to its end and
 * discarded, so the client can finish sending and then read the answer; a
 * client that goes away mid-body makes the stream fail.
 */
function requestBody(
  req: IncomingMessage,
): { stream: ReadableStream<Uint8Array>; discard: () => void } {
  let ended = false;
  let failed: Error | null = null;
  let discard = false;
  let wake = () => {};
  const onReadable = () => {
    while (discard && req.read() !== null) {
      // Discarding is the point.
    }
    wake();
  };
  const startDiscarding = () => {
    discard = true;
    onReadable();
  };
  req.on("readable", onReadable);
  req.on("end", () => {
    ended = true;
    wake();
  });
  const wentAway = () => {
    failed ??= invalid("the client went away in the middle of the request body");
    wake();
  };
  // Also the listener without which an aborted request's "error" would be uncaught.
  req.on("error", wentAway);
  req.on("close", () => req.complete ? wake() : wentAway());
  const stream = new ReadableStream<Uint8Array>({
    async pull(controller) {
      while (true) {
        const chunk: Uint8Array | null = req.read();
        if (chunk !== null) {
          return controller.enqueue(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.length));
        }
        if (ended) return controller.close();
        if (failed) throw failed;
        await new Promise<void>((resolve) => wake = resolve);
      }
    },
    cancel: startDiscarding,
  });
  return { stream, discard: startDiscarding };
}

/** An upgrade request (attach, exec start): `101 UPGRADED`, then raw bytes. */
async function hijack(
  handler: FetchHandler,
  req: IncomingMessage,
  socket: Socket,
  head: Uint8Array,
): Promise<void> {
  socket.on("error", () => {});
  let request: Request;
  // Stdin the client sent right behind the request body.
  let early: Uint8Array = new Uint8Array(0);
  try {
    // The request body (exec start's JSON) shares the socket with stdin: take exactly its length.
    const read = await readBody(req, socket, head, Number(req.headers["content-length"] ?? 0));
    const body = read.body;
    early = read.rest;
    request = toRequest(req, body.length ? new Blob([body.slice()]).stream() : null);
  } catch {
    socket.destroy();
    return;
  }
  let input: ReadableStream<Uint8Array> | null = null;
  socket.pause();
  hijackedInputs.set(request, () => input ??= socketInput(socket, early));
  const response = await callHandler(handler, request);
  // Stdin no route took is discarded, so the client's writes never block.
  if (!input) {
    socket.on("data", () => {});
    socket.resume();
  }
  if (response.status >= 300 || !response.body) {
    const text = new Uint8Array(await response.arrayBuffer());
    const lines = [
      `HTTP/1.1 ${response.status} ${STATUS_CODES[response.status] ?? ""}`,
      `Content-Type: ${response.headers.get("content-type") ?? "application/json"}`,
      `Content-Length: ${text.length}`,
      "Connection: close",
    ];
    socket.end(concat([new TextEncoder().encode(lines.join("\r\n") + "\r\n\r\n"), text]));
    return;
  }
  const type = response.headers.get("content-type") ?? "application/vnd.docker.raw-stream";
  socket.write(
    `HTTP/1.1 101 UPGRADED\r\nContent-Type: ${type}\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n`,
  );
  await pump(response.body, socket, () => socket.end());
}

/** Chunks of a client's stdin read ahead (a socket read each, at most 64 KiB). */
const INPUT_CHUNKS = 16;

/**
 * The client's bytes as a stream pulled one chunk at a time: the socket is
 * paused between pulls. It ends at the client's half-close (its end).
 */
function socketInput(socket: Socket, early: Uint8Array): ReadableStream<Uint8Array> {
  let done = false;
  return new ReadableStream<Uint8Array>({
    start(ctrl) {
      if (early.length) ctrl.enqueue(early);
      const finish = () => {
        if (done) return;
        done = true;
        ctrl.close();
      };
      socket.on("data", (chunk: Uint8Array) => {
        if (done) return;
        ctrl.enqueue(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.length));
        if ((ctrl.desiredSize ?? 0) <= 0) socket.pause();
      });
      socket.on("end", finish);
      socket.on("close", finish);
    },
    pull() {
      socket.resume();
    },
    cancel() {
      done = true;
      socket.on("data", () => {});
      socket.resume();
    },
  }, { highWaterMark: INPUT_CHUNKS });
}

interface Sink {
  write(chunk: Uint8Array): boolean;
  once(event: "drain" | "close", fn: () => void): unknown;
  off(event: "drain" | "close", fn: () => void): unknown;
  readonly destroyed: boolean;
}

/** Copy a body to a socket with back-pressure; a closed peer cancels the body. */
async function pump(
  stream: ReadableStream<Uint8Array>,
  sink: Sink,
  end: () => void,
): Promise<void> {
  const reader = stream.getReader();
  let closed = sink.destroyed;
  const onClose = () => {
    closed = true;
    reader.cancel().catch(() => {});
  };
  sink.once("close", onClose);
  try {
    while (!closed) {
      const { value, done } = await reader.read();
      if (done) break;
      if (closed) break;
      if (!sink.write(value)) {
        await new Promise<void>((resolve) => {
          const go = () => {
            sink.off("drain", go);
            sink.off("close", go);
            resolve();
          };
          sink.once("drain", go);
          sink.once("close", go);
        });
      }
    }
  } catch {
    // The body failed or was cancelled: end what was sent.
  } finally {
    sink.off("close", onClose);
    if (!closed) end();
    reader.releaseLock();
  }
}

/**
 * The first `n` bytes sent after the request head. Node hands them over on
 * the socket (after `head`), Deno's node:http on the request: take whichever
 * delivers. What follows is stdin (`rest`: what came with the body).
 */
function readBody(
  req: IncomingMessage,
  socket: Socket,
  head: Uint8Array,
  n: number,
): Promise<{ body: Uint8Array; rest: Uint8Array }> {
  return new Promise((resolve, reject) => {
    const parts: Uint8Array[] = [];
    let have = 0;
    const onData = (chunk: Uint8Array) => {
      parts.push(chunk);
      have += chunk.length;
      if (have < n) return;
      cleanup();
      const all = concat(parts);
      resolve({ body: all.subarray(0, n), rest: all.slice(n) });
    };
    const onEnd = () => {
      cleanup();
      reject(new Error("connection closed inside the request body"));
    };
    const cleanup = () => {
      req.off("data", onData);
      socket.off("data", onData);
      socket.off("close", onEnd);
    };
    req.on("data", onData);
    socket.on("data", onData);
    socket.on("close", onEnd);
    socket.resume();
    onData(head);
  });
}
