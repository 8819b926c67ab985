/**
 * The libc symbols corral needs, opened once through Deno FFI, and errno
 * turned into typed errors.
 * @module
 */

const symbols = {
  epoll_create1: { parameters: ["i32"], result: "i32" },
  epoll_ctl: { parameters: ["i32", "i32", "i32", "buffer"], result: "i32" },
  // The only blocking call: one pending instance for the whole daemon.
  epoll_wait: {
    parameters: ["i32", "buffer", "i32", "i32"],
    result: "i32",
    nonblocking: true,
  },
  eventfd: { parameters: ["u32", "i32"], result: "i32" },
  mkfifo: { parameters: ["buffer", "u32"], result: "i32" },
  mknod: { parameters: ["buffer", "u32", "u64"], result: "i32" },
  lsetxattr: { parameters: ["buffer", "buffer", "buffer", "usize", "i32"], result: "i32" },
  lgetxattr: { parameters: ["buffer", "buffer", "buffer", "usize"], result: "isize" },
  open: { parameters: ["buffer", "i32", "u32"], result: "i32" },
  close: { parameters: ["i32"], result: "i32" },
  close_range: { parameters: ["u32", "u32", "i32"], result: "i32" },
  read: { parameters: ["i32", "buffer", "usize"], result: "isize" },
  write: { parameters: ["i32", "buffer", "usize"], result: "isize" },
  flock: { parameters: ["i32", "i32"], result: "i32" },
  mount: { parameters: ["buffer", "buffer", "buffer", "u64", "buffer"], result: "i32" },
  umount2: { parameters: ["buffer", "i32"], result: "i32" },
  prctl: { parameters: ["i32", "u64", "u64", "u64", "u64"], result: "i32" },
  waitpid: { parameters: ["i32", "buffer", "i32"], result: "i32" },
  kill: { parameters: ["i32", "i32"], result: "i32" },
  malloc_trim: { parameters: ["usize"], result: "i32" },
  // On a worker thread: flushing a filesystem can take long.
  syncfs: { parameters: ["i32"], result: "i32", nonblocking: true },
  // Receiving the pty master runc sends over a console socket (console.ts).
  socket: { parameters: ["i32", "i32", "i32"], result: "i32" },
  bind: { parameters: ["i32", "buffer", "u32"], result: "i32" },
  listen: { parameters: ["i32", "i32"], result: "i32" },
  accept4: { parameters: ["i32", "pointer", "pointer", "i32"], result: "i32" },
  recvmsg: { parameters: ["i32", "buffer", "i32"], result: "isize" },
  ioctl: { parameters: ["i32", "u64", "buffer"], result: "i32" },
  fcntl: { parameters: ["i32", "i32", "i64"], result: "i32" },
  __errno_location: { parameters: [], result: "pointer" },
} as const;

let lib: Deno.DynamicLibrary<typeof symbols> | undefined;

/** The opened libc; opened on first use so that programs that never call it pay nothing. */
export function libc(): Deno.DynamicLibrary<typeof symbols>["symbols"] {
  lib ??= Deno.dlopen("libc.so.6", symbols);
  return lib.symbols;
}

/** errno of the last synchronous libc call; read it before any `await`. */
export function errno(): number {
  const p = libc().__errno_location();
  return p === null ? 0 : new Deno.UnsafePointerView(p).getInt32();
}

const errnoNames: Record<number, string> = {
  1: "EPERM",
  2: "ENOENT",
  3: "ESRCH",
  4: "EINTR",
  5: "EIO",
  6: "ENXIO",
  9: "EBADF",
  10: "ECHILD",
  11: "EAGAIN",
  12: "ENOMEM",
  13: "EACCES",
  16: "EBUSY",
  17: "EEXIST",
  20: "ENOTDIR",
  21: "EISDIR",
  22: "EINVAL",
  24: "EMFILE",
  28: "ENOSPC",
  32: "EPIPE",
  39: "ENOTEMPTY",
  61: "ENODATA",
  95: "EOPNOTSUPP",
};

/** A failed libc call: the function, the errno and its symbolic name. */
export class ErrnoError extends Error {
  /** The errno value. */
  readonly errno: number;
  /** The symbolic errno name, e.g. "EBUSY". */
  readonly code: string;
  constructor(call: string, errnoValue: number, detail = "") {
    const code = errnoNames[errnoValue] ?? `errno ${errnoValue}`;
    super(`${call}${detail ? ` ${detail}` : ""}: ${code}`);
    this.errno = errnoValue;
    this.code = code;
    this.name = "ErrnoError";
  }
}

/** Throw an ErrnoError with the current errno when `result` is negative. */
export function check(call: string, result: number | bigint, detail = ""): number {
  const n = Number(result);
  if (n < 0) throw new ErrnoError(call, errno(), detail);
  return n;
}

/** A NUL-terminated C string for a buffer parameter. */
export function cstr(s: string): Uint8Array<ArrayBuffer> {
  return new TextEncoder().encode(s + "\0") as Uint8Array<ArrayBuffer>;
}
