/**
 * Where a reference lives: Docker's normalisation of an image name into a
 * registry host and a repository path (`busybox` is `library/busybox` on
 * `docker.io`), with a tag or a manifest digest.
 * @module
 */
import { parseReference, splitDigest } from "../image/mod.ts";

/** Docker Hub's name in references and credentials. */
export const DOCKER_HUB = "docker.io";
/** The host that serves Docker Hub's distribution API. */
const DOCKER_HUB_API = "registry-1.docker.io";

/** A reference resolved to a registry and a repository. */
export interface RemoteReference {
  /** The registry as users write it: "docker.io", "127.0.0.1:5000". */
  registry: string;
  /** The repository path on the registry: "library/busybox", "team/app". */
  repository: string;
  /** The name as corral's tags write it: "busybox", "127.0.0.1:5000/team/app". */
  name: string;
  /** The tag asked for; "latest" when neither a tag nor a digest was given. */
  tag?: string;
  /** The manifest digest asked for, "sha256:…". */
  digest?: string;
}

/**
 * Resolve a reference (`name[:tag]` or `name@sha256:…`); `tag`, when given,
 * is the tag or digest the API passes apart (`fromImage` and `tag`).
 *
 * @example
 * ```ts
 * remoteReference("busybox"); // docker.io, library/busybox, tag "latest"
 * remoteReference("127.0.0.1:5000/app", "v1").repository; // "app"
 * ```
 */
export function remoteReference(ref: string, tag?: string): RemoteReference {
  const full = tag ? `${ref}${tag.startsWith("sha256:") ? "@" : ":"}${tag}` : ref;
  const digested = splitDigest(full);
  const parsed = digested ? null : parseReference(full);
  const name = digested?.name ?? parsed!.name;
  const parts = name.split("/");
  const first = parts[0];
  const hasHost = parts.length > 1 &&
    (first.includes(".") || first.includes(":") || first === "localhost");
  const registry = hasHost ? first : DOCKER_HUB;
  const path = hasHost ? parts.slice(1).join("/") : name;
  const repository = !hasHost && parts.length === 1 ? `library/${path}` : path;
  return digested
    ? { registry, repository, name, digest: digested.digest }
    : { registry, repository, name, tag: parsed!.tag };
}

/**
 * The host:port that serves a registry's API.
 *
 * @example
 * ```ts
 * apiHost("docker.io"); // "registry-1.docker.io"
 * ```
 */
export function apiHost(registry: string): string {
  return registry === DOCKER_HUB ? DOCKER_HUB_API : registry;
}

/**
 * The reference as Docker's messages write it: `name:tag` or `name@digest`.
 *
 * @example
 * ```ts
 * describeReference(remoteReference("busybox")); // "busybox:latest"
 * ```
 */
export function describeReference(ref: RemoteReference): string {
  return ref.digest ? `${ref.name}@${ref.digest}` : `${ref.name}:${ref.tag}`;
}

/**
 * Whether plain HTTP is allowed for `registry`: loopback always (as Docker
 * does), others when the daemon was told (`--insecure-registry`).
 *
 * @example
 * ```ts
 * isInsecureAllowed("127.0.0.1:5000", []); // true
 * isInsecureAllowed("reg.example:5000", ["reg.example:5000"]); // true
 * ```
 */
export function isInsecureAllowed(registry: string, insecure: readonly string[]): boolean {
  const host = registry.replace(/:\d+$/, "");
  if (host === "localhost" || /^127\.\d+\.\d+\.\d+$/.test(host) || host === "[::1]") return true;
  return insecure.includes(registry) || insecure.includes(host);
}
