/**
 * A pty master the shim holds (runc sent it over the console socket): its
 * output as a stream read through the shim's one epoll, input written with
 * back-pressure, and the window size.
 * @module
 */
import { EPOLLHUP, EPOLLIN, EpollLoop } from "../sys/epoll.ts";
import { closeFd, readFd, writeSomeFd } from "../sys/fd.ts";
import { setNonBlocking, setWindowSize } from "../sys/console.ts";
import { sleep } from "../sys/proc.ts";

let epoll: EpollLoop | undefined;

/** The shim's one epoll (one pending wait per process, platform.md), started on first use. */
function shimEpoll(): EpollLoop {
  if (!epoll) {
    epoll = new EpollLoop();
    epoll.start();
  }
  return epoll;
}

/** Stop the shim's epoll, if it was started, so the process can end. */
export async function stopPtyEpoll(): Promise<void> {
  const ep = epoll;
  epoll = undefined;
  await ep?.stop();
}

const EIO = 5;
const READ_SIZE = 64 * 1024;
/** How long a full terminal input queue is waited on before the next try. */
const FULL_RETRY_MS = 5;

/**
 * A terminal's master side.
 *
 * @example
 * ```ts
 * declare const fd: number; // from receiveFd
 * const pty = new PtyMaster(fd);
 * pty.resize(24, 80);
 * await pty.write(new TextEncoder().encode("exit\n"));
 * for await (const chunk of pty.output) console.log(chunk.length);
 * pty.close();
 * ```
 */
export class PtyMaster {
  /** What the process writes to its terminal; ends when every slave fd is closed. */
  readonly output: ReadableStream<Uint8Array>;
  #closed = false;
  /** Ends a read waiting in the epoll when the master is closed. */
  #wakeReader: (() => void) | null = null;

  constructor(readonly fd: number) {
    setNonBlocking(fd);
    this.output = new ReadableStream<Uint8Array>({
      pull: (ctrl) => this.#readable().then((chunk) => chunk ? ctrl.enqueue(chunk) : ctrl.close()),
      cancel: () => {},
    }, { highWaterMark: 0 });
  }

  /** The next chunk of output, or null at its end (EIO: the slave side is closed). */
  #readable(): Promise<Uint8Array | null> {
    return new Promise((resolve) => {
      const tryRead = (): boolean => {
        if (this.#closed) {
          resolve(null);
          return true;
        }
        const buf = new Uint8Array(READ_SIZE);
        try {
          const n = readFd(this.fd, buf);
          if (n < 0) return false;
          resolve(n === 0 ? null : buf.subarray(0, n));
        } catch (err) {
          if ((err as { errno?: number }).errno !== EIO) throw err;
          resolve(null);
        }
        return true;
      };
      if (tryRead()) return;
      const ep = shimEpoll();
      this.#wakeReader = () => resolve(null);
      ep.add(this.fd, () => {
        if (!tryRead()) return;
        ep.remove(this.fd);
        this.#wakeReader = null;
      }, EPOLLIN | EPOLLHUP);
    });
  }

  /** Write all of `bytes` as the terminal's input, waiting while its queue is full. */
  async write(bytes: Uint8Array): Promise<void> {
    for (let off = 0; off < bytes.length && !this.#closed;) {
      const n = writeSomeFd(this.fd, bytes.slice(off));
      if (n < 0) await sleep(FULL_RETRY_MS);
      else off += n;
    }
  }

  /** Set the window size (rows, columns). */
  resize(rows: number, cols: number): void {
    if (!this.#closed) setWindowSize(this.fd, rows, cols);
  }

  /** Close the master (the process gets SIGHUP if it still runs). */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    epoll?.remove(this.fd);
    closeFd(this.fd);
    this.#wakeReader?.();
  }
}
