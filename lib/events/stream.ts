/**
 * The body of `GET /events`: journal history for `--since`, then live
 * events until `--until`, as JSON lines. The body is pulled: while the
 * client does not read, nothing is taken from the subscription, so its
 * bounded buffer fills and the slow client is dropped instead of the daemon
 * buffering for it without limit.
 * @module
 */
import type { CorralEvent, EventFilter, EventLog } from "./events.ts";

/** History lines sent per pull. */
const HISTORY_BATCH = 256;

/**
 * Open an event stream for a filter (`since`/`until` in seconds).
 *
 * @example
 * ```ts
 * import type { EventLog } from "./events.ts";
 * declare const events: EventLog;
 * const body = await eventStream(events, { type: ["container"], since: 0 });
 * const response = new Response(body, { headers: { "content-type": "application/json" } });
 * ```
 */
export async function eventStream(
  log: EventLog,
  filter: EventFilter,
): Promise<ReadableStream<Uint8Array>> {
  const enc = new TextEncoder();
  const line = (v: unknown) => enc.encode(JSON.stringify(v) + "\n");
  const untilMs = filter.until !== undefined ? filter.until * 1000 - Date.now() : Infinity;
  // Subscribe before reading the history so that nothing falls in between.
  const sub = untilMs > 0 ? log.subscribe({ ...filter, since: undefined }) : null;
  const past: CorralEvent[] = filter.since !== undefined ? await log.history(filter) : [];
  // Timestamps strictly increase: anything up to the last past event was sent already.
  const sentUpTo = past.at(-1)?.timeNano ?? 0;
  let next = 0;
  let cancelled = false;
  const timer = sub && untilMs !== Infinity ? setTimeout(() => sub.close(), untilMs) : undefined;
  const end = () => {
    clearTimeout(timer);
    sub?.close();
  };
  return new ReadableStream<Uint8Array>({
    async pull(ctrl) {
      if (next < past.length) {
        const batch = past.slice(next, next + HISTORY_BATCH);
        next += batch.length;
        ctrl.enqueue(enc.encode(batch.map((e) => JSON.stringify(e) + "\n").join("")));
        return;
      }
      for (;;) {
        const e = await sub?.next() ?? null;
        if (cancelled) return;
        if (!e) {
          if (sub?.dropped) ctrl.enqueue(line({ message: sub.dropped }));
          end();
          ctrl.close();
          return;
        }
        if (e.timeNano <= sentUpTo) continue;
        ctrl.enqueue(line(e));
        return;
      }
    },
    cancel() {
      cancelled = true;
      end();
    },
  });
}
