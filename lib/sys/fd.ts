/**
 * Raw file descriptors: open/close/read/write and fifos, for the fds that the
 * supervisor hands to epoll (Deno's own files cannot be polled).
 * @module
 */
import { check, cstr, errno, ErrnoError, libc } from "./libc.ts";

/** open(2) flags used by corral. */
export const O_RDONLY = 0;
/** Open for writing only. */
export const O_WRONLY = 1;
/** Open for reading and writing. */
export const O_RDWR = 2;
/** Never block on open/read. */
export const O_NONBLOCK = 0o4000;
/** Close on exec: never leak into runc or the container. */
export const O_CLOEXEC = 0o2000000;

/**
 * Open a path and return the fd.
 *
 * @example
 * ```ts
 * const fd = openFd("/run/corral/containers/ID/exit_fifo", O_RDONLY | O_NONBLOCK | O_CLOEXEC);
 * ```
 */
export function openFd(path: string, flags: number, mode = 0o600): number {
  return check("open", libc().open(cstr(path), flags, mode), path);
}

/** Close an fd; errors are ignored except EBADF, which means a double close bug. */
export function closeFd(fd: number): void {
  if (libc().close(fd) < 0 && errno() === 9) throw new ErrnoError("close", 9, String(fd));
}

/** Read up to `buf.length` bytes; returns 0 at EOF, -1 for EAGAIN. */
export function readFd(fd: number, buf: Uint8Array<ArrayBuffer>): number {
  const n = Number(libc().read(fd, buf, BigInt(buf.length)));
  if (n < 0) {
    const e = errno();
    if (e === 11) return -1;
    throw new ErrnoError("read", e);
  }
  return n;
}

/**
 * Write what a non-blocking fd takes of `buf` now: the bytes written, -1 for
 * EAGAIN (full: wait and retry).
 *
 * @example
 * ```ts
 * declare const fd: number;
 * const n = writeSomeFd(fd, new TextEncoder().encode("ls\n"));
 * ```
 */
export function writeSomeFd(fd: number, buf: Uint8Array<ArrayBuffer>): number {
  const n = Number(libc().write(fd, buf, BigInt(buf.length)));
  if (n < 0) {
    const e = errno();
    if (e === 11) return -1;
    throw new ErrnoError("write", e);
  }
  return n;
}

/** Write all of `buf` to an fd. */
export function writeFd(fd: number, buf: Uint8Array<ArrayBuffer>): void {
  check("write", libc().write(fd, buf, BigInt(buf.length)));
}

/**
 * Create a fifo; an existing fifo at the path is reused (a restart of the
 * same container keeps its path).
 */
export function mkfifo(path: string, mode = 0o600): void {
  if (libc().mkfifo(cstr(path), mode) < 0) {
    const e = errno();
    if (e === 17) return;
    throw new ErrnoError("mkfifo", e, path);
  }
}

/** The file type bits (S_IF*) of the special files {@linkcode mknod} creates. */
export const NODE_TYPES = { fifo: 0o010000, char: 0o020000, block: 0o060000 } as const;

/**
 * Create a device node or a fifo (mknod(2)); the umask applies to `mode`.
 *
 * @example
 * ```ts
 * mknod("/tmp/layer/dev/null", "char", 0o666, 1, 3);
 * ```
 */
export function mknod(
  path: string,
  type: keyof typeof NODE_TYPES,
  mode: number,
  major = 0,
  minor = 0,
): void {
  const dev = makedev(major, minor);
  check("mknod", libc().mknod(cstr(path), NODE_TYPES[type] | (mode & 0o7777), dev), path);
}

/**
 * A device number from its major and minor, as glibc's makedev(3) packs them.
 *
 * @example
 * ```ts
 * makedev(8, 1); // 2049n (/dev/sda1)
 * ```
 */
export function makedev(major: number, minor: number): bigint {
  const [ma, mi] = [BigInt(major), BigInt(minor)];
  return ((ma & 0xfffff000n) << 32n) | ((ma & 0xfffn) << 8n) | ((mi & 0xffffff00n) << 12n) |
    (mi & 0xffn);
}

/** Take an exclusive, non-blocking flock on a file; false if someone else holds it. */
export function tryLockFile(path: string): number | null {
  const fd = openFd(path, O_RDWR | O_CLOEXEC | 0o100, /* O_CREAT */ 0o600);
  if (libc().flock(fd, 2 | 4 /* LOCK_EX | LOCK_NB */) < 0) {
    const e = errno();
    closeFd(fd);
    if (e === 11) return null;
    throw new ErrnoError("flock", e, path);
  }
  return fd;
}

/**
 * Flush the whole filesystem that holds `dir` (syncfs(2)): every file and
 * directory entry written there reaches the disk in one call, where a tree
 * of thousands of files would otherwise need an fsync each.
 *
 * @example
 * ```ts
 * await syncFilesystem("/var/lib/corral/images/tmp");
 * ```
 */
export async function syncFilesystem(dir: string): Promise<void> {
  const fd = openFd(dir, O_RDONLY | O_CLOEXEC);
  try {
    // errno belongs to the worker thread that ran the call: report the call only.
    if (await libc().syncfs(fd) < 0) throw new Error(`syncfs ${dir} failed`);
  } finally {
    closeFd(fd);
  }
}
