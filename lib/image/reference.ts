/**
 * Image references ("name[:tag]") under Docker's rules: a lowercase name made
 * of "/"-separated components, an optional registry host first, a tag of
 * word characters, dots and dashes; `name@sha256:…` names a pulled image by
 * its manifest digest.
 * @module
 */
import { invalid } from "../errdefs/mod.ts";

/** A parsed reference. */
export interface ImageReference {
  /** e.g. "library/busybox" or "localhost:5000/app". */
  name: string;
  /** "latest" when none was written. */
  tag: string;
}

/** The tag a reference without one gets. */
export const DEFAULT_TAG = "latest";

const MAX_NAME = 255;
const COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const DOMAIN_LABEL = "(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])";
const DOMAIN = new RegExp(`^${DOMAIN_LABEL}(?:\\.${DOMAIN_LABEL})*(?::[0-9]+)?$`);
const TAG = /^[\w][\w.-]{0,127}$/;
const FULL_ID = /^[0-9a-f]{64}$/;
const DIGEST = /^sha256:[0-9a-f]{64}$/;

/** A reference by manifest digest: `name@sha256:…`. */
export interface DigestReference {
  /** The name as tags have it (Docker Hub's long forms shortened). */
  name: string;
  /** "sha256:" + 64 hex. */
  digest: string;
}

/**
 * Parse a reference, or explain what is wrong with it.
 *
 * @example
 * ```ts
 * tryParseReference("busybox"); // { name: "busybox", tag: "latest" }
 * tryParseReference("docker.io/library/busybox:1"); // { name: "busybox", tag: "1" }
 * tryParseReference("Busybox"); // "repository name must be lowercase"
 * ```
 */
export function tryParseReference(ref: string): ImageReference | string {
  if (ref === "") return "empty reference";
  if (ref.includes("@")) return "digest references are not supported";
  const colon = ref.lastIndexOf(":");
  const hasTag = colon > ref.lastIndexOf("/");
  const name = hasTag ? ref.slice(0, colon) : ref;
  const tag = hasTag ? ref.slice(colon + 1) : DEFAULT_TAG;
  if (!TAG.test(tag)) return `invalid tag "${tag}"`;
  if (name.length > MAX_NAME) {
    return `repository name must not be longer than ${MAX_NAME} characters`;
  }
  if (FULL_ID.test(name)) return "repository name must not be a 64-character hexadecimal id";
  const parts = name.split("/");
  // A first component that looks like a host is a registry, as in Docker.
  const first = parts[0];
  const isDomain = parts.length > 1 &&
    (first.includes(".") || first.includes(":") || first === "localhost");
  if (isDomain && !DOMAIN.test(first)) return `invalid registry host "${first}"`;
  for (const part of isDomain ? parts.slice(1) : parts) {
    if (COMPONENT.test(part)) continue;
    if (COMPONENT.test(part.toLowerCase())) return "repository name must be lowercase";
    return `invalid repository name "${name}"`;
  }
  return { name: familiarName(name), tag };
}

/**
 * Docker Hub's long forms name the same image as the short one: the docker
 * CLI sends "docker.io/library/busybox" for "busybox".
 */
function familiarName(name: string): string {
  const short = name.replace(/^(?:docker\.io|index\.docker\.io)\//, "");
  return short.startsWith("library/") && short.split("/").length === 2 ? short.slice(8) : short;
}

/**
 * Parse a reference; a malformed one is an `invalid` error.
 *
 * @example
 * ```ts
 * parseReference("localhost:5000/app:v1"); // { name: "localhost:5000/app", tag: "v1" }
 * parseReference("../x"); // throws invalid
 * ```
 */
export function parseReference(ref: string): ImageReference {
  const parsed = tryParseReference(ref);
  if (typeof parsed === "string") throw invalid(`invalid reference format "${ref}": ${parsed}`);
  return parsed;
}

/**
 * The "name:tag" key of a reference.
 *
 * @example
 * ```ts
 * formatReference(parseReference("busybox")); // "busybox:latest"
 * ```
 */
export function formatReference(ref: ImageReference): string {
  return `${ref.name}:${ref.tag}`;
}

/**
 * Split `name[:tag]@sha256:…` (the tag is ignored, as Docker does); null for
 * a reference without a digest, an `invalid` error for a malformed one.
 *
 * @example
 * ```ts
 * splitDigest(`docker.io/library/busybox@sha256:${"a".repeat(64)}`)?.name; // "busybox"
 * splitDigest("busybox:1"); // null
 * ```
 */
export function splitDigest(ref: string): DigestReference | null {
  const at = ref.indexOf("@");
  if (at < 0) return null;
  const digest = ref.slice(at + 1);
  if (!DIGEST.test(digest)) {
    throw invalid(`invalid reference format "${ref}": the digest must be sha256:<64 hex>`);
  }
  return { name: parseReference(ref.slice(0, at)).name, digest };
}
