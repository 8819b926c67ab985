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
import { becomeSubreaper, childPids, reap } from "../sys/reaper.ts";
import { closeFd, O_CLOEXEC, O_NONBLOCK, O_WRONLY, openFd } from "../sys/fd.ts";
import { processStartTime, sleep } from "../sys/proc.ts";
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
import { copyLines, DEFAULT_ROTATION, JsonLogWriter } from "./logfile.ts";
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
  const create = new Deno.Command(o.runtime, {
    args: runcCreateArgs(
      { root: o.runtimeRoot, log: runcLogPath(o.bundle) },
      { id: o.id, bundle: o.bundle, pidFile: initPidPath(o.bundle) },
    ),
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  // The init inherits runc's stdout/stderr pipes: copying them is the log.
  let chain = Promise.resolve();
  const writeLog = (stream: "stdout" | "stderr") => (lines: string[]) =>
    chain = chain.then(() => log.writeLines(stream, lines));
  const stderrLines: string[] = [];
  const copies = Promise.all([
    copyLines(create.stdout, writeLog("stdout")),
    copyLines(create.stderr, (lines) => {
      stderrLines.push(...lines.slice(0, 20 - stderrLines.length));
      return writeLog("stderr")(lines);
    }),
  ]).catch(() => {});

  const timer = setTimeout(() => create.kill("SIGKILL"), o.createTimeoutMs);
  const status = await create.status;
  clearTimeout(timer);
  if (!status.success) {
    const msg = await runcError(o.bundle) ??
      (stderrLines.join("").trim() || `runc create exited ${status.code}`);
    handshake({ ok: false, error: msg });
    await Promise.race([copies, sleep(500)]);
    log.close();
    closeFd(fifoFd);
    return 1;
  }
  const pid = Number((await Deno.readTextFile(initPidPath(o.bundle))).trim());
  handshake({ ok: true, pid, startTime: processStartTime(pid) });

  const exitCode = await waitForInit(pid);
  // The output may still be draining; never wait on it forever (a process
  // that escaped the container could hold the pipe).
  await Promise.race([copies, sleep(2000)]);
  await chain;
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
  return 0;
}

/** Wait for the init to exit, reaping every other orphan meanwhile. */
function waitForInit(initPid: number): Promise<number> {
  return new Promise((resolve) => {
    let done = false;
    const check = () => {
      if (done) return;
      for (const pid of childPids()) {
        const code = reap(pid);
        if (pid === initPid && code !== null) {
          done = true;
          Deno.removeSignalListener("SIGCHLD", check);
          clearInterval(backstop);
          resolve(code);
        }
      }
    };
    Deno.addSignalListener("SIGCHLD", check);
    // Every check reaps all children, so coalesced signals lose nothing; the
    // slow timer is only a backstop, and rare so that idle shims stay asleep.
    const backstop = setInterval(check, 30_000);
    check();
  });
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
