/**
 * Exec: run a process in a running container through `runc exec`.
 * @module
 */
import { conflict, invalid, notFound } from "../errdefs/mod.ts";
import { connectShim, runcExecArgs, type ShimSession } from "../shim/mod.ts";
import { identify, killProcessTree, spawnClean } from "../sys/mod.ts";
import type { Container } from "./container.ts";
import type { ContainerService } from "./service.ts";

/** Docker's exec config, the subset corral runs. */
export interface ExecConfig {
  Cmd: string[];
  Env?: string[];
  WorkingDir?: string;
  User?: string;
  Tty?: boolean;
  /** The client sends stdin (`exec -i`). */
  AttachStdin?: boolean;
}

/** One exec instance, as `GET /exec/ID/json` shows it. */
export interface ExecInstance {
  ID: string;
  ContainerID: string;
  Running: boolean;
  ExitCode: number | null;
  Pid: number;
  ProcessConfig: { entrypoint: string; arguments: string[] };
}

/** An exec with a terminal or stdin, run by the container's shim on a session of its own. */
export interface ExecStreams {
  session: ShimSession;
  /** The process has a terminal: raw output. */
  tty: boolean;
  /** Copy the output to `onData` until the process exits; records its exit code. */
  output(onData: (stream: number, payload: Uint8Array) => Promise<void>): Promise<number | null>;
}

/** A started exec: its output streams and its exit code. */
export interface ExecRun {
  stdout: ReadableStream<Uint8Array>;
  stderr: ReadableStream<Uint8Array>;
  exitCode: Promise<number>;
}

/**
 * Exec instances of all containers.
 *
 * @example
 * ```ts
 * import type { ContainerService } from "./service.ts";
 * declare const service: ContainerService;
 * const execs = new ExecManager(service);
 * const id = execs.create("web", { Cmd: ["echo", "hi"] });
 * const run = execs.start(id);
 * ```
 */
export class ExecManager {
  readonly #execs = new Map<string, { inst: ExecInstance; config: ExecConfig }>();

  constructor(readonly svc: ContainerService) {}

  /** Where `runc exec` writes the pid of the exec'd process. */
  #pidFile(containerId: string, execId: string): string {
    return this.svc.runtime.bundle(containerId).execPidFile(execId);
  }

  /** Register an exec for a running container. */
  create(ref: string, config: ExecConfig): string {
    const c = this.svc.store.get(ref);
    if (!c.rec.State.Running) throw conflict(`container ${c.name} is not running`);
    if (
      !Array.isArray(config.Cmd) || config.Cmd.length === 0 ||
      config.Cmd.some((a) => typeof a !== "string")
    ) {
      throw invalid("exec: Cmd must be a non-empty array of strings");
    }
    const id = crypto.randomUUID().replaceAll("-", "") + crypto.randomUUID().replaceAll("-", "");
    this.svc.emitEvent(c, `exec_create: ${config.Cmd.join(" ")}`, { execID: id });
    this.#execs.set(id, {
      config,
      inst: {
        ID: id,
        ContainerID: c.id,
        Running: false,
        ExitCode: null,
        Pid: 0,
        ProcessConfig: { entrypoint: config.Cmd[0], arguments: config.Cmd.slice(1) },
      },
    });
    return id;
  }

  /** Inspect an exec. */
  inspect(id: string): ExecInstance {
    const e = this.#execs.get(id);
    if (!e) throw notFound(`No such exec instance: ${id}`);
    return e.inst;
  }

  /** Whether an exec runs with a terminal or stdin, which its container's shim holds. */
  hasStreams(id: string): boolean {
    const config = this.#startable(id).e.config;
    return Boolean(config.Tty || config.AttachStdin);
  }

  #startable(id: string) {
    const e = this.#execs.get(id);
    if (!e) throw notFound(`No such exec instance: ${id}`);
    if (e.inst.Running || e.inst.ExitCode !== null) throw conflict(`exec ${id} has already run`);
    const c = this.svc.store.get(e.inst.ContainerID);
    if (!c.rec.State.Running) throw conflict(`container ${c.name} is not running`);
    return { e, c };
  }

  #finished(e: { inst: ExecInstance }, c: Container, code: number, pidFile: string): number {
    e.inst.Running = false;
    e.inst.ExitCode = code;
    this.svc.emitEvent(c, "exec_die", { execID: e.inst.ID, exitCode: String(code) });
    Deno.remove(pidFile).catch(() => {});
    // Keep finished execs a while for inspect, then forget them.
    setTimeout(() => this.#execs.delete(e.inst.ID), 300_000).unref?.();
    return code;
  }

  /**
   * Start an exec with a terminal or stdin: the container's shim runs it
   * (`runc exec --tty` hands the shim the terminal) and streams it on a
   * session of its own.
   */
  async startStreams(id: string): Promise<ExecStreams> {
    const { e, c } = this.#startable(id);
    const pidFile = this.#pidFile(c.id, id);
    e.inst.Running = true;
    let session: ShimSession;
    try {
      session = await connectShim(this.svc.runtime.bundle(c.id).dir, {
        op: "exec",
        exec: {
          execId: id,
          ...execProcess(c.id, e.config, pidFile),
          tty: Boolean(e.config.Tty),
          stdin: Boolean(e.config.AttachStdin),
        },
      });
    } catch (err) {
      e.inst.Running = false;
      throw conflict(`container ${c.name} has no attach socket: ${(err as Error).message}`);
    }
    if (!session.reply.ok) {
      session.close();
      this.#finished(e, c, 126, pidFile);
      throw invalid(`exec failed: ${session.reply.error}`);
    }
    e.inst.Pid = session.reply.pid ?? 0;
    this.svc.emitEvent(c, `exec_start: ${e.config.Cmd.join(" ")}`, { execID: id });
    return {
      session,
      tty: session.reply.tty,
      output: async (onData) => {
        const report = await session.output(onData).catch(() => null);
        // No report: the shim went away (its container ended) before the exec did.
        return this.#finished(e, c, report?.exitCode ?? 137, pidFile);
      },
    };
  }

  /** Start an exec; its output is piped to the caller. */
  start(id: string): ExecRun {
    const { e, c } = this.#startable(id);
    const { runc } = this.svc.runtime;
    const pidFile = this.#pidFile(c.id, id);
    const child = spawnClean(runc.binary, {
      args: runcExecArgs(runc.global, execProcess(c.id, e.config, pidFile)),
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    });
    e.inst.Running = true;
    e.inst.Pid = child.pid;
    this.svc.emitEvent(c, `exec_start: ${e.config.Cmd.join(" ")}`, { execID: id });
    const exitCode = child.status.then((s) => this.#finished(e, c, s.code, pidFile));
    return { stdout: child.stdout, stderr: child.stderr, exitCode };
  }

  /**
   * Run an exec to completion and collect its output (health checks). Past
   * `timeoutMs` the exec'd process and everything it started are killed.
   * At most `maxOutput` bytes of output are kept.
   */
  async run(
    ref: string,
    config: ExecConfig,
    timeoutMs: number,
    maxOutput = 64 * 1024,
  ): Promise<{ exitCode: number; output: string; timedOut: boolean }> {
    const id = this.create(ref, config);
    const e = this.#execs.get(id)!;
    const run = this.start(id);
    const runc = identify(e.inst.Pid);
    const pidFile = this.#pidFile(e.inst.ContainerID, id);
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      // runc cannot forward SIGKILL: kill the exec'd process (runc's pid
      // file) with its children, then runc.
      const payload = identify(readPid(pidFile));
      if (payload) killProcessTree(payload);
      if (runc) killProcessTree(runc);
    }, timeoutMs);
    const out = readCapped(run.stdout, maxOutput);
    const err = readCapped(run.stderr, maxOutput);
    const code = await run.exitCode;
    clearTimeout(timer);
    // A background child of the check may hold the pipes open: do not wait for it.
    const grace = setTimeout(() => {
      out.cancel();
      err.cancel();
    }, OUTPUT_GRACE_MS);
    const output = (await out.text) + (await err.text);
    clearTimeout(grace);
    return { exitCode: timedOut ? -1 : code, output: output.slice(0, maxOutput), timedOut };
  }
}

/** How long output is still read after an exec exited. */
const OUTPUT_GRACE_MS = 1000;

/** Drain a stream, keeping its first `max` bytes as text; `cancel` stops early. */
function readCapped(
  stream: ReadableStream<Uint8Array>,
  max: number,
): { text: Promise<string>; cancel: () => void } {
  const reader = stream.getReader();
  const text = (async () => {
    const dec = new TextDecoder();
    let s = "";
    let kept = 0;
    try {
      for (let r = await reader.read(); !r.done; r = await reader.read()) {
        if (kept >= max) continue;
        const part = r.value.subarray(0, max - kept);
        kept += part.length;
        s += dec.decode(part, { stream: true });
      }
    } catch {
      // Cancelled.
    }
    return s + dec.decode();
  })();
  return { text, cancel: () => void reader.cancel().catch(() => {}) };
}

function readPid(path: string): number {
  try {
    return Number(Deno.readTextFileSync(path).trim());
  } catch {
    return 0;
  }
}

/** The process an exec runs, as runc's exec and the shim's exec session both take it. */
function execProcess(id: string, config: ExecConfig, pidFile: string) {
  return {
    id,
    args: config.Cmd,
    env: config.Env ?? [],
    cwd: config.WorkingDir,
    user: config.User,
    pidFile,
  };
}
