/**
 * Unix socket paths of any length. A socket's path must fit in sun_path
 * (108 bytes), which a state dir under a long root exceeds; the same file is
 * reachable through `/proc/PID/fd/DIRFD/NAME`, a short path, while a
 * directory fd is open.
 * @module
 */
import { O_CLOEXEC, O_RDONLY, openFd } from "./fd.ts";
import { closeFd } from "./fd.ts";

const O_DIRECTORY = 0o200000;
/** A path this long or shorter is used as it is. */
const DIRECT_MAX = 100;

/** A short path for a socket file, valid until `close`. */
export interface ShortPath {
  /** The path to bind or connect to. */
  path: string;
  /** Close the directory fd that keeps `path` valid (nothing to do for a direct path). */
  close(): void;
}

/**
 * A path of at most ~30 bytes to `dir/name` (the path itself when short
 * enough), for this process, or for another process through `pid` (runc's
 * console socket, which the shim holds open for it).
 *
 * @example
 * ```ts
 * const sock = shortSocketPath("/run/corral/containers/ID", "attach.sock");
 * try {
 *   // Deno.connect({ transport: "unix", path: sock.path }) ...
 * } finally {
 *   sock.close();
 * }
 * ```
 */
export function shortSocketPath(
  dir: string,
  name: string,
  pid: number | "self" = "self",
): ShortPath {
  const full = `${dir}/${name}`;
  if (full.length <= DIRECT_MAX) return { path: full, close: () => {} };
  const fd = openFd(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  return { path: `/proc/${pid}/fd/${fd}/${name}`, close: () => closeFd(fd) };
}
