/**
 * One registry's distribution API (`/v2/…`) for one user: the scheme (HTTPS,
 * or plain HTTP where allowed), the auth round trip (a 401 answered with
 * Basic credentials or a Bearer token for the repository's scope, then the
 * request again), and the registry's errors in the user's terms.
 * @module
 */
import {
  CorralError,
  errorMessage,
  invalid,
  notFound,
  unauthorized,
  unavailable,
} from "../errdefs/mod.ts";
import {
  basicAuthorization,
  type Challenge,
  type Credentials,
  fetchToken,
  parseChallenge,
} from "./auth.ts";
import { apiHost, isInsecureAllowed } from "./reference.ts";

/** How a client reaches its registry. */
export interface ClientOptions {
  /** Registries (host[:port]) reached over plain HTTP besides loopback. */
  insecureRegistries?: readonly string[];
  /** The fetch used (tests count requests through it). */
  fetcher?: typeof fetch;
}

/** A request to the registry. */
export interface RegistryRequest {
  method?: string;
  headers?: Record<string, string>;
  body?: BodyInit | null;
  /** The token scope: `repository:NAME:pull` or `…:pull,push`. */
  scope?: string;
}

/**
 * A client of one registry.
 *
 * @example
 * ```ts
 * const client = new RegistryClient("127.0.0.1:5000", null);
 * const res = await client.request("/v2/app/manifests/latest", { scope: "repository:app:pull" });
 * ```
 */
export class RegistryClient {
  readonly #host: string;
  readonly #creds: Credentials | null;
  readonly #insecure: boolean;
  readonly #fetch: typeof fetch;
  #base: string | null = null;
  #challenge: Challenge | null = null;
  /** Authorization header by scope ("" for Basic, which has none). */
  readonly #auth = new Map<string, string>();

  constructor(readonly registry: string, creds: Credentials | null, opts: ClientOptions = {}) {
    this.#host = apiHost(registry);
    this.#creds = creds;
    this.#insecure = isInsecureAllowed(registry, opts.insecureRegistries ?? []);
    this.#fetch = opts.fetcher ?? fetch;
  }

  /**
   * Send a request (a path under the registry, or an absolute URL the
   * registry gave, such as an upload location), authenticating on a 401.
   * A 401 after that is an `unauthorized` error; other statuses are the
   * caller's to read.
   */
  async request(path: string, req: RegistryRequest = {}): Promise<Response> {
    const scope = req.scope ?? "";
    let res = await this.#send(
      path,
      req,
      this.#auth.get(this.#challenge?.scheme === "basic" ? "" : scope),
    );
    if (res.status !== 401) return res;
    const challenge = parseChallenge(res.headers.get("www-authenticate"));
    const message = await registryMessage(res);
    if (!challenge) throw unauthorized(`unauthorized: ${message}`);
    this.#challenge = challenge;
    const auth = await this.#authorize(challenge, scope);
    if (req.body instanceof ReadableStream) {
      throw unauthorized(`unauthorized: ${message} (a streamed upload cannot be sent again)`);
    }
    res = await this.#send(path, req, auth);
    if (res.status === 401) {
      throw unauthorized(
        `unauthorized: ${await registryMessage(res)}` +
          (this.#creds ? "" : ` (log in first: corral login ${this.registry})`),
      );
    }
    return res;
  }

  /** The absolute URL of a path, or of a location the registry answered. */
  async url(pathOrUrl: string): Promise<URL> {
    return new URL(pathOrUrl, await this.#baseUrl());
  }

  /** Check the user can log in: `/v2/` answered with the user's credentials. */
  async login(): Promise<void> {
    const res = await this.request("/v2/");
    await res.body?.cancel();
    if (!res.ok) throw unavailable(`registry ${this.registry} answered ${res.status} on /v2/`);
    // A registry that asks nothing checks nothing: Docker accepts the login then too.
    if (this.#challenge?.scheme === "bearer" && this.#creds) {
      await fetchToken(this.#challenge, null, this.#creds, this.#fetch);
    }
  }

  async #authorize(challenge: Challenge, scope: string): Promise<string> {
    if (challenge.scheme === "basic") {
      if (!this.#creds) {
        throw unauthorized(
          `unauthorized: registry ${this.registry} requires a login (corral login ${this.registry})`,
        );
      }
      const auth = basicAuthorization(this.#creds);
      this.#auth.set("", auth);
      return auth;
    }
    const auth = `Bearer ${await fetchToken(challenge, scope || null, this.#creds, this.#fetch)}`;
    this.#auth.set(scope, auth);
    return auth;
  }

  async #send(path: string, req: RegistryRequest, auth?: string): Promise<Response> {
    const url = await this.url(path);
    const headers: Record<string, string> = { ...req.headers };
    // Credentials go only to the registry, never to a location elsewhere.
    if (auth && url.host === new URL(await this.#baseUrl()).host) headers.authorization = auth;
    try {
      return await this.#fetch(url, { method: req.method ?? "GET", headers, body: req.body });
    } catch (err) {
      throw unreachable(this.registry, err);
    }
  }

  /** HTTPS, or plain HTTP for a registry allowed to be insecure that does not speak TLS. */
  async #baseUrl(): Promise<string> {
    if (this.#base) return this.#base;
    const https = `https://${this.#host}`;
    if (!this.#insecure) return this.#base = https;
    try {
      const res = await this.#fetch(`${https}/v2/`);
      await res.body?.cancel();
      return this.#base = https;
    } catch {
      return this.#base = `http://${this.#host}`;
    }
  }
}

/** A connection failure, in the user's terms. */
export function unreachable(registry: string, err: unknown): CorralError {
  const causes: string[] = [];
  for (let e: unknown = err; e instanceof Error && causes.length < 4; e = e.cause) {
    causes.push(e.message);
  }
  return unavailable(`registry ${registry} unreachable: ${causes.join(": ") || errorMessage(err)}`);
}

/**
 * The registry's own words for an error answer: the `message` of each entry
 * of the distribution spec's `{"errors": [...]}`, else the status.
 *
 * @example
 * ```ts
 * await registryMessage(new Response('{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown"}]}', { status: 404 }));
 * // "manifest unknown"
 * ```
 */
export async function registryMessage(res: Response): Promise<string> {
  const text = await res.text().catch(() => "");
  try {
    const doc = JSON.parse(text) as { errors?: { message?: string; code?: string }[] };
    const messages = (doc.errors ?? []).map((e) => e.message || e.code).filter(Boolean);
    if (messages.length) return messages.join("; ");
  } catch {
    // Not the spec's JSON.
  }
  return `${res.status} ${res.statusText}`.trim();
}

/**
 * An error answer as a typed error: 401/403 `unauthorized`, 404 `not_found`
 * (with `notFoundText` first), anything else `unavailable`; the registry's
 * message is kept.
 *
 * @example
 * ```ts
 * declare const res: Response;
 * throw await answerError(res, "manifest for app:1 not found");
 * ```
 */
export async function answerError(res: Response, notFoundText: string): Promise<CorralError> {
  const message = await registryMessage(res);
  if (res.status === 404) return notFound(`${notFoundText}: ${message}`);
  if (res.status === 401 || res.status === 403) return unauthorized(`unauthorized: ${message}`);
  if (res.status === 400 || res.status === 415) return invalid(`registry: ${message}`);
  return unavailable(`registry answered ${res.status}: ${message}`);
}
