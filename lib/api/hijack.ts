/**
 * The client side of a hijacked connection (attach, exec start with
 * stdin): the request with `Upgrade: tcp`, the daemon's `101`, then the raw
 * connection both ways (`fetch` cannot do this: http1.ts's `requestUpgrade`).
 * @module
 */
import { CorralError } from "../errdefs/mod.ts";
import { connectFailure } from "./client.ts";
import { requestUpgrade } from "./http1.ts";
import { API_VERSION } from "./version.ts";

/** A hijacked connection: the stream's first bytes (read with the head), then the connection. */
export interface Hijacked {
  conn: Deno.UnixConn;
  /** Stream bytes that came in with the response head. */
  early: Uint8Array;
  /** The stream is raw (a terminal) rather than Docker's frames. */
  raw: boolean;
}

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
    const answer = await requestUpgrade(conn, {
      method,
      target: `/v${API_VERSION}${path}`,
      headers: { upgrade: "tcp", "content-type": "application/json" },
      body: body === undefined ? undefined : new TextEncoder().encode(JSON.stringify(body)),
    });
    const { status, headers } = answer;
    if (status === 101 || status === 200) {
      const raw = !/multiplexed/.test(headers.get("content-type") ?? "");
      return { conn, early: answer.early(), raw };
    }
    const text = await answer.text();
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
    if (err instanceof CorralError) throw err;
    throw new CorralError("internal", `the daemon's answer: ${(err as Error).message}`);
  }
}
