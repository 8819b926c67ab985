/**
 * An exec with streams, run by the shim on a client's connection: with a
 * terminal (`runc exec --tty --detach --console-socket`: the shim receives
 * the pty master and reaps the process), or with stdin piped (`runc exec`
 * in the foreground). Output goes to the connection as frames, then the exit
 * code as the last control frame.
 * @module
 */
import { listenUnix, receiveFd } from "../sys/console.ts";
import { closeFd } from "../sys/fd.ts";
import { sleep } from "../sys/proc.ts";
import { shortSocketPath } from "../sys/short_path.ts";
import {
  controlFrame,
  type ExecRequest,
  FrameSender,
  type ShimReply,
  writeAll,
} from "./attach_protocol.ts";
import type { ChildReaper } from "./children.ts";
import { consoleSocketName } from "./contract.ts";
import { encodeFrame, STDERR, STDOUT } from "./frames.ts";
import { PtyMaster } from "./pty.ts";
import { runcExecArgs } from "./runc_args.ts";

/** Where an exec's stdin frames go. */
export interface ExecSession {
  stdin(bytes: Uint8Array): Promise<void>;
  end(): Promise<void>;
}

/** How long output is still copied after the exec'd process exited. */
const DRAIN_MS = 2000;

/** The container an exec runs in. */
interface ExecTarget {
  id: string;
  bundle: string;
  runtime: string;
  runtimeRoot: string;
}

/**
 * Start an exec and stream it on `conn`; resolves once it runs (or failed,
 * which the client was told), while the exec goes on in the background.
 * `terminals` holds its pty while it runs, for resize.
 */
export async function runExec(
  target: ExecTarget,
  reaper: ChildReaper,
  req: ExecRequest["exec"],
  conn: Deno.Conn,
  terminals: Map<string, PtyMaster>,
): Promise<ExecSession> {
  const reply = (r: ShimReply) => writeAll(conn, controlFrame(r));
  const frames = new Chain(conn);
  const global = { root: target.runtimeRoot };
  const none: ExecSession = { stdin: () => Promise.resolve(), end: () => Promise.resolve() };
  if (req.tty) {
    const name = consoleSocketName(req.execId);
    const sock = shortSocketPath(target.bundle, name, Deno.pid);
    let consoleFd = -1;
    let master: number | null = null;
    try {
      consoleFd = listenUnix(sock.path);
      const out = await reaper.spawn(target.runtime, {
        args: runcExecArgs(global, { ...req, consoleSocket: sock.path }),
        stdin: "null",
        stdout: "piped",
        stderr: "piped",
      }).output();
      if (!out.success) {
        throw new Error(
          new TextDecoder().decode(out.stderr).trim() || `runc exec exited ${out.code}`,
        );
      }
      master = receiveFd(consoleFd);
      if (master === null) throw new Error("runc sent no terminal over the console socket");
    } catch (err) {
      await reply({ ok: false, error: (err as Error).message }).catch(() => {});
      conn.close();
      return none;
    } finally {
      if (consoleFd >= 0) closeFd(consoleFd);
      sock.close();
      Deno.remove(`${target.bundle}/${name}`).catch(() => {});
    }
    const pid = Number(Deno.readTextFileSync(req.pidFile).trim());
    const pty = new PtyMaster(master);
    pty.resize(24, 80);
    terminals.set(req.execId, pty);
    await reply({ ok: true, tty: true, pid });
    const copied = frames.copy(pty.output, STDOUT);
    void (async () => {
      const exitCode = await reaper.wait(pid);
      await Promise.race([copied, sleep(DRAIN_MS)]);
      terminals.delete(req.execId);
      pty.close();
      await frames.end(exitCode);
    })();
    return { stdin: (b) => pty.write(b), end: () => Promise.resolve() };
  }
  const child = reaper.spawn(target.runtime, {
    args: runcExecArgs(global, req),
    stdin: req.stdin ? "piped" : "null",
    stdout: "piped",
    stderr: "piped",
  });
  await reply({ ok: true, tty: false, pid: child.pid });
  const copied = Promise.all([
    frames.copy(child.stdout, STDOUT),
    frames.copy(child.stderr, STDERR),
  ]);
  void (async () => {
    const { code } = await child.status;
    await Promise.race([copied, sleep(DRAIN_MS)]);
    await frames.end(code);
  })();
  if (!req.stdin) return none;
  const writer = child.stdin.getWriter();
  return {
    stdin: (b) => writer.write(b).catch(() => {}),
    end: () => writer.close().catch(() => {}),
  };
}

/** Frames to one connection, in order, and its end. */
class Chain extends FrameSender {
  /** Copy a stream as frames of `id`. */
  async copy(stream: ReadableStream<Uint8Array>, id: number): Promise<void> {
    try {
      for await (const chunk of stream) await this.send(encodeFrame(id, chunk));
    } catch {
      // A closed terminal: its end.
    }
  }

  /** The exit report, then close. */
  async end(exitCode: number): Promise<void> {
    await this.send(controlFrame({ exitCode }));
    this.close();
  }
}
