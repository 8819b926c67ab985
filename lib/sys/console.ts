/**
 * Terminals: the console socket runc sends a pty master over (SCM_RIGHTS),
 * and the window size of a pty. Everything is non-blocking and synchronous:
 * runc has queued its message before `runc create` (or `runc exec -d`)
 * returns, so the caller accepts it afterwards without waiting on a thread.
 * @module
 */
import { check, cstr, errno, ErrnoError, libc } from "./libc.ts";
import { closeFd } from "./fd.ts";

const AF_UNIX = 1;
const SOCK_STREAM = 1;
const SOCK_NONBLOCK = 0o4000;
const SOCK_CLOEXEC = 0o2000000;
const MSG_CMSG_CLOEXEC = 0x40000000;
const SOL_SOCKET = 1;
const SCM_RIGHTS = 1;
const TIOCSWINSZ = 0x5414n;
const F_GETFL = 3;
const F_SETFL = 4;
const O_NONBLOCK = 0o4000;
const EAGAIN = 11;
/** sun_path's size in struct sockaddr_un. */
const SUN_PATH_MAX = 108;

/**
 * A listening unix stream socket at `path` (non-blocking, close-on-exec), for
 * runc's `--console-socket`. The caller closes the fd and removes the path.
 *
 * @example
 * ```ts
 * const fd = listenUnix("/run/corral/containers/ID/console.sock");
 * ```
 */
export function listenUnix(path: string): number {
  const name = cstr(path);
  if (name.length > SUN_PATH_MAX) throw new Error(`socket path too long: ${path}`);
  const addr = new Uint8Array(2 + SUN_PATH_MAX);
  new DataView(addr.buffer).setUint16(0, AF_UNIX, true);
  addr.set(name, 2);
  const fd = check("socket", libc().socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  try {
    check("bind", libc().bind(fd, addr, 2 + name.length), path);
    check("listen", libc().listen(fd, 4), path);
  } catch (err) {
    closeFd(fd);
    throw err;
  }
  return fd;
}

/**
 * Accept one connection on `listenFd` and take the fd its sender passed with
 * SCM_RIGHTS (runc's pty master), close-on-exec; null when no one has
 * connected yet.
 *
 * @example
 * ```ts
 * declare const consoleFd: number;
 * const master = receiveFd(consoleFd); // after `runc create --console-socket`
 * ```
 */
export function receiveFd(listenFd: number): number | null {
  const conn = libc().accept4(listenFd, null, null, SOCK_NONBLOCK | SOCK_CLOEXEC);
  if (conn < 0) {
    const e = errno();
    if (e === EAGAIN) return null;
    throw new ErrnoError("accept4", e);
  }
  try {
    // runc sends the terminal's name as data beside the fd.
    const data = new Uint8Array(4096);
    const control = new Uint8Array(64);
    const iov = new Uint8Array(16);
    const iv = new DataView(iov.buffer);
    iv.setBigUint64(0, BigInt(Deno.UnsafePointer.value(Deno.UnsafePointer.of(data))), true);
    iv.setBigUint64(8, BigInt(data.length), true);
    // struct msghdr on x86_64: name, namelen, iov, iovlen, control, controllen, flags.
    const msg = new Uint8Array(56);
    const mv = new DataView(msg.buffer);
    mv.setBigUint64(16, BigInt(Deno.UnsafePointer.value(Deno.UnsafePointer.of(iov))), true);
    mv.setBigUint64(24, 1n, true);
    mv.setBigUint64(32, BigInt(Deno.UnsafePointer.value(Deno.UnsafePointer.of(control))), true);
    mv.setBigUint64(40, BigInt(control.length), true);
    check("recvmsg", libc().recvmsg(conn, msg, MSG_CMSG_CLOEXEC));
    // struct cmsghdr: u64 len, i32 level, i32 type, then the fds.
    const cv = new DataView(control.buffer);
    const len = Number(cv.getBigUint64(0, true));
    if (len < 20 || cv.getInt32(8, true) !== SOL_SOCKET || cv.getInt32(12, true) !== SCM_RIGHTS) {
      throw new Error("console socket: the message carried no file descriptor");
    }
    return cv.getInt32(16, true);
  } finally {
    closeFd(conn);
  }
}

/**
 * Set a terminal's window size (TIOCSWINSZ); the foreground process group
 * gets SIGWINCH.
 *
 * @example
 * ```ts
 * declare const master: number;
 * setWindowSize(master, 24, 80);
 * ```
 */
export function setWindowSize(fd: number, rows: number, cols: number): void {
  const ws = new Uint8Array(8);
  const v = new DataView(ws.buffer);
  v.setUint16(0, rows, true);
  v.setUint16(2, cols, true);
  check("ioctl(TIOCSWINSZ)", libc().ioctl(fd, TIOCSWINSZ, ws));
}

/**
 * Make an fd non-blocking, for epoll.
 *
 * @example
 * ```ts
 * declare const master: number;
 * setNonBlocking(master);
 * ```
 */
export function setNonBlocking(fd: number): void {
  const flags = check("fcntl(F_GETFL)", libc().fcntl(fd, F_GETFL, 0n));
  check("fcntl(F_SETFL)", libc().fcntl(fd, F_SETFL, BigInt(flags | O_NONBLOCK)));
}
