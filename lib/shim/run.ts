/**
 * One container served by a shim, whole: its exit fifo's write end, its
 * json-file log, its streams (a {@linkcode ContainerIo}: stdin, terminal,
 * attach socket, execs), `runc create`, its init's exit and its durable exit
 * file (behaviour.md §7). A shim serves one run (`corral shim --id`) or a group
 * of them (`corral shim --group`); everything per container is here, so a
 * run never touches another's files and one container's end leaves the others
 * of its shim alone.
 * @module
 */
import { closeFd, O_CLOEXEC, O_NONBLOCK, O_WRONLY, openFd } from "../sys/fd.ts";
import { processStartTime } from "../sys/proc.ts";
import { writeFileAtomicSync } from "../sys/atomic.ts";
import type { Children } from "./children.ts";
import {
  exitFifoPath,
  type ExitFile,
  exitFilePath,
  initPidPath,
  runcLogPath,
  SHIM_CONTRACT_VERSION,
  type ShimHandshake,
} from "./contract.ts";
import { ContainerIo } from "./container_io.ts";
import { JsonLogWriter } from "./logfile.ts";
import { runcCreateArgs, runcDeleteArgs } from "./runc_args.ts";

/** What the daemon tells a shim about one container. */
export interface ShimOptions {
  id: string;
  bundle: string;
  runtime: string;
  runtimeRoot: string;
  logPath: string;
  logMaxSize: number;
  logMaxFiles: number;
  /** Bound of the create phase in ms (ref 120 s). */
  createTimeoutMs: number;
  /** `-t`: the init gets a terminal (the spec says `process.terminal`). */
  tty: boolean;
  /** `-i`: the init's stdin is a pipe the shim holds open. */
  openStdin: boolean;
  /** Close stdin when the first attach's stdin ends. */
  stdinOnce: boolean;
}

/**
 * A created container and its life until its exit file is written.
 *
 * @example
 * ```ts
 * import { Children } from "./children.ts";
 * declare const opts: ShimOptions;
 * const { run, handshake } = await ContainerRun.create(opts, new Children());
 * console.log(JSON.stringify(handshake));
 * await run?.finished;
 * ```
 */
export class ContainerRun {
  /** Resolves once the exit file is durable and the fifo closed (the daemon's signal). */
  readonly finished: Promise<void>;
  #aborted = false;

  private constructor(
    readonly opts: ShimOptions,
    readonly pid: number,
    readonly fifoFd: number,
    exitCode: Promise<number>,
    output: { io: ContainerIo; log: JsonLogWriter },
  ) {
    this.finished = exitCode.then(async (code) => {
      try {
        // The output may still be draining (bounded: a process that escaped
        // the container could hold the pipe); attached clients get the code.
        await output.io.finish(code);
        output.log.close();
        if (this.#aborted) return;
        const exit: ExitFile = {
          version: SHIM_CONTRACT_VERSION,
          exitCode: code,
          finishedAt: new Date().toISOString(),
        };
        writeFileAtomicSync(exitFilePath(opts.bundle), JSON.stringify(exit));
      } catch {
        // No exit file (its state dir is gone, or full): the daemon counts the
        // run as killed (137). Either way the fifo closes below.
      } finally {
        // Closing the fifo's write end is the daemon's exit signal. Every duty
        // is done once the exit file is durable, so signal now.
        closeFd(this.fifoFd);
      }
    });
  }

  /**
   * Open the exit fifo, the log, and run `runc create`; the handshake says
   * how it went (and `run` is there when it succeeded).
   */
  static async create(
    o: ShimOptions,
    children: Children,
  ): Promise<{ run?: ContainerRun; handshake: ShimHandshake }> {
    let fifoFd: number;
    try {
      // The daemon opened the read end before asking: ENXIO means it did not.
      fifoFd = openFd(exitFifoPath(o.bundle), O_WRONLY | O_NONBLOCK | O_CLOEXEC);
    } catch (err) {
      return { handshake: { ok: false, error: `shim: open exit fifo: ${(err as Error).message}` } };
    }
    try {
      return await ContainerRun.#createWithFifo(o, children, fifoFd);
    } catch (err) {
      // A group shim lives on: nothing of this container may stay open in it.
      closeFd(fifoFd);
      return { handshake: { ok: false, error: `shim: ${(err as Error).message}` } };
    }
  }

  static async #createWithFifo(
    o: ShimOptions,
    children: Children,
    fifoFd: number,
  ): Promise<{ run?: ContainerRun; handshake: ShimHandshake }> {
    const log = await JsonLogWriter.open(o.logPath, {
      maxSize: o.logMaxSize,
      maxFiles: o.logMaxFiles,
    });
    let io: ContainerIo;
    try {
      // Listening before create: the daemon attaches a client before `runc start`.
      io = ContainerIo.listen(o, log, children);
    } catch (err) {
      log.close();
      throw err;
    }
    const since = children.mark();
    let create: Deno.ChildProcess;
    try {
      create = children.spawn(o.runtime, {
        args: runcCreateArgs(
          { root: o.runtimeRoot, log: runcLogPath(o.bundle) },
          {
            id: o.id,
            bundle: o.bundle,
            pidFile: initPidPath(o.bundle),
            // Served by this process, the one that runs `runc create`.
            consoleSocket: o.tty ? io.consoleSocket() : undefined,
          },
        ),
        stdin: o.openStdin && !o.tty ? "piped" : "null",
        stdout: "piped",
        stderr: "piped",
      });
    } catch (err) {
      await ContainerRun.#release(io, log);
      throw err;
    }
    // Without a terminal the init inherits runc's stdio pipes: copying them is the log.
    const stderrLines: string[] = [];
    io.copyOutput(create.stdout, "stdout");
    io.copyOutput(create.stderr, "stderr", (lines) => {
      stderrLines.push(...lines.slice(0, 20 - stderrLines.length));
    });

    const timer = setTimeout(() => create.kill("SIGKILL"), o.createTimeoutMs);
    const status = await create.status;
    clearTimeout(timer);
    let error: string | null = null;
    if (status.success) {
      try {
        io.created(o.openStdin && !o.tty ? create.stdin : null);
      } catch (err) {
        error = `shim: ${(err as Error).message}`;
      }
    } else {
      await io.outputDone(500);
      error = await runcError(o.bundle) ??
        (stderrLines.join("").trim() || `runc create exited ${status.code}`);
    }
    if (error !== null) {
      await ContainerRun.#release(io, log);
      closeFd(fifoFd);
      return { handshake: { ok: false, error } };
    }
    const pid = Number((await Deno.readTextFile(initPidPath(o.bundle))).trim());
    const run = new ContainerRun(o, pid, fifoFd, children.wait(pid, since), { io, log });
    return { run, handshake: { ok: true, pid, startTime: processStartTime(pid) } };
  }

  /** Close the streams and the log of a create that failed (nothing of it stays open). */
  static async #release(io: ContainerIo, log: JsonLogWriter): Promise<void> {
    io.abandon();
    await io.finish(125);
    log.close();
  }

  /**
   * Undo a create nobody will start (the daemon went away mid-join): the
   * container is deleted and the fifo closed with no exit file, which the
   * daemon's restore reads as a start that never happened.
   */
  async abort(children: Children): Promise<void> {
    this.#aborted = true;
    const del = children.spawn(this.opts.runtime, {
      args: runcDeleteArgs({ root: this.opts.runtimeRoot }, this.opts.id),
      stdin: "null",
      stdout: "null",
      stderr: "null",
    });
    await del.status;
    await this.finished;
  }
}

async function runcError(bundle: string): Promise<string | null> {
  try {
    const lines = (await Deno.readTextFile(runcLogPath(bundle))).trim().split("\n");
    for (const l of lines.reverse()) {
      const j = JSON.parse(l);
      if (j.level === "error" && j.msg) return j.msg;
    }
  } catch {
    // No runc log.
  }
  return null;
}
