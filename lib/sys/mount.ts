/**
 * mount(2) and umount2(2) through FFI, and the mount table.
 * @module
 */
import { check, cstr, errno, ErrnoError, libc } from "./libc.ts";

/** umount2 flag: detach lazily when busy. */
export const MNT_DETACH = 2;
/** mount flag: bind mount. */
export const MS_BIND = 4096;
/** mount flag: read-only. */
export const MS_RDONLY = 1;
/** mount flag: change an existing mount's flags. */
export const MS_REMOUNT = 32;

/**
 * Mount an overlay of `lower` (top first) with `upper` and `work` on `target`.
 *
 * @example
 * ```ts
 * mountOverlay(["/var/lib/corral/layers/L1"], "/x/upper", "/x/work", "/run/corral/containers/ID/rootfs");
 * ```
 */
export function mountOverlay(lower: string[], upper: string, work: string, target: string): void {
  const opts = `lowerdir=${lower.join(":")},upperdir=${upper},workdir=${work}`;
  check(
    "mount",
    libc().mount(cstr("overlay"), cstr(target), cstr("overlay"), 0n, cstr(opts)),
    target,
  );
}

/** Unmount `target`; "not mounted" (EINVAL) and "no such path" (ENOENT) count as done. */
export function unmount(target: string, flags = 0): void {
  if (libc().umount2(cstr(target), flags) < 0) {
    const e = errno();
    if (e === 22 || e === 2) return;
    throw new ErrnoError("umount2", e, target);
  }
}

/** The mount points of this process's mount namespace. */
export function mountPoints(): string[] {
  const text = Deno.readTextFileSync("/proc/self/mountinfo");
  return text.split("\n").filter(Boolean).map((line) =>
    line.split(" ")[4].replace(/\\(\d{3})/g, (_, o) => String.fromCharCode(parseInt(o, 8)))
  );
}

/** Mount points at or below `dir`. */
export function mountsUnder(dir: string): string[] {
  const prefix = dir.endsWith("/") ? dir : dir + "/";
  return mountPoints().filter((m) => m === dir || m.startsWith(prefix));
}

/** Whether `path` is a mount point. */
export function isMountPoint(path: string): boolean {
  return mountPoints().includes(path);
}
