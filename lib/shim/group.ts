/**
 * A group shim (`corral shim --group`): one process serving up to `max`
 * containers, each a {@linkcode ContainerRun} with its own files, streams
 * and attach socket (its terminal too: the console socket `runc create`
 * sends it over is served by this process), so a
 * container's start costs no Deno start and a container far less memory. The
 * daemon hands it containers through a unix control socket (one JSON line
 * each way, `GroupRequest`/`GroupReply` in contract.ts). With no container
 * left for `idleMs` it removes its socket and exits.
 *
 * Blast radius: a group shim that dies (SIGKILL, a bug) closes the exit fifos
 * of every container it served; the daemon then handles each as a run whose
 * shim was killed (no exit file: 137), kills what is left and applies its
 * restart policy. A container's own exit touches only its run.
 * @module
 */
import { processStartTime } from "../sys/proc.ts";
import { Children } from "./children.ts";
import type { GroupReply, GroupRequest } from "./contract.ts";
import { stopPtyEpoll } from "./pty.ts";
import { ContainerRun } from "./run.ts";
import { handshake, protectFromOomKiller } from "./shim.ts";

/** What the daemon tells a group shim. */
export interface GroupOptions {
  /** The control socket to serve. */
  control: string;
  /** Containers served at most at once. */
  max: number;
  /** With no container for this long, the shim exits. */
  idleMs: number;
}

/** Turn GroupOptions into `corral shim --group` arguments. */
export function groupShimArgs(o: GroupOptions): string[] {
  return [
    "shim",
    "--group",
    "--control",
    o.control,
    "--max",
    String(o.max),
    "--idle",
    String(
      o.idleMs,
    ),
  ];
}

/** Parse `corral shim --group` arguments (the daemon wrote them); null when not a group's. */
export function parseGroupShimArgs(args: string[]): GroupOptions | null {
  if (args[0] !== "--group") return null;
  const m = new Map<string, string>();
  for (let i = 1; i < args.length - 1; i += 2) m.set(args[i].replace(/^--/, ""), args[i + 1]);
  const control = m.get("control");
  if (!control) throw new Error("corral shim --group: missing --control");
  return {
    control,
    max: Number(m.get("max") ?? 1),
    idleMs: Number(m.get("idle") ?? 5000),
  };
}

/** Run a group shim until it has been idle for `idleMs`; returns the process exit code. */
export async function runShimGroup(o: GroupOptions): Promise<number> {
  protectFromOomKiller();
  const children = new Children();
  await Deno.remove(o.control).catch(() => {});
  const listener = Deno.listen({ transport: "unix", path: o.control });
  // Runs (joins under way included) count against `max`; open connections
  // too keep the shim up, so a request already sent is always answered.
  let runs = 0;
  let conns = 0;
  let idle: ReturnType<typeof setTimeout> | undefined;
  let stop!: () => void;
  const stopped = new Promise<void>((r) => stop = r);
  const maybeIdle = () => {
    if (runs > 0 || conns > 0) return;
    idle = setTimeout(() => {
      if (runs > 0 || conns > 0) return;
      // The socket first: a daemon that finds it gone starts another shim.
      try {
        Deno.removeSync(o.control);
      } catch {
        // Removed with the state dir.
      }
      listener.close();
      stop();
    }, o.idleMs);
  };
  const shim = { pid: Deno.pid, startTime: processStartTime(Deno.pid) };
  const join = async (conn: Deno.UnixConn, lines: AsyncIterator<string>, req: GroupRequest) => {
    if (req.op !== "join") return;
    if (runs >= o.max) return await reply(conn, { full: true });
    runs++;
    let joined = false;
    try {
      const { run, handshake: msg } = await ContainerRun.create(req.options, children);
      if (!run) return await reply(conn, { ...msg, shim });
      const acked = await reply(conn, { ...msg, shim }).then(() => nextRequest(lines)).then(
        (r) => r?.op === "ack",
        () => false,
      );
      if (!acked) return await run.abort(children);
      joined = true;
      run.finished.catch(() => {}).finally(() => {
        runs--;
        maybeIdle();
      });
    } finally {
      if (!joined) runs--;
    }
  };
  const serve = async (conn: Deno.UnixConn) => {
    conns++;
    clearTimeout(idle);
    const lines = readLines(conn);
    try {
      const req = await nextRequest(lines);
      if (req) await join(conn, lines, req);
    } catch {
      // The daemon went away mid-request; a run it never acknowledged was aborted.
    } finally {
      conn.close();
      conns--;
      maybeIdle();
    }
  };
  handshake({ ok: true, ...shim });
  maybeIdle(); // a shim nobody joins does not stay
  (async () => {
    try {
      for await (const conn of listener) serve(conn as Deno.UnixConn);
    } catch {
      // Closed.
    }
  })();
  await stopped;
  await stopPtyEpoll();
  children.close();
  return 0;
}

async function reply(conn: Deno.UnixConn, msg: GroupReply): Promise<void> {
  const data = new TextEncoder().encode(JSON.stringify(msg) + "\n");
  for (let off = 0; off < data.length;) off += await conn.write(data.subarray(off));
}

async function nextRequest(lines: AsyncIterator<string>): Promise<GroupRequest | null> {
  const { value, done } = await lines.next();
  return done ? null : JSON.parse(value) as GroupRequest;
}

/** The lines a connection sends, until it closes. */
async function* readLines(conn: Deno.UnixConn): AsyncGenerator<string> {
  const dec = new TextDecoder();
  const buf = new Uint8Array(64 * 1024);
  let text = "";
  while (true) {
    const n = await conn.read(buf);
    if (n === null) return;
    text += dec.decode(buf.subarray(0, n), { stream: true });
    let nl;
    while ((nl = text.indexOf("\n")) >= 0) {
      yield text.slice(0, nl);
      text = text.slice(nl + 1);
    }
  }
}
