/**
 * Start a container's shim, detached, and read its handshake.
 * @module
 */
import { shimArgs, type ShimHandshake, type ShimOptions } from "../shim/mod.ts";
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
  const [cmd, ...pre] = command;
  const child = spawnClean(cmd, {
    args: [...pre, ...shimArgs(opts)],
    stdin: "null",
    stdout: "piped",
    stderr: "null",
    detached: true,
    env: { RUST_BACKTRACE: "0" },
  });
  child.unref();
  const shimStartTime = processStartTime(child.pid);
  // Read only the handshake line: Deno keeps a dup of the shim's stdout, so
  // the pipe is never closed by the shim.
  const text = await firstLine(child.stdout);
  let msg: ShimHandshake;
  try {
    msg = JSON.parse(text.trim().split("\n")[0]);
  } catch {
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
    shimStartTime,
    pid: msg.pid,
    startTime: msg.startTime,
    exited: child.status,
  };
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
