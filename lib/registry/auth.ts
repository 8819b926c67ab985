/**
 * Registry credentials: the `X-Registry-Auth` header Docker clients send,
 * the `WWW-Authenticate` challenges of the distribution spec (Basic, and
 * Bearer with its token server), and the tokens fetched for them.
 * @module
 */
import { errorMessage, invalid, unauthorized, unavailable } from "../errdefs/mod.ts";

/** A user's credentials for one registry. */
export interface Credentials {
  username: string;
  password: string;
}

/** A parsed `WWW-Authenticate` challenge. */
export interface Challenge {
  scheme: "basic" | "bearer";
  /** Its parameters (realm, service, scope), by lower-case name. */
  params: Record<string, string>;
}

/**
 * The credentials of an `X-Registry-Auth` header (base64url JSON with
 * `username` and `password`, as the docker CLI and the SDKs send it); null
 * for no header, an empty one or one without a user name.
 *
 * @example
 * ```ts
 * const header = btoa(JSON.stringify({ username: "u", password: "p" }));
 * decodeRegistryAuth(header); // { username: "u", password: "p" }
 * ```
 */
export function decodeRegistryAuth(header: string | null): Credentials | null {
  if (!header || header.trim() === "") return null;
  let doc: { username?: unknown; password?: unknown };
  try {
    const b64 = header.trim().replaceAll("-", "+").replaceAll("_", "/");
    doc = JSON.parse(new TextDecoder().decode(
      Uint8Array.from(atob(b64.padEnd(Math.ceil(b64.length / 4) * 4, "=")), (c) => c.charCodeAt(0)),
    ));
  } catch {
    throw invalid("X-Registry-Auth: not base64-encoded JSON");
  }
  if (typeof doc?.username !== "string" || doc.username === "") return null;
  return { username: doc.username, password: typeof doc.password === "string" ? doc.password : "" };
}

/**
 * The header value for `creds`: what {@linkcode decodeRegistryAuth} reads.
 *
 * @example
 * ```ts
 * encodeRegistryAuth({ username: "u", password: "p" }, "127.0.0.1:5000");
 * ```
 */
export function encodeRegistryAuth(creds: Credentials, serveraddress: string): string {
  const json = JSON.stringify({ ...creds, serveraddress });
  const bytes = new TextEncoder().encode(json);
  return btoa(String.fromCharCode(...bytes)).replaceAll("+", "-").replaceAll("/", "_");
}

/**
 * The first challenge corral can answer in a `WWW-Authenticate` header, or
 * null.
 *
 * @example
 * ```ts
 * parseChallenge('Bearer realm="http://127.0.0.1:1/token",service="reg"')?.params.realm;
 * ```
 */
export function parseChallenge(header: string | null): Challenge | null {
  if (!header) return null;
  const m = /^\s*(basic|bearer)\b\s*(.*)$/i.exec(header);
  if (!m) return null;
  const params: Record<string, string> = {};
  for (const p of m[2].matchAll(/([a-zA-Z_]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^,\s]*))/g)) {
    params[p[1].toLowerCase()] = p[2] !== undefined ? p[2].replace(/\\(.)/g, "$1") : p[3];
  }
  return { scheme: m[1].toLowerCase() as "basic" | "bearer", params };
}

/**
 * The `Authorization` header for a Basic challenge.
 *
 * @example
 * ```ts
 * basicAuthorization({ username: "u", password: "p" }); // "Basic dTpw"
 * ```
 */
export function basicAuthorization(creds: Credentials): string {
  const bytes = new TextEncoder().encode(`${creds.username}:${creds.password}`);
  return `Basic ${btoa(String.fromCharCode(...bytes))}`;
}

/**
 * A bearer token from the challenge's token server for `scope` (none: just
 * the login check), with the user's credentials when there are some.
 *
 * @example
 * ```ts
 * declare const challenge: Challenge;
 * const token = await fetchToken(challenge, "repository:app:pull", null);
 * ```
 */
export async function fetchToken(
  challenge: Challenge,
  scope: string | null,
  creds: Credentials | null,
  fetcher: typeof fetch = fetch,
): Promise<string> {
  const realm = challenge.params.realm;
  if (!realm) throw invalid("registry: a Bearer challenge without a realm");
  let url: URL;
  try {
    url = new URL(realm);
  } catch {
    throw invalid(`registry: invalid token realm ${JSON.stringify(realm)}`);
  }
  if (challenge.params.service) url.searchParams.set("service", challenge.params.service);
  if (scope) url.searchParams.set("scope", scope);
  const headers: Record<string, string> = {};
  if (creds) headers.authorization = basicAuthorization(creds);
  let res: Response;
  try {
    res = await fetcher(url, { headers });
  } catch (err) {
    throw unavailable(`token server ${url.host} unreachable: ${errorMessage(err)}`);
  }
  if (res.status === 401 || res.status === 403) {
    await res.body?.cancel();
    throw unauthorized(`unauthorized: the token server ${url.host} refused the credentials`);
  }
  if (!res.ok) {
    await res.body?.cancel();
    throw unavailable(`token server ${url.host} answered ${res.status}`);
  }
  const doc = await res.json().catch(() => null) as { token?: unknown; access_token?: unknown };
  const token = doc?.token ?? doc?.access_token;
  if (typeof token !== "string" || token === "") {
    throw invalid(`token server ${url.host} gave no token`);
  }
  return token;
}
