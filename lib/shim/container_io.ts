/**
 * One container run's streams, held by its shim (everything per container
 * is here, so one shim process can hold several): its output copied to the
 * json-file log and to every attached client, its stdin (a pipe, `-i`) or
 * its terminal (a pty master, `-t`), the attach socket clients reach them
 * through, and the execs run with streams.
 * @module
 */
import { listenUnix, receiveFd } from "../sys/console.ts";
import { closeFd } from "../sys/fd.ts";
import { shortSocketPath } from "../sys/short_path.ts";
import { sleep } from "../sys/proc.ts";
import {
  type AttachRequest,
  controlFrame,
  type ExitReport,
  FrameSender,
  type ShimReply,
  type ShimRequest,
  writeAll,
} from "./attach_protocol.ts";
import type { ChildReaper } from "./children.ts";
import { attachSocketName, consoleSocketName } from "./contract.ts";
import { runExec } from "./exec_session.ts";
import { decodeFrames, encodeFrame, STDERR, STDIN, STDOUT } from "./frames.ts";
import { type JsonLogWriter, LineSplitter } from "./logfile.ts";
import { PtyMaster } from "./pty.ts";

/** How the container was created. */
export interface ContainerIoOptions {
  id: string;
  bundle: string;
  runtime: string;
  runtimeRoot: string;
  /** `-t`: the init has a terminal. */
  tty: boolean;
  /** `-i`: the init's stdin is a pipe the shim holds. */
  openStdin: boolean;
  /** Close stdin when the first attached client's stdin ends (not with a terminal, as Docker). */
  stdinOnce: boolean;
}

/** Where stdin goes: the init's pipe, its terminal, or an exec's. */
export interface StdinSink {
  write(bytes: Uint8Array): Promise<void>;
  close(): Promise<void>;
}

/** An attached client: the output streams it wants, its frames sent in order. */
class Client extends FrameSender {
  constructor(conn: Deno.Conn, readonly wants: AttachRequest) {
    super(conn);
  }
}

/** How long output is still copied after the process exited (a leftover child may hold it). */
const DRAIN_MS = 2000;

/**
 * A container run's streams in its shim.
 *
 * @example
 * ```ts
 * import type { ChildReaper } from "./children.ts";
 * import type { JsonLogWriter } from "./logfile.ts";
 * declare const log: JsonLogWriter;
 * declare const reaper: ChildReaper;
 * const io = ContainerIo.listen({
 *   id: "ID", bundle: "/run/corral/containers/ID", runtime: "runc", runtimeRoot: "/run/corral/runc",
 *   tty: false, openStdin: true, stdinOnce: true,
 * }, log, reaper);
 * ```
 */
export class ContainerIo {
  readonly #clients = new Set<Client>();
  readonly #pumps: Promise<void>[] = [];
  readonly #execTerminals = new Map<string, PtyMaster>();
  readonly #listener: Deno.Listener;
  readonly #serving: Promise<void>;
  #stdin: StdinSink | null = null;
  #pty: PtyMaster | null = null;
  #console: { fd: number; runcPath: string; close(): void } | null = null;
  #stdinEnded = false;
  /** Log writes in order: stdout's and stderr's pumps share the file. */
  #logChain: Promise<void> = Promise.resolve();

  private constructor(
    readonly o: ContainerIoOptions,
    readonly log: JsonLogWriter,
    readonly reaper: ChildReaper,
  ) {
    const sock = shortSocketPath(o.bundle, attachSocketName());
    try {
      Deno.removeSync(`${o.bundle}/${attachSocketName()}`);
    } catch {
      // No stale socket.
    }
    try {
      this.#listener = Deno.listen({ transport: "unix", path: sock.path });
    } finally {
      sock.close();
    }
    this.#serving = this.#serve();
  }

  /** Open the attach socket (before `runc create`, so the daemon can attach before start). */
  static listen(o: ContainerIoOptions, log: JsonLogWriter, reaper: ChildReaper): ContainerIo {
    return new ContainerIo(o, log, reaper);
  }

  /** For `-t`: the console socket path to give `runc create` (listening from now on). */
  consoleSocket(): string {
    const name = consoleSocketName();
    const sock = shortSocketPath(this.o.bundle, name, Deno.pid);
    const fd = listenUnix(sock.path);
    this.#console = {
      fd,
      runcPath: sock.path,
      close: () => {
        closeFd(fd);
        sock.close();
        try {
          Deno.removeSync(`${this.o.bundle}/${name}`);
        } catch {
          // Gone already.
        }
      },
    };
    return sock.path;
  }

  /** After `runc create` succeeded: take the terminal it sent, or the init's stdin pipe. */
  created(stdinPipe: WritableStream<Uint8Array> | null): void {
    if (this.#console) {
      const fd = receiveFd(this.#console.fd);
      this.#console.close();
      this.#console = null;
      if (fd === null) throw new Error("runc sent no terminal over the console socket");
      // Its first size is the spec's (consoleSize); clients resize it.
      this.#pty = new PtyMaster(fd);
      const pty = this.#pty;
      this.#stdin = { write: (b) => pty.write(b), close: () => Promise.resolve() };
      this.copyOutput(pty.output, "stdout");
    } else if (stdinPipe) {
      const writer = stdinPipe.getWriter();
      this.#stdin = {
        write: (b) => writer.write(b),
        close: () => writer.close().catch(() => {}),
      };
    }
  }

  /** A failed create: release the console socket. */
  abandon(): void {
    this.#console?.close();
    this.#console = null;
  }

  /** Copy one of the init's output streams to the log and to the clients that want it. */
  copyOutput(
    stream: ReadableStream<Uint8Array>,
    name: "stdout" | "stderr",
    tap: (lines: string[]) => void = () => {},
  ): void {
    this.#pumps.push(this.#copy(stream, name, tap));
  }

  /** Wait for the output to end, at most `ms`. */
  async outputDone(ms: number): Promise<void> {
    await Promise.race([Promise.all(this.#pumps), sleep(ms)]);
  }

  async #copy(
    stream: ReadableStream<Uint8Array>,
    name: "stdout" | "stderr",
    tap: (lines: string[]) => void,
  ): Promise<void> {
    const lines = new LineSplitter();
    const id = name === "stdout" ? STDOUT : STDERR;
    try {
      for await (const chunk of stream) {
        const complete = lines.push(chunk);
        if (complete.length) {
          tap(complete);
          await this.#writeLog(name, complete);
        }
        const frame = encodeFrame(id, chunk);
        await Promise.all(
          [...this.#clients].filter((c) => c.wants[name]).map(async (c) => {
            if (!(await c.send(frame))) this.#drop(c);
          }),
        );
      }
    } catch {
      // The stream failed (a closed terminal): what was read is logged.
    }
    const rest = lines.end();
    if (rest.length) {
      tap(rest);
      await this.#writeLog(name, rest);
    }
  }

  #writeLog(name: "stdout" | "stderr", lines: string[]): Promise<void> {
    this.#logChain = this.#logChain.then(() => this.log.writeLines(name, lines)).catch(() => {});
    return this.#logChain;
  }

  #drop(c: Client): void {
    if (this.#clients.delete(c)) c.close();
  }

  async #serve(): Promise<void> {
    try {
      for await (const conn of this.#listener) void this.#handle(conn);
    } catch {
      // The listener was closed: the run is over.
    }
  }

  /** One client connection: its request first, then its stdin frames. */
  async #handle(conn: Deno.Conn): Promise<void> {
    let session: { stdin(b: Uint8Array): Promise<void>; end(): Promise<void> } | null = null;
    let closed: () => void = () => {};
    try {
      await decodeFrames(conn.readable, async (stream, payload) => {
        if (!session) {
          const r = await this.#begin(conn, JSON.parse(new TextDecoder().decode(payload)));
          session = r.session;
          closed = r.closed;
          return;
        }
        if (stream !== STDIN) return;
        if (payload.length === 0) await session.end();
        else await session.stdin(payload.slice());
      });
    } catch {
      // A client that went away mid-frame.
    }
    closed();
  }

  async #begin(
    conn: Deno.Conn,
    req: ShimRequest,
  ): Promise<
    { session: { stdin(b: Uint8Array): Promise<void>; end(): Promise<void> }; closed(): void }
  > {
    const reply = (r: ShimReply) => writeAll(conn, controlFrame(r));
    const none = { stdin: () => Promise.resolve(), end: () => Promise.resolve() };
    if (req.op === "resize") {
      const pty = req.exec === undefined ? this.#pty : this.#execTerminals.get(req.exec);
      if (!pty) await reply({ ok: false, error: "the process has no terminal" });
      else {
        pty.resize(req.h, req.w);
        await reply({ ok: true, tty: true });
      }
      conn.close();
      return { session: none, closed: () => {} };
    }
    if (req.op === "exec") {
      const exec = runExec(this.o, this.reaper, req.exec, conn, this.#execTerminals);
      return { session: await exec, closed: () => {} };
    }
    const client = new Client(conn, req);
    await reply({ ok: true, tty: this.o.tty });
    this.#clients.add(client);
    const sink = req.stdin ? this.#stdin : null;
    return {
      session: {
        stdin: (b) => sink && !this.#stdinEnded ? sink.write(b) : Promise.resolve(),
        end: async () => {
          if (!sink) return;
          // As Docker: with StdinOnce (never a terminal's) the first attach's end closes
          // stdin and the output goes on to the exit; otherwise the attach ends there.
          if (!this.o.stdinOnce || this.o.tty) return this.#drop(client);
          if (this.#stdinEnded) return;
          this.#stdinEnded = true;
          await sink.close();
        },
      },
      closed: () => this.#drop(client),
    };
  }

  /**
   * The init exited: copy what output is left (bounded), tell every client
   * the exit code, close them, the terminal and the attach socket.
   */
  async finish(exitCode: number): Promise<void> {
    await this.outputDone(DRAIN_MS);
    const report: ExitReport = { exitCode };
    await Promise.all([...this.#clients].map((c) => c.send(controlFrame(report))));
    for (const c of [...this.#clients]) this.#drop(c);
    this.#listener.close();
    await this.#serving;
    try {
      Deno.removeSync(`${this.o.bundle}/${attachSocketName()}`);
    } catch {
      // Gone with the state dir.
    }
    await this.#stdin?.close();
    this.#pty?.close();
    for (const t of this.#execTerminals.values()) t.close();
  }
}
