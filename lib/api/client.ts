/**
 * The API client over the unix socket, used by the CLI and the tests.
 * @module
 */
import { CorralError, type ErrorKind } from "../errdefs/mod.ts";

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
  readonly #http: Deno.HttpClient;

  constructor(host: string) {
    this.path = socketPath(host);
    this.#http = Deno.createHttpClient({ proxy: { transport: "unix", path: this.path } });
  }

  /** Send a request; a connection failure becomes a clear "is it running?" error. */
  async request(
    method: string,
    path: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ): Promise<Response> {
    const init: RequestInit & { client: Deno.HttpClient } = { method, client: this.#http };
    init.headers = { ...headers };
    if (body instanceof ReadableStream || body instanceof Uint8Array) {
      init.body = body as BodyInit;
      init.headers["content-type"] = "application/octet-stream";
    } else if (body !== undefined) {
      init.body = JSON.stringify(body);
      init.headers["content-type"] = "application/json";
    }
    try {
      // The host is never dialled (the unix socket is), but a name would still be
      // looked up in DNS on every new connection: ~1 ms, and 5 s when the resolver
      // times out. An IP literal is never looked up.
      return await fetch(`http://127.0.0.1/v1.43${path}`, init);
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
      let message = `${res.status} ${res.statusText}`;
      try {
        message = (await res.json()).message ?? message;
      } catch {
        // Not JSON.
      }
      throw new CorralError(kindOfStatus[res.status] ?? "internal", message);
    }
    return res;
  }

  /** Send a request and parse the JSON answer. */
  async json<T = unknown>(method: string, path: string, body?: unknown): Promise<T> {
    const res = await this.call(method, path, body);
    if (res.status === 204 || res.status === 304) {
      await res.body?.cancel();
      return undefined as T;
    }
    return await res.json() as T;
  }

  /** Close the connection pool. */
  close(): void {
    this.#http.close();
  }
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
