/**
 * Exec: run a process in a running container through `runc exec`.
 * @module
 */
import { conflict, invalid, notFound } from "../errdefs/mod.ts";
import type { ContainerService } from "./service.ts";

/** Docker's exec config, the subset corral runs. */
export interface ExecConfig {
  Cmd: string[];
  Env?: string[];
  WorkingDir?: string;
  User?: string;
  Tty?: boolean;
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
 * const execs = new ExecManager(service);
 * const id = execs.create("web", { Cmd: ["echo", "hi"] });
 * const run = execs.start(id);
 * ```
 */
export class ExecManager {
  readonly #execs = new Map<string, { inst: ExecInstance; config: ExecConfig }>();

  constructor(readonly svc: ContainerService) {}

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
    if (config.Tty) throw invalid("exec with a TTY is not supported by corral");
    const id = crypto.randomUUID().replaceAll("-", "") + crypto.randomUUID().replaceAll("-", "");
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

  /** Start an exec; its output is piped to the caller. */
  start(id: string): ExecRun {
    const e = this.#execs.get(id);
    if (!e) throw notFound(`No such exec instance: ${id}`);
    if (e.inst.Running || e.inst.ExitCode !== null) throw conflict(`exec ${id} has already run`);
    const c = this.svc.store.get(e.inst.ContainerID);
    if (!c.rec.State.Running) throw conflict(`container ${c.name} is not running`);
    const args = [...this.svc.runc.globalArgs(), "exec"];
    for (const env of e.config.Env ?? []) args.push("--env", env);
    if (e.config.WorkingDir) args.push("--cwd", e.config.WorkingDir);
    if (e.config.User) args.push("--user", e.config.User);
    const pidFile = `${this.svc.bundle(c.id)}/exec-${id}.pid`;
    args.push("--pid-file", pidFile, c.id, ...e.config.Cmd);
    const child = new Deno.Command(this.svc.runc.binary, {
      args,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    e.inst.Running = true;
    e.inst.Pid = child.pid;
    const exitCode = child.status.then((s) => {
      e.inst.Running = false;
      e.inst.ExitCode = s.code;
      Deno.remove(pidFile).catch(() => {});
      // Keep finished execs a while for inspect, then forget them.
      setTimeout(() => this.#execs.delete(id), 300_000).unref?.();
      return e.inst.ExitCode;
    });
    return { stdout: child.stdout, stderr: child.stderr, exitCode };
  }

  /** Run an exec to completion and collect its output (health checks). */
  async run(
    ref: string,
    config: ExecConfig,
    timeoutMs: number,
  ): Promise<{ exitCode: number; output: string; timedOut: boolean }> {
    const id = this.create(ref, config);
    const e = this.#execs.get(id)!;
    const run = this.start(id);
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      // runc cannot forward SIGKILL: kill the exec'd process itself (runc's pid file).
      for (
        const pid of [readPid(`${this.svc.bundle(e.inst.ContainerID)}/exec-${id}.pid`), e.inst.Pid]
      ) {
        try {
          if (pid > 0) Deno.kill(pid, "SIGKILL");
        } catch {
          // Already gone.
        }
      }
    }, timeoutMs);
    const [out, err, code] = await Promise.all([
      new Response(run.stdout).text(),
      new Response(run.stderr).text(),
      run.exitCode,
    ]);
    clearTimeout(timer);
    return { exitCode: timedOut ? -1 : code, output: out + err, timedOut };
  }
}

function readPid(path: string): number {
  try {
    return Number(Deno.readTextFileSync(path).trim());
  } catch {
    return 0;
  }
}
