/**
 * The system layer: libc through Deno FFI (epoll, fifos, mounts, prctl,
 * waitpid, kill), process identity from /proc, atomic writes.
 *
 * @example
 * ```ts
 * import { EpollLoop, mkfifo, openFd, O_RDONLY, O_NONBLOCK, O_CLOEXEC } from "./mod.ts";
 * mkfifo("/tmp/f");
 * const fd = openFd("/tmp/f", O_RDONLY | O_NONBLOCK | O_CLOEXEC);
 * ```
 * @module
 */
export * from "./libc.ts";
export * from "./fd.ts";
export * from "./console.ts";
export * from "./short_path.ts";
export * from "./epoll.ts";
export * from "./proc.ts";
export * from "./mount.ts";
export * from "./atomic.ts";
export * from "./reaper.ts";
export * from "./spawn.ts";
export * from "./xattr.ts";
export * from "./tree_size.ts";
export * from "./heap.ts";
export * from "./write_retry.ts";
