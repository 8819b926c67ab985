/**
 * The client side of a hijacked connection (attach, exec start with
 * stdin): the request with `Upgrade: tcp`, the daemon's `101`, then the raw
 * connection both ways. `fetch` cannot do this, so it is HTTP/1.1 by hand.
 * @module
 */
import { CorralError } from "../errdefs/mod.ts";
import { connectFailure } from "./client.ts";
import { API_VERSION } from "./version.ts";

/** A hijacked connection: the stream's first bytes (read with the head), then the connection. */
export interface Hijacked {
  conn: Deno.UnixConn;
  /** Stream bytes that came in with the response head. */
  early: Uint8Array;
  /** The stream is raw (a terminal) rather than Docker's frames. */
  raw: boolean;
}

const HEAD_MAX = 64 * 1024;

/**
 * Send `method path` with a JSON `body` on a new connection to the daemon at
 * `socketPath` and take the connection over once it answered 101 (or 200).
 *
 * @example
 * ```ts
 * const h = await hijack("/run/corral/corral.sock", "POST", "/containers/web/attach?stream=1&stdin=1&stdout=1");
 * h.conn.close();
 * ```
 */
export async function hijack(
  socketPath: string,
  method: string,
  path: string,
  body?: unknown,
): Promise<Hijacked> {
  let conn: Deno.UnixConn;
  try {
    conn = await Deno.connect({ transport: "unix", path: socketPath });
  } catch (err) {
    throw new CorralError("unavailable", connectFailure(socketPath, err));
  }
  try {
    const enc = new TextEncoder();
    const payload = body === undefined ? new Uint8Array(0) : enc.encode(JSON.stringify(body));
    const head = [
      `${method} /v${API_VERSION}${path} HTTP/1.1`,
      "Host: corral",
      "Connection: Upgrade",
      "Upgrade: tcp",
      "Content-Type: application/json",
      `Content-Length: ${payload.length}`,
    ].join("\r\n") + "\r\n\r\n";
    const request = new Uint8Array([...enc.encode(head), ...payload]);
    for (let off = 0; off < request.length;) off += await conn.write(request.subarray(off));
    const { status, headers, rest } = await readHead(conn);
    if (status === 101 || status === 200) {
      const raw = !/multiplexed/.test(headers.get("content-type") ?? "");
      return { conn, early: rest, raw };
    }
    const text = await readRest(conn, rest, Number(headers.get("content-length") ?? 0));
    let message = `${status}`;
    try {
      message = JSON.parse(text).message ?? message;
    } catch {
      // Not JSON.
    }
    const kind = status === 404
      ? "not_found"
      : status === 409
      ? "conflict"
      : status < 500
      ? "invalid"
      : "internal";
    throw new CorralError(kind, message);
  } catch (err) {
    conn.close();
    throw err;
  }
}

async function readHead(
  conn: Deno.Conn,
): Promise<{ status: number; headers: Headers; rest: Uint8Array }> {
  let buf = new Uint8Array(0);
  const chunk = new Uint8Array(4096);
  for (;;) {
    const end = indexOfBlankLine(buf);
    if (end >= 0) {
      const lines = new TextDecoder().decode(buf.subarray(0, end)).split("\r\n");
      const status = Number(lines[0].split(" ")[1]);
      const headers = new Headers();
      for (const l of lines.slice(1)) {
        const i = l.indexOf(":");
        if (i > 0) headers.append(l.slice(0, i).trim(), l.slice(i + 1).trim());
      }
      return { status, headers, rest: buf.slice(end + 4) };
    }
    if (buf.length > HEAD_MAX) throw new CorralError("internal", "the daemon's answer is too long");
    const n = await conn.read(chunk);
    if (n === null) throw new CorralError("internal", "the daemon closed the connection");
    const merged = new Uint8Array(buf.length + n);
    merged.set(buf);
    merged.set(chunk.subarray(0, n), buf.length);
    buf = merged;
  }
}

function indexOfBlankLine(b: Uint8Array): number {
  for (let i = 0; i + 3 < b.length; i++) {
    if (b[i] === 13 && b[i + 1] === 10 && b[i + 2] === 13 && b[i + 3] === 10) return i;
  }
  return -1;
}

async function readRest(conn: Deno.Conn, rest: Uint8Array, length: number): Promise<string> {
  const parts = [rest];
  let have = rest.length;
  const chunk = new Uint8Array(4096);
  while (have < length) {
    const n = await conn.read(chunk);
    if (n === null) break;
    parts.push(chunk.slice(0, n));
    have += n;
  }
  const all = new Uint8Array(have);
  let at = 0;
  for (const p of parts) {
    all.set(p, at);
    at += p.length;
  }
  return new TextDecoder().decode(all);
}
