/**
 * Extended attributes through FFI (neither Deno nor node:fs has them): the
 * overlay layer format marks an opaque directory with
 * `trusted.overlay.opaque=y`. The `l` variants never follow a symlink.
 * @module
 */
import { check, cstr, errno, ErrnoError, libc } from "./libc.ts";

const ENODATA = 61;
const MAX_VALUE = 64 * 1024;

/**
 * Set the attribute `name` of `path` (not following a symlink).
 *
 * @example
 * ```ts
 * setXattr("/layer/etc", "trusted.overlay.opaque", "y");
 * ```
 */
export function setXattr(path: string, name: string, value: string): void {
  const bytes = new TextEncoder().encode(value) as Uint8Array<ArrayBuffer>;
  check(
    "lsetxattr",
    libc().lsetxattr(cstr(path), cstr(name), bytes, BigInt(bytes.length), 0),
    `${path} ${name}`,
  );
}

/**
 * The attribute `name` of `path`, or null when it has none.
 *
 * @example
 * ```ts
 * getXattr("/layer/etc", "trusted.overlay.opaque"); // "y" or null
 * ```
 */
export function getXattr(path: string, name: string): string | null {
  const buf = new Uint8Array(MAX_VALUE);
  const n = Number(libc().lgetxattr(cstr(path), cstr(name), buf, BigInt(buf.length)));
  if (n < 0) {
    const e = errno();
    if (e === ENODATA) return null;
    throw new ErrnoError("lgetxattr", e, `${path} ${name}`);
  }
  return new TextDecoder().decode(buf.subarray(0, n));
}
