/**
 * One epoll instance with one pending `epoll_wait` for the whole process, and
 * an eventfd to wake it (Deno's blocking pool has 32 threads; a blocking call
 * per container would exhaust it, see platform.md).
 * @module
 */
import { check, libc } from "./libc.ts";
import { closeFd, readFd, writeFd } from "./fd.ts";

/** EPOLLIN: data (or EOF) to read. */
export const EPOLLIN = 0x001;
/** EPOLLERR: error on the fd. */
export const EPOLLERR = 0x008;
/** EPOLLHUP: the other end closed; for a fifo reader: the last writer went away. */
export const EPOLLHUP = 0x010;

const EPOLL_CTL_ADD = 1;
const EPOLL_CTL_DEL = 2;
const EPOLL_CLOEXEC = 0o2000000;
const EFD_CLOEXEC = 0o2000000;
const EFD_NONBLOCK = 0o4000;
const EVENT_SIZE = 12; // packed struct epoll_event on x86_64
const MAX_EVENTS = 64;

/** Called with the event mask when a watched fd is ready. */
export type EpollHandler = (events: number) => void;

/** Told that the handler of `fd` threw; the loop goes on. */
export type EpollErrorHandler = (fd: number, error: unknown) => void;

/** Options of an {@linkcode EpollLoop}. */
export interface EpollLoopOptions {
  /**
   * Told when a handler throws, so that its owner reports it through its own
   * logger (this layer has none); one line on stderr by default.
   */
  onError?: EpollErrorHandler;
}

function printHandlerError(fd: number, error: unknown): void {
  console.error(`epoll handler for fd ${fd} failed: ${error}`);
}

/**
 * A single-waiter epoll loop.
 *
 * @example
 * ```ts
 * declare const fd: number;
 * const ep = new EpollLoop({ onError: (failedFd, error) => console.error(failedFd, error) });
 * ep.add(fd, (events) => { if (events & EPOLLHUP) ep.remove(fd); });
 * ep.start();
 * // ...
 * await ep.stop();
 * ```
 */
export class EpollLoop {
  readonly #epfd: number;
  readonly #wakeFd: number;
  readonly #handlers = new Map<number, EpollHandler>();
  readonly #onError: EpollErrorHandler;
  #running: Promise<void> | undefined;
  #stopping = false;

  constructor({ onError = printHandlerError }: EpollLoopOptions = {}) {
    this.#onError = onError;
    this.#epfd = check("epoll_create1", libc().epoll_create1(EPOLL_CLOEXEC));
    this.#wakeFd = check("eventfd", libc().eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
    this.#ctl(EPOLL_CTL_ADD, this.#wakeFd, EPOLLIN);
  }

  #ctl(op: number, fd: number, events: number): void {
    const ev = new Uint8Array(EVENT_SIZE);
    const view = new DataView(ev.buffer);
    view.setUint32(0, events, true);
    view.setBigUint64(4, BigInt(fd), true);
    check("epoll_ctl", libc().epoll_ctl(this.#epfd, op, fd, ev), `fd ${fd}`);
  }

  /** Watch `fd` for `events` (level-triggered). */
  add(fd: number, handler: EpollHandler, events = EPOLLIN | EPOLLHUP): void {
    this.#handlers.set(fd, handler);
    try {
      this.#ctl(EPOLL_CTL_ADD, fd, events);
    } catch (err) {
      this.#handlers.delete(fd);
      throw err;
    }
  }

  /** Stop watching `fd`; the caller still owns and closes it. */
  remove(fd: number): void {
    if (!this.#handlers.delete(fd)) return;
    try {
      this.#ctl(EPOLL_CTL_DEL, fd, 0);
    } catch {
      // Already closed or never added: nothing to undo.
    }
  }

  /** Number of fds watched (not counting the wake fd). */
  get size(): number {
    return this.#handlers.size;
  }

  /** Start the wait loop; idempotent. */
  start(): void {
    this.#running ??= this.#loop();
  }

  async #loop(): Promise<void> {
    const buf = new Uint8Array(EVENT_SIZE * MAX_EVENTS);
    const view = new DataView(buf.buffer);
    while (!this.#stopping) {
      const n = await libc().epoll_wait(this.#epfd, buf, MAX_EVENTS, -1);
      // n < 0 is EINTR in practice; errno cannot be read from the pool thread.
      for (let i = 0; i < n; i++) {
        const events = view.getUint32(i * EVENT_SIZE, true);
        const fd = Number(view.getBigUint64(i * EVENT_SIZE + 4, true));
        if (fd === this.#wakeFd) {
          readFd(this.#wakeFd, new Uint8Array(8));
          continue;
        }
        const handler = this.#handlers.get(fd);
        if (!handler) continue;
        try {
          handler(events);
        } catch (err) {
          // A handler bug must not stop the loop that watches every container.
          this.#onError(fd, err);
        }
      }
    }
  }

  /** Wake the pending wait and end the loop; closes the epoll and wake fds. */
  async stop(): Promise<void> {
    this.#stopping = true;
    const one = new Uint8Array(8);
    new DataView(one.buffer).setBigUint64(0, 1n, true);
    writeFd(this.#wakeFd, one);
    await this.#running;
    closeFd(this.#wakeFd);
    closeFd(this.#epfd);
  }
}
