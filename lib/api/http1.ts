/**
 * HTTP/1.1 over a unix socket, one connection per request, answering with a
 * web `Response`. The CLI's calls go through it instead of `fetch`: the first
 * `fetch` through a `Deno.createHttpClient` costs a CLI process ~30 ms of CPU
 * (BENCHMARKS.md, "CLI start"), a plain socket next to nothing.
 * @module
 */

const CRLF = "\r\n";
const enc = new TextEncoder();

/** A request to send. */
export interface UnixRequest {
  method: string;
  /** The request target: path and query. */
  target: string;
  headers?: Record<string, string>;
  body?: Uint8Array | ReadableStream<Uint8Array> | null;
}

/**
 * Send `req` to the HTTP server on the unix socket `socket` and read the
 * answer's head; the body streams as it is read. Connection failures throw
 * as `Deno.connect` does.
 *
 * @example
 * ```ts
 * const res = await unixRequest("/run/corral/corral.sock", { method: "GET", target: "/_ping" });
 * console.log(res.status, await res.text());
 * ```
 */
export async function unixRequest(
  socket: string,
  req: UnixRequest,
  open: Set<Deno.Conn> = new Set(),
): Promise<Response> {
  const sent = await send(socket, req, open);
  try {
    const chunks = sent.body();
    let stream: ReadableStream<Uint8Array> | null = null;
    if (!chunks) sent.close();
    else {
      stream = new ReadableStream<Uint8Array>({
        async pull(ctl) {
          try {
            const { value, done } = await chunks.next();
            if (done) {
              sent.close();
              ctl.close();
            } else ctl.enqueue(value);
          } catch (err) {
            sent.close();
            ctl.error(err);
          }
        },
        cancel: sent.close,
      });
    }
    return new Response(stream, {
      status: sent.status,
      statusText: sent.statusText,
      headers: [...sent.headers],
    });
  } catch (err) {
    sent.close();
    throw err;
  }
}

/** An answer read to its end. */
export interface WholeAnswer {
  status: number;
  statusText: string;
  body: Uint8Array;
}

/**
 * Send `req` and read the whole answer: for the small JSON answers most CLI
 * calls get. No `Response`, stream or `Headers` is made, whose first use in
 * a process costs ~15 ms (BENCHMARKS.md, "CLI start").
 *
 * @example
 * ```ts
 * const a = await unixRequestWhole("/run/corral/corral.sock", { method: "GET", target: "/_ping" });
 * console.log(a.status, new TextDecoder().decode(a.body));
 * ```
 */
export async function unixRequestWhole(socket: string, req: UnixRequest): Promise<WholeAnswer> {
  const sent = await send(socket, req, new Set());
  try {
    const parts: Uint8Array[] = [];
    const chunks = sent.body();
    if (chunks) { for await (const part of chunks) parts.push(part); }
    return { status: sent.status, statusText: sent.statusText, body: concatAll(parts) };
  } finally {
    sent.close();
  }
}

/** A request sent and its answer's head read; the body is read through `body`. */
interface Sent {
  status: number;
  statusText: string;
  headers: Map<string, string>;
  /** The body's pieces, or null when the answer has none. */
  body(): AsyncGenerator<Uint8Array> | null;
  close(): void;
}

async function send(socket: string, req: UnixRequest, open: Set<Deno.Conn>): Promise<Sent> {
  const conn = await Deno.connect({ transport: "unix", path: socket });
  open.add(conn);
  const close = () => {
    if (open.delete(conn)) conn.close();
  };
  try {
    const headers: Record<string, string> = { host: "corral", connection: "close", ...req.headers };
    const body = req.body ?? null;
    if (body instanceof ReadableStream) headers["transfer-encoding"] = "chunked";
    else if (body || !["GET", "HEAD"].includes(req.method)) {
      headers["content-length"] = String(body?.length ?? 0);
    }
    const head = requestHead(req.method, req.target, headers);
    // The body is sent while the answer is read: the server may answer (413,
    // 404) before it read it all, and then stop reading. A write that fails so
    // is no error; a connection that is gone fails the read below.
    const sending = body instanceof ReadableStream
      ? writeAll(conn, head).then(() => sendChunked(conn, body))
      : writeAll(conn, body ? concat(head, body) : head);
    sending.catch(() => {});
    const reader = new ConnReader(conn);
    const answer = await reader.head();
    const none = req.method === "HEAD" || answer.status === 204 || answer.status === 304 ||
      answer.status < 200;
    const length = answer.headers.get("content-length");
    return {
      ...answer,
      body: () =>
        none
          ? null
          : answer.headers.get("transfer-encoding")?.toLowerCase().includes("chunked")
          ? reader.chunked()
          : reader.sized(length === undefined ? null : Number(length)),
      close,
    };
  } catch (err) {
    close();
    throw err;
  }
}

/** The daemon's answer to a request that asked to take the connection over. */
export interface UpgradeAnswer {
  status: number;
  headers: Headers;
  /** Bytes that came in with the head: the first of the taken-over stream. */
  early(): Uint8Array;
  /** The body of an answer that refused the upgrade, as text. */
  text(): Promise<string>;
}

/**
 * Send `req` with `Connection: Upgrade` on `conn` and read the answer's head;
 * on a 101 (or a 200 that streams) the connection is the caller's from then.
 *
 * @example
 * ```ts
 * const conn = await Deno.connect({ transport: "unix", path: "/run/corral/corral.sock" });
 * const a = await requestUpgrade(conn, { method: "POST", target: "/v1.43/containers/web/attach" });
 * if (a.status !== 101) console.log(await a.text());
 * ```
 */
export async function requestUpgrade(
  conn: Deno.Conn,
  req: UnixRequest & { body?: Uint8Array },
): Promise<UpgradeAnswer> {
  const body = req.body ?? new Uint8Array(0);
  const headers = {
    host: "corral",
    connection: "Upgrade",
    ...req.headers,
    "content-length": String(body.length),
  };
  await writeAll(conn, concat(requestHead(req.method, req.target, headers), body));
  const reader = new ConnReader(conn);
  const { status, headers: answer } = await reader.head();
  return {
    status,
    headers: new Headers([...answer]),
    early: () => reader.buffered(),
    text: () =>
      new Response(ReadableStream.from(reader.sized(Number(answer.get("content-length") ?? 0))))
        .text(),
  };
}

/** A request's line and headers, up to the blank line. */
function requestHead(method: string, target: string, headers: Record<string, string>): Uint8Array {
  return enc.encode(
    [`${method} ${target} HTTP/1.1`, ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`)]
      .join(CRLF) + CRLF + CRLF,
  );
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  return concatAll([a, b]);
}

function concatAll(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

async function writeAll(conn: Deno.Conn, data: Uint8Array): Promise<void> {
  for (let off = 0; off < data.length;) off += await conn.write(data.subarray(off));
}

async function sendChunked(conn: Deno.Conn, body: ReadableStream<Uint8Array>): Promise<void> {
  for await (const chunk of body) {
    if (chunk.length === 0) continue;
    await writeAll(conn, enc.encode(chunk.length.toString(16) + CRLF));
    await writeAll(conn, chunk);
    await writeAll(conn, enc.encode(CRLF));
  }
  await writeAll(conn, enc.encode(`0${CRLF}${CRLF}`));
}

/** Buffered reads from a connection: the answer's head, then its body. */
class ConnReader {
  #buf = new Uint8Array(0);
  #eof = false;

  constructor(readonly conn: Deno.Conn) {}

  /** Read more into the buffer; false at the end of the stream. */
  async #fill(): Promise<boolean> {
    if (this.#eof) return false;
    const chunk = new Uint8Array(64 * 1024);
    const n = await this.conn.read(chunk);
    if (n === null) {
      this.#eof = true;
      return false;
    }
    const next = new Uint8Array(this.#buf.length + n);
    next.set(this.#buf);
    next.set(chunk.subarray(0, n), this.#buf.length);
    this.#buf = next;
    return true;
  }

  /** Take `n` bytes off the buffer. */
  #take(n: number): Uint8Array {
    const out = this.#buf.slice(0, n);
    this.#buf = this.#buf.subarray(n);
    return out;
  }

  /** A line ending in CRLF, without it. */
  async #line(): Promise<string> {
    for (;;) {
      const i = this.#buf.indexOf(10);
      if (i >= 0) return new TextDecoder().decode(this.#take(i + 1)).replace(/\r?\n$/, "");
      if (!await this.#fill()) throw new Error("connection closed before the answer ended");
    }
  }

  /** What was read past the last answer part taken, and is no one's yet. */
  buffered(): Uint8Array {
    return this.#take(this.#buf.length);
  }

  /** The status line and headers (names lower-cased, repeated ones joined as `Headers` does). */
  async head(): Promise<{ status: number; statusText: string; headers: Map<string, string> }> {
    const m = (await this.#line()).match(/^HTTP\/1\.[01] (\d{3}) ?(.*)$/);
    if (!m) throw new Error("not an HTTP/1.1 answer");
    const headers = new Map<string, string>();
    for (let line = await this.#line(); line !== ""; line = await this.#line()) {
      const i = line.indexOf(":");
      if (i <= 0) continue;
      const name = line.slice(0, i).trim().toLowerCase(), value = line.slice(i + 1).trim();
      const had = headers.get(name);
      headers.set(name, had === undefined ? value : `${had}, ${value}`);
    }
    return { status: Number(m[1]), statusText: m[2], headers };
  }

  /** A body of `length` bytes, or up to the end of the stream when null. */
  async *sized(length: number | null): AsyncGenerator<Uint8Array> {
    let left = length ?? Infinity;
    while (left > 0) {
      if (this.#buf.length === 0 && !await this.#fill()) {
        if (length === null) return;
        throw new Error("connection closed before the answer ended");
      }
      const piece = this.#take(Math.min(left, this.#buf.length));
      left -= piece.length;
      yield piece;
    }
  }

  /** A chunked body, decoded. */
  async *chunked(): AsyncGenerator<Uint8Array> {
    for (;;) {
      const size = parseInt((await this.#line()).split(";")[0], 16);
      if (!Number.isFinite(size)) throw new Error("bad chunk size in the answer");
      if (size === 0) {
        while ((await this.#line()) !== "") { /* trailers */ }
        return;
      }
      yield* this.sized(size);
      await this.#line();
    }
  }
}
