/**
 * Whiteouts: how a layer deletes what the layers below it have. In a layer
 * archive (Docker and OCI) a deleted `name` is an empty file `.wh.name` next
 * to it, and a directory whose lower content is hidden holds `.wh..wh..opq`.
 * On disk, as an overlayfs lower layer, a deleted name is a 0:0 character
 * device and an opaque directory has the xattr `trusted.overlay.opaque=y`.
 * @module
 */
import { cleanEntryPath } from "./path.ts";

/** Name prefix of a whiteout file in a layer archive. */
export const WHITEOUT_PREFIX = ".wh.";
/** Name of the opaque-directory marker in a layer archive. */
export const OPAQUE_MARKER = ".wh..wh..opq";
/** The overlayfs xattr of an opaque directory. */
export const OPAQUE_XATTR = "trusted.overlay.opaque";

/** What a whiteout entry of an archive means. */
export type Whiteout =
  | { kind: "opaque"; dir: string }
  | { kind: "remove"; path: string }
  // aufs bookkeeping (`.wh..wh.plnk`, ...): no meaning for overlay.
  | { kind: "meta" };

/**
 * The meaning of an archive path if it is a whiteout, else null. Paths come
 * back cleaned (relative, "" for the root).
 *
 * @example
 * ```ts
 * parseWhiteout("etc/.wh.passwd"); // { kind: "remove", path: "etc/passwd" }
 * parseWhiteout("var/cache/.wh..wh..opq"); // { kind: "opaque", dir: "var/cache" }
 * parseWhiteout("etc/passwd"); // null
 * ```
 */
export function parseWhiteout(path: string): Whiteout | null {
  const clean = cleanEntryPath(path);
  const slash = clean.lastIndexOf("/");
  const dir = slash === -1 ? "" : clean.slice(0, slash);
  const base = clean.slice(slash + 1);
  if (base === OPAQUE_MARKER) return { kind: "opaque", dir };
  if (base.startsWith(WHITEOUT_PREFIX + WHITEOUT_PREFIX)) return { kind: "meta" };
  if (!base.startsWith(WHITEOUT_PREFIX) || base.length === WHITEOUT_PREFIX.length) return null;
  const name = base.slice(WHITEOUT_PREFIX.length);
  return { kind: "remove", path: dir === "" ? name : `${dir}/${name}` };
}

/**
 * The archive path of the whiteout for a deleted path.
 *
 * @example
 * ```ts
 * whiteoutPath("etc/passwd"); // "etc/.wh.passwd"
 * ```
 */
export function whiteoutPath(path: string): string {
  const slash = path.lastIndexOf("/");
  return `${path.slice(0, slash + 1)}${WHITEOUT_PREFIX}${path.slice(slash + 1)}`;
}
