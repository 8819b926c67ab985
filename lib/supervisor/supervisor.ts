/**
 * The supervisor of seed 000: one epoll for every container's exit fifo. The
 * shim holds each fifo's write end; when it exits, the read end reports HUP
 * and the supervisor hands the container to its exit handler.
 * @module
 */
import {
  closeFd,
  EPOLLERR,
  EPOLLHUP,
  EpollLoop,
  mkfifo,
  O_CLOEXEC,
  O_NONBLOCK,
  O_RDONLY,
  openFd,
} from "../sys/mod.ts";
import { exitFifoPath } from "../shim/mod.ts";
import { errorMessage } from "../errdefs/mod.ts";
import { getLogger } from "@logtape/logtape";

const log = getLogger(["corral", "supervisor"]);

/** The processes of a supervised container (seed: pid_ppid_info_t). */
export interface PidInfo {
  pid: number;
  startTime: number;
  ppid: number;
  pStartTime: number;
}

/** Called once per supervised run when its shim is gone. */
export type ExitHandler = (id: string, info: PidInfo) => void;

/**
 * Watches exit fifos.
 *
 * @example
 * ```ts
 * declare const pidInfo: PidInfo;
 * const sup = new Supervisor((id) => console.log(`${id} exited`));
 * const path = sup.createExitFifo("/run/corral/containers/ID");
 * const fd = sup.openExitFifo(path);
 * // ... launch the shim ...
 * sup.addExitMonitor(fd, "ID", pidInfo);
 * ```
 */
export class Supervisor {
  readonly #epoll = new EpollLoop({
    onError: (fd, error) =>
      log.error("exit handler for fd {fd} failed: {error}", { fd, error: errorMessage(error) }),
  });
  readonly #watched = new Map<number, string>();

  constructor(readonly onExit: ExitHandler) {
    this.#epoll.start();
  }

  /** Create the exit fifo (an existing one is reused); returns its path. */
  createExitFifo(stateDir: string): string {
    const path = exitFifoPath(stateDir);
    mkfifo(path, 0o600);
    return path;
  }

  /**
   * Open the read end, non-blocking, before the shim starts (a reader that
   * opens after the last writer closed never sees HUP).
   */
  openExitFifo(path: string): number {
    return openFd(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  }

  /** Watch an open fifo read end; `onExit` runs once, after which the fd is closed. */
  addExitMonitor(fd: number, id: string, info: PidInfo): void {
    this.#watched.set(fd, id);
    this.#epoll.add(fd, (events) => {
      // Only HUP (the last writer closed) means the exit is there: the shim
      // closes its end once the exit file is durable, or by dying. It never
      // writes, so there is no data to read.
      if (!(events & (EPOLLHUP | EPOLLERR))) return;
      this.#release(fd);
      this.onExit(id, info);
    });
  }

  /** Stop watching and close a fifo fd without calling the handler (a failed start). */
  removeExitMonitor(fd: number): void {
    this.#release(fd);
  }

  #release(fd: number): void {
    if (this.#watched.delete(fd)) this.#epoll.remove(fd);
    closeFd(fd);
  }

  /** Stop the epoll loop; the fifos are closed; containers keep running. */
  async close(): Promise<void> {
    for (const fd of [...this.#watched.keys()]) this.#release(fd);
    await this.#epoll.stop();
  }
}
