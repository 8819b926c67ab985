/**
 * mount(2) and umount2(2) through FFI, and the mount table.
 * @module
 */
import { check, cstr, errno, ErrnoError, libc } from "./libc.ts";

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

/** mount(2) flags corral uses. */
export const MS = {
  RDONLY: 1,
  NOSUID: 2,
  NODEV: 4,
  NOEXEC: 8,
  REMOUNT: 32,
  BIND: 4096,
  REC: 16384,
} as const;

/**
 * mount(2): `fstype` on `target` from `source` with `flags` (bits of
 * {@linkcode MS}) and the filesystem's `data` options.
 *
 * @example
 * ```ts
 * mountFs("tmpfs", "/var/lib/corral/volumes/cache/_data", "tmpfs", 0, "size=64m");
 * mountFs("/srv/data", "/var/lib/corral/volumes/data/_data", "", MS.BIND | MS.REC);
 * ```
 */
export function mountFs(
  source: string,
  target: string,
  fstype: string,
  flags: number,
  data = "",
): void {
  check(
    "mount",
    libc().mount(cstr(source), cstr(target), cstr(fstype), BigInt(flags), cstr(data)),
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

/** One mount of this process's mount namespace. */
export interface MountEntry {
  /** The mount point, with mountinfo's octal escapes (`\040`) decoded. */
  point: string;
  fstype: string;
}

/**
 * The mounts of this process's mount namespace, from `/proc/self/mountinfo`.
 *
 * @example
 * ```ts
 * const cgroupFs = mountTable().filter((m) => m.fstype === "cgroup2");
 * ```
 */
export function mountTable(): MountEntry[] {
  const text = Deno.readTextFileSync("/proc/self/mountinfo");
  return text.split("\n").filter(Boolean).map((line) => ({
    point: line.split(" ")[4].replace(/\\(\d{3})/g, (_, o) => String.fromCharCode(parseInt(o, 8))),
    // The filesystem type is the first field after the " - " separator.
    fstype: line.slice(line.indexOf(" - ") + 3).split(" ")[0],
  }));
}

/** The mount points of this process's mount namespace. */
export function mountPoints(): string[] {
  return mountTable().map((m) => m.point);
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
