/**
 * Start a container's shim, detached, and read its handshake; or have a
 * running group shim take the container (`ShimLauncher`).
 * @module
 */
import { join } from "node:path";
import {
  type GroupReply,
  type GroupRequest,
  groupShimArgs,
  groupSocketName,
  groupSocketVersion,
  SHIM_CONTRACT_VERSION,
  shimArgs,
  type ShimHandshake,
  type ShimOptions,
} from "../shim/mod.ts";
import { processStartTime, spawnClean } from "../sys/mod.ts";
import { shimCommand } from "./self.ts";
import { StartFailure } from "./runc.ts";

/** The processes of a created container. */
export interface LaunchedShim {
  shimPid: number;
  shimStartTime: number;
  /** The container init (created, not yet started). */
  pid: number;
  startTime: number;
  /** Resolves when the shim process exits (the daemon reaps its children). */
  exited: Promise<Deno.CommandStatus>;
}

/**
 * Launch the shim for a container whose bundle is ready and whose exit fifo
 * read end is open; resolves after `runc create` succeeded. `command` is the
 * argv prefix that starts a shim (the benchmarks compare variants of it).
 */
export async function launchShim(
  opts: ShimOptions,
  command: string[] = shimCommand(),
): Promise<LaunchedShim> {
  const { child, text, msg } = await spawnShim(command, shimArgs(opts));
  if (!msg) {
    const st = await child.status;
    throw new StartFailure(
      `shim failed before runc create (exit ${st.code}): ${text.trim() || "no output"}`,
    );
  }
  if (!msg.ok) {
    await child.status;
    throw new StartFailure(msg.error);
  }
  return {
    shimPid: child.pid,
    // The shim lives on after its handshake: its identity is read from /proc now.
    shimStartTime: processStartTime(child.pid),
    pid: msg.pid,
    startTime: msg.startTime,
    exited: child.status,
  };
}

/**
 * Start a shim process (detached, not waited for) and read its handshake:
 * the first line of its stdout, as JSON (null when it is not).
 */
async function spawnShim(
  command: string[],
  args: string[],
): Promise<{ child: Deno.ChildProcess; text: string; msg: ShimHandshake | null }> {
  const [cmd, ...pre] = command;
  const child = spawnClean(cmd, {
    args: [...pre, ...args],
    stdin: "null",
    stdout: "piped",
    stderr: "null",
    detached: true,
    env: { RUST_BACKTRACE: "0" },
  });
  child.unref();
  // Read only the handshake line: Deno keeps a dup of the shim's stdout, so
  // the pipe is never closed by the shim.
  const text = await firstLine(child.stdout);
  try {
    return { child, text, msg: JSON.parse(text.trim().split("\n")[0]) };
  } catch {
    return { child, text, msg: null };
  }
}

async function firstLine(stream: ReadableStream<Uint8Array>): Promise<string> {
  const reader = stream.getReader();
  const dec = new TextDecoder();
  let text = "";
  try {
    while (!text.includes("\n")) {
      const { value, done } = await reader.read();
      if (done) break;
      text += dec.decode(value, { stream: true });
    }
  } finally {
    await reader.cancel().catch(() => {});
  }
  return text;
}

/** What the daemon records of a created container: its init and its shim. */
export type CreatedRun = Omit<LaunchedShim, "exited">;

/**
 * Containers per shim by default, chosen by measurement (BENCHMARKS.md,
 * "Shim groups"): a group shim costs a Deno process's ~12 MiB anonymous plus
 * ~0.1 MiB per container, so at 50 running a group of 50 is 0.63 MiB a
 * container (a group of 8: 2.7 MiB), and a group of 200 at 200 running 0.22
 * MiB. 50 keeps a shim crash's blast radius (README) at 50 containers.
 */
export const DEFAULT_SHIM_GROUP_SIZE = 50;

/** How long a group shim with no container left waits before it exits. */
export const DEFAULT_SHIM_IDLE_MS = 5000;

/** Joins tried before a start fails: a shim that vanished mid-join is passed over. */
const JOIN_ATTEMPTS = 4;

/**
 * Starts containers' shims: a shim per container (group size 1, the
 * original way), or up to `groupSize` containers per group shim, joined
 * through its control socket so that a start costs no Deno start; a new
 * group shim is started only when every one of the current version is full.
 *
 * @example
 * ```ts
 * import type { ShimOptions } from "../shim/mod.ts";
 * declare const opts: ShimOptions;
 * const shims = new ShimLauncher("/run/corral/shims", 16);
 * const { pid, shimPid } = await shims.launch(opts);
 * ```
 */
export class ShimLauncher {
  #spawning: Promise<void> | null = null;

  constructor(
    readonly dir: string,
    readonly groupSize: number,
    readonly idleMs = DEFAULT_SHIM_IDLE_MS,
    readonly command: () => string[] = shimCommand,
  ) {}

  /** Create the container `opts` describes under a shim; resolves after `runc create`. */
  async launch(opts: ShimOptions): Promise<CreatedRun> {
    if (this.groupSize <= 1) return await launchShim(opts, this.command());
    for (let attempt = 0; attempt < JOIN_ATTEMPTS;) {
      for (const socket of this.#sockets()) {
        const r = await joinGroup(socket, opts);
        if (r === "gone") attempt++;
        if (typeof r === "object") return r;
      }
      // Every shim is full: one new shim at a time, which waiting starts then join.
      await (this.#spawning ??= this.#spawnGroup().finally(() => this.#spawning = null));
    }
    throw new StartFailure("no shim group took the container (each ended during the join)");
  }

  /** Control sockets of this version's group shims, oldest first. */
  #sockets(): string[] {
    let names: string[];
    try {
      names = [...Deno.readDirSync(this.dir)].map((e) => e.name);
    } catch {
      return [];
    }
    return names.filter((n) => groupSocketVersion(n) === SHIM_CONTRACT_VERSION).sort()
      .map((n) => join(this.dir, n));
  }

  async #spawnGroup(): Promise<void> {
    await Deno.mkdir(this.dir, { recursive: true, mode: 0o700 });
    // Names sort by start time, so the oldest shims fill up first and the newest drain.
    const name = `g${Date.now().toString(36)}${crypto.randomUUID().slice(0, 4)}`;
    const { child, text, msg } = await spawnShim(
      this.command(),
      groupShimArgs({
        control: join(this.dir, groupSocketName(name)),
        max: this.groupSize,
        idleMs: this.idleMs,
      }),
    );
    if (!msg?.ok) {
      const st = await child.status;
      throw new StartFailure(
        `group shim failed to start (exit ${st.code}): ${text.trim() || "no output"}`,
      );
    }
  }
}

/**
 * Ask the group shim at `socket` to take a container: its pids, "full", or
 * "gone" when the shim is not there (exited, killed) or went away before it
 * answered.
 */
async function joinGroup(
  socket: string,
  opts: ShimOptions,
): Promise<CreatedRun | "full" | "gone"> {
  let conn: Deno.UnixConn;
  try {
    conn = await Deno.connect({ transport: "unix", path: socket });
  } catch (err) {
    // A socket nobody listens on is a killed shim's: remove it.
    if (err instanceof Deno.errors.ConnectionRefused) await Deno.remove(socket).catch(() => {});
    return "gone";
  }
  try {
    await writeLine(conn, { op: "join", options: opts } satisfies GroupRequest);
    const line = await readLine(conn);
    if (line === null) return "gone";
    const reply = JSON.parse(line) as GroupReply;
    if ("full" in reply) return "full";
    if (!reply.ok) throw new StartFailure(reply.error);
    // The shim keeps the container only once it knows the daemon has its pids.
    await writeLine(conn, { op: "ack" } satisfies GroupRequest);
    return {
      shimPid: reply.shim.pid,
      shimStartTime: reply.shim.startTime,
      pid: reply.pid,
      startTime: reply.startTime,
    };
  } finally {
    conn.close();
  }
}

/** The first line `conn` sends; null when it closes first (the reply is one short line). */
async function readLine(conn: Deno.UnixConn): Promise<string | null> {
  const buf = new Uint8Array(4096);
  let text = "";
  const dec = new TextDecoder();
  while (!text.includes("\n")) {
    const n = await conn.read(buf).catch(() => null);
    if (n === null) return null;
    text += dec.decode(buf.subarray(0, n), { stream: true });
  }
  return text.slice(0, text.indexOf("\n"));
}

async function writeLine(conn: Deno.UnixConn, msg: GroupRequest): Promise<void> {
  const data = new TextEncoder().encode(JSON.stringify(msg) + "\n");
  for (let off = 0; off < data.length;) off += await conn.write(data.subarray(off));
}
