/**
 * The shim process (`corral shim`): one per container, started detached by
 * the daemon, so the container survives the daemon. It is the container's
 * subreaper, holds the exit fifo's write end, runs `runc create`, copies the
 * container's output into the json-file log, holds its stdin or terminal
 * behind the attach socket, and on the init's exit writes the exit file
 * durably before it exits (behaviour.md §7; a group shim: group.ts).
 * @module
 */
// The sys modules one by one, not sys/mod.ts: the shim must not load the
// daemon's npm and node: dependencies (1.6 MiB more per shim, BENCHMARKS.md).
import { Children } from "./children.ts";
import type { ShimHandshake } from "./contract.ts";
import { DEFAULT_ROTATION } from "./logfile.ts";
import { stopPtyEpoll } from "./pty.ts";
import { ContainerRun, type ShimOptions } from "./run.ts";

export type { ShimOptions };

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

/** Print the handshake: one line; the daemon stops reading after it (and may be gone later). */
export function handshake(msg: ShimHandshake): void {
  Deno.stdout.writeSync(new TextEncoder().encode(JSON.stringify(msg) + "\n"));
}

/**
 * The OOM score of a shim: the kernel's OOM killer takes a container's
 * process before the shim that serves it (and, in a group, others).
 */
export const SHIM_OOM_SCORE_ADJ = -999;

/** Lower this process's OOM score; without CAP_SYS_RESOURCE it stays as it is. */
export function protectFromOomKiller(): void {
  try {
    Deno.writeTextFileSync("/proc/self/oom_score_adj", String(SHIM_OOM_SCORE_ADJ));
  } catch {
    // Not permitted: the shim then dies with its containers' memory, as before.
  }
}

/** Run a shim of one container; returns the process exit code. */
export async function runShim(o: ShimOptions): Promise<number> {
  protectFromOomKiller();
  const children = new Children();
  const { run, handshake: msg } = await ContainerRun.create(o, children);
  handshake(msg);
  if (!run) {
    await stopPtyEpoll();
    children.close();
    return 1;
  }
  await run.finished;
  await stopPtyEpoll();
  children.close();
  return 0;
}
