/**
 * The API client over the unix socket, used by the CLI and the tests.
 * @module
 */
import { CorralError, type ErrorKind } from "../errdefs/mod.ts";
import { type UnixRequest, unixRequest, unixRequestWhole } from "./http1.ts";

/** Default daemon socket. */
export const DEFAULT_HOST = "unix:///run/corral/corral.sock";

/** The socket path of a `unix://PATH` host string. */
export function socketPath(host: string): string {
  if (!host.startsWith("unix://")) {
    throw new CorralError("invalid", `unsupported host "${host}": use unix:///path/to/socket`);
  }
  return host.slice("unix://".length);
}

const kindOfStatus: Record<number, ErrorKind> = {
  400: "invalid",
  401: "unauthorized",
  404: "not_found",
  409: "conflict",
  503: "unavailable",
};

/**
 * A client of one daemon.
 *
 * @example
 * ```ts
 * const api = new ApiClient("unix:///run/corral/corral.sock");
 * const list = await api.json("GET", "/containers/json?all=1");
 * ```
 */
export class ApiClient {
  readonly path: string;
  /** Connections of answers still being read: `close` ends them. */
  readonly #open = new Set<Deno.Conn>();

  constructor(host: string) {
    this.path = socketPath(host);
  }

  /** Send a request; a connection failure becomes a clear "is it running?" error. */
  async request(
    method: string,
    path: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ): Promise<Response> {
    const req = this.#request(method, path, body, headers);
    try {
      return await unixRequest(this.path, req, this.#open);
    } catch (err) {
      throw new CorralError("unavailable", connectFailure(this.path, err));
    }
  }

  /** Send a request and throw the daemon's message on an error status. */
  async call(
    method: string,
    path: string,
    body?: unknown,
    headers?: Record<string, string>,
  ): Promise<Response> {
    const res = await this.request(method, path, body, headers);
    if (res.status >= 400) {
      throw answerError(res.status, res.statusText, await res.text().catch(() => ""));
    }
    return res;
  }

  /**
   * Send a request and parse the JSON answer, read whole (no stream: the
   * CLI's usual call stays cheap); the daemon's message on an error status.
   */
  async json<T = unknown>(method: string, path: string, body?: unknown): Promise<T> {
    let a;
    try {
      a = await unixRequestWhole(this.path, this.#request(method, path, body, {}));
    } catch (err) {
      throw new CorralError("unavailable", connectFailure(this.path, err));
    }
    const text = new TextDecoder().decode(a.body);
    if (a.status >= 400) throw answerError(a.status, a.statusText, text);
    if (a.status === 204 || a.status === 304) return undefined as T;
    return JSON.parse(text) as T;
  }

  /** The request of a call: JSON for a value, raw bytes or a stream as they are. */
  #request(
    method: string,
    path: string,
    body: unknown,
    headers: Record<string, string>,
  ): UnixRequest {
    const req: UnixRequest = { method, target: `/v1.43${path}`, headers: { ...headers } };
    if (body instanceof ReadableStream || body instanceof Uint8Array) {
      req.body = body;
      req.headers!["content-type"] = "application/octet-stream";
    } else if (body !== undefined) {
      req.body = new TextEncoder().encode(JSON.stringify(body));
      req.headers!["content-type"] = "application/json";
    }
    return req;
  }

  /** Close the connections of answers still being read. */
  close(): void {
    for (const conn of this.#open) conn.close();
    this.#open.clear();
  }
}

/** An error status as the daemon's error: its JSON `message`, else the status line. */
function answerError(status: number, statusText: string, body: string): CorralError {
  let message = `${status} ${statusText}`;
  try {
    message = JSON.parse(body).message ?? message;
  } catch {
    // Not JSON.
  }
  return new CorralError(kindOfStatus[status] ?? "internal", message);
}

/**
 * Why the socket could not be reached, in the user's terms.
 *
 * @example
 * ```ts
 * const err = new TypeError("client error", { cause: new Error("Permission denied (os error 13)") });
 * connectFailure("/run/corral/corral.sock", err); // "permission denied while connecting ..."
 * ```
 */
export function connectFailure(path: string, err: unknown): string {
  const causes: string[] = [];
  for (let e: unknown = err; e instanceof Error && causes.length < 5; e = e.cause) {
    causes.push(e.message);
  }
  // A socket that is there but not for this user is not a daemon that is down.
  if (/permission denied|os error 13/i.test(causes.join(" "))) {
    return `permission denied while connecting to the corral daemon socket at ${path}`;
  }
  return `cannot connect to corral daemon at ${path}: is it running?`;
}
