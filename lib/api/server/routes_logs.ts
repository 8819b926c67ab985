/**
 * A container's output: `GET /containers/ID/logs`, and the attach of a
 * container without a terminal or stdin (output and exit only), both as
 * frames of Docker's multiplexed stream read from the json-file log.
 * @module
 */
import type { Container, ContainerService } from "../../container/mod.ts";
import { errorMessage, invalid } from "../../errdefs/mod.ts";
import { type LogEntry, readLogTail, streamLogEntries } from "../../shim/mod.ts";
import { encodeFrame, STDERR, STDOUT } from "../stream.ts";
import { concat } from "./bytes.ts";
import { LogFollower } from "./follow.ts";
import { boolParam, parseTime } from "./request.ts";
import { multiplexed } from "./response.ts";
import type { AddRoute, ApiContext } from "./server.ts";
import { getLogger } from "@logtape/logtape";

const log = getLogger(["corral", "api"]);

/** Register the logs route. */
export function logRoutes(route: AddRoute, { service: svc }: ApiContext): void {
  route("GET", "/containers/{id}/logs", (_r, url, p) => logStream(svc, p.id, url, false));
}

/**
 * Attach to a container's output through its log: what its next run (or
 * the current one) writes, until it exits.
 */
export function attachToLog(svc: ContainerService, ref: string, url: URL): Promise<Response> {
  return logStream(svc, ref, url, true);
}

/** What a logs or attach request reads and how it shows it. */
interface LogQuery {
  attach: boolean;
  stdout: boolean;
  stderr: boolean;
  follow: boolean;
  timestamps: boolean;
  /** The last lines to read first; Infinity for all of them. */
  tail: number;
  /** Unix seconds. */
  since: number | undefined;
}

/** One container's log, as a request reads it. */
interface LogSource {
  container: Container;
  path: string;
  maxFiles: number;
  /** The container's run when the request came: attach follows the next one. */
  seq: number;
  /** Reads what is appended, for logs -f and attach. */
  follower: LogFollower | null;
}

function logQuery(url: URL, attach: boolean): LogQuery {
  const stdout = attach ? true : boolParam(url, "stdout");
  const stderr = attach ? true : boolParam(url, "stderr");
  if (!attach && !stdout && !stderr) throw invalid("you must choose at least one stream");
  // As Docker: anything but a non-negative count (`all`, `-1`, empty) means every line.
  const tailRaw = url.searchParams.get("tail") ?? "";
  return {
    attach,
    stdout,
    stderr,
    follow: attach || boolParam(url, "follow"),
    timestamps: boolParam(url, "timestamps"),
    tail: /^\d+$/.test(tailRaw) ? Number(tailRaw) : Infinity,
    since: parseTime(url.searchParams.get("since")),
  };
}

/** logs and attach: frames from the json-file log, read as the client takes them. */
async function logStream(
  svc: ContainerService,
  ref: string,
  url: URL,
  attach: boolean,
): Promise<Response> {
  const c = svc.store.get(ref);
  const q = logQuery(url, attach);
  const path = svc.disk.logPath(c.id);
  const seq = c.runSeq;
  // attach: only what the next run writes. logs -f: the follower reads the current
  // file from where the initial read stopped (its start, or its end after a tail), so no
  // line is read twice.
  const follower = q.follow ? await LogFollower.open(path, !attach && q.tail === Infinity) : null;
  const src = { container: c, path, maxFiles: svc.opts.logMaxFiles, seq, follower };
  return multiplexed(pulledStream((stopped) => logChunks(src, q, stopped)));
}

/** One chunk of frames per batch of entries (one file read's worth), not one per line. */
function batchFramer(q: LogQuery): (batch: LogEntry[]) => Uint8Array {
  const enc = new TextEncoder();
  const frame = (e: LogEntry) => {
    if ((e.stream === "stdout" && !q.stdout) || (e.stream === "stderr" && !q.stderr)) return null;
    if (q.since !== undefined && Date.parse(e.time) / 1000 < q.since) return null;
    // Docker's fixed-width RFC 3339 (nanoseconds), which tools cut by column.
    const stamp = e.time.replace(/\.(\d+)Z$/, (_, f: string) => `.${f.padEnd(9, "0")}Z`);
    const text = q.timestamps ? `${stamp} ${e.log}` : e.log;
    return encodeFrame(e.stream === "stderr" ? STDERR : STDOUT, enc.encode(text));
  };
  return (batch) => concat(batch.map(frame).filter((f) => f !== null));
}

/** The log's frames: what is there (not for attach), then, when following, what comes. */
async function* logChunks(
  src: LogSource,
  q: LogQuery,
  stopped: () => boolean,
): AsyncGenerator<Uint8Array> {
  const { container: c, follower } = src;
  const frames = batchFramer(q);
  try {
    if (!q.attach) {
      const initial = q.tail === Infinity
        ? streamLogEntries(src.path, src.maxFiles, !follower)
        : [await readLogTail(src.path, q.tail, src.maxFiles, follower?.offset)];
      for await (const batch of initial) yield frames(batch);
    }
    if (!follower) return;
    const finished = () =>
      q.attach
        ? c.runSeq > src.seq && !c.exitHandled && !c.rec.State.Running
        : !c.rec.State.Running && !c.exitHandled;
    const done = c.waitFor(() => c.removed || finished());
    let ended = false;
    done.then(() => ended = true);
    while (!stopped()) {
      // Read once more after the end was seen: what the last moments wrote.
      const last = ended;
      for await (const batch of follower.read()) yield frames(batch);
      if (last) break;
      await Promise.race([done, new Promise((r) => setTimeout(r, 50))]);
    }
  } finally {
    follower?.close();
  }
}

/**
 * A body pulled from `produce`'s chunks, not pushed: a slow client holds the
 * reads back instead of the daemon queueing the whole log in memory.
 * `stopped` tells `produce` that the client went away.
 */
function pulledStream(
  produce: (stopped: () => boolean) => AsyncGenerator<Uint8Array>,
): ReadableStream<Uint8Array> {
  let stopped = false;
  const chunks = produce(() => stopped);
  return new ReadableStream<Uint8Array>({
    async pull(ctrl) {
      try {
        for (;;) {
          const { value, done } = await chunks.next();
          if (stopped) return; // Cancelled meanwhile: the stream takes nothing more.
          if (done) return ctrl.close();
          if (value.length) return ctrl.enqueue(value);
        }
      } catch (err) {
        log.error("stream: {error}", { error: errorMessage(err) });
        if (!stopped) ctrl.close();
      }
    },
    async cancel() {
      // Ends a follow loop that is waiting; a generator paused at a yield ends here.
      stopped = true;
      await chunks.return(undefined);
    },
  });
}
