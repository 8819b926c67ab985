/**
 * The shim process (`corral shim`): one per container, started detached by
 * the daemon, so the container survives the daemon. It is the container's
 * subreaper, holds the exit fifo's write end, runs `runc create`, copies the
 * container's output into the json-file log, and on the init's exit writes
 * the exit file durably before it exits (behaviour.md §7).
 * @module
 */
// The sys modules one by one, not sys/mod.ts: the shim must not load the
// daemon's npm and node: dependencies (1.6 MiB more per shim, BENCHMARKS.md).
import { becomeSubreaper } from "../sys/reaper.ts";
import { closeFd, O_CLOEXEC, O_NONBLOCK, O_WRONLY, openFd } from "../sys/fd.ts";
import { processStartTime } from "../sys/proc.ts";
import { writeFileAtomicSync } from "../sys/atomic.ts";
import {
  exitFifoPath,
  type ExitFile,
  exitFilePath,
  initPidPath,
  runcLogPath,
  SHIM_CONTRACT_VERSION,
  type ShimHandshake,
} from "./contract.ts";
import { ChildReaper } from "./children.ts";
import { ContainerIo } from "./container_io.ts";
import { DEFAULT_ROTATION, JsonLogWriter } from "./logfile.ts";
import { stopPtyEpoll } from "./pty.ts";
import { runcCreateArgs } from "./runc_args.ts";

/** What the daemon tells a shim. */
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

/** Turn ShimOptions into `corral shim` arguments. */
export function shimArgs(o: ShimOptions): string[] {
  return [
    "shim",
    "--id",
    o.id,
    "--bundle",
    o.bundle,
    "--runtime",
    o.runtime,
    "--runtime-root",
    o.runtimeRoot,
    "--log",
    o.logPath,
    "--log-max-size",
    String(o.logMaxSize),
    "--log-max-files",
    String(o.logMaxFiles),
    "--create-timeout",
    String(o.createTimeoutMs),
    "--tty",
    String(o.tty),
    "--open-stdin",
    String(o.openStdin),
    "--stdin-once",
    String(o.stdinOnce),
  ];
}

/** Parse `corral shim` arguments (the daemon wrote them; no user input). */
export function parseShimArgs(args: string[]): ShimOptions {
  const m = new Map<string, string>();
  for (let i = 0; i < args.length - 1; i += 2) m.set(args[i].replace(/^--/, ""), args[i + 1]);
  const need = (k: string) => {
    const v = m.get(k);
    if (v === undefined) throw new Error(`corral shim: missing --${k}`);
    return v;
  };
  return {
    id: need("id"),
    bundle: need("bundle"),
    runtime: need("runtime"),
    runtimeRoot: need("runtime-root"),
    logPath: need("log"),
    logMaxSize: Number(m.get("log-max-size") ?? DEFAULT_ROTATION.maxSize),
    logMaxFiles: Number(m.get("log-max-files") ?? DEFAULT_ROTATION.maxFiles),
    createTimeoutMs: Number(m.get("create-timeout") ?? 120_000),
    tty: m.get("tty") === "true",
    openStdin: m.get("open-stdin") === "true",
    stdinOnce: m.get("stdin-once") === "true",
  };
}

function handshake(msg: ShimHandshake): void {
  // One line; the daemon stops reading after it (and may be gone later).
  Deno.stdout.writeSync(new TextEncoder().encode(JSON.stringify(msg) + "\n"));
}

/** Run the shim; returns the process exit code. */
export async function runShim(o: ShimOptions): Promise<number> {
  becomeSubreaper();
  let fifoFd: number;
  try {
    // The daemon opened the read end before starting us: ENXIO means it did not.
    fifoFd = openFd(exitFifoPath(o.bundle), O_WRONLY | O_NONBLOCK | O_CLOEXEC);
  } catch (err) {
    handshake({ ok: false, error: `shim: open exit fifo: ${(err as Error).message}` });
    return 1;
  }

  const log = await JsonLogWriter.open(o.logPath, {
    maxSize: o.logMaxSize,
    maxFiles: o.logMaxFiles,
  });
  const reaper = new ChildReaper();
  reaper.start();
  // Listening before create: the daemon attaches a client before `runc start`.
  const io = ContainerIo.listen(o, log, reaper);
  const create = reaper.spawn(o.runtime, {
    args: runcCreateArgs(
      { root: o.runtimeRoot, log: runcLogPath(o.bundle) },
      {
        id: o.id,
        bundle: o.bundle,
        pidFile: initPidPath(o.bundle),
        consoleSocket: o.tty ? io.consoleSocket() : undefined,
      },
    ),
    stdin: o.openStdin && !o.tty ? "piped" : "null",
    stdout: "piped",
    stderr: "piped",
  });
  // Without a terminal the init inherits runc's stdio pipes: copying them is the log.
  const stderrLines: string[] = [];
  io.copyOutput(create.stdout, "stdout");
  io.copyOutput(create.stderr, "stderr", (lines) => {
    stderrLines.push(...lines.slice(0, 20 - stderrLines.length));
  });

  const timer = setTimeout(() => create.kill("SIGKILL"), o.createTimeoutMs);
  const status = await create.status;
  clearTimeout(timer);
  let failure: string | null = null;
  if (status.success) {
    try {
      io.created(o.openStdin && !o.tty ? create.stdin : null);
    } catch (err) {
      failure = `shim: ${(err as Error).message}`;
    }
  } else {
    await io.outputDone(500);
    failure = await runcError(o.bundle) ??
      (stderrLines.join("").trim() || `runc create exited ${status.code}`);
  }
  if (failure !== null) {
    handshake({ ok: false, error: failure });
    io.abandon();
    await io.finish(125);
    await stopPtyEpoll();
    reaper.stop();
    log.close();
    closeFd(fifoFd);
    return 1;
  }
  const pid = Number((await Deno.readTextFile(initPidPath(o.bundle))).trim());
  handshake({ ok: true, pid, startTime: processStartTime(pid) });

  const exitCode = await reaper.wait(pid);
  // The output may still be draining; never wait on it forever (a process
  // that escaped the container could hold the pipe).
  await io.finish(exitCode);
  await stopPtyEpoll();
  log.close();
  const exit: ExitFile = {
    version: SHIM_CONTRACT_VERSION,
    exitCode,
    finishedAt: new Date().toISOString(),
  };
  writeFileAtomicSync(exitFilePath(o.bundle), JSON.stringify(exit));
  // Closing the fifo's write end is the daemon's exit signal. Every duty is
  // done once the exit file is durable, so signal now, not after the
  // runtime's own teardown (about 4 ms).
  closeFd(fifoFd);
  reaper.stop();
  return 0;
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
