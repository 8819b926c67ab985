/**
 * The event stream: Docker-shaped events, delivered to subscribers and kept in
 * a size-capped journal under `--root/events/` so `events --since` works
 * across daemon restarts.
 * @module
 */
import { join } from "node:path";
import { getLogger } from "@logtape/logtape";
import { errorMessage } from "../errdefs/mod.ts";

const log = getLogger(["corral", "events"]);

/** A Docker-shaped event. */
export interface CorralEvent {
  Type: "container" | "image" | "network" | "daemon";
  Action: string;
  Actor: { ID: string; Attributes: Record<string, string> };
  scope: "local";
  time: number;
  timeNano: number;
  /** Legacy fields Docker still sends for containers. */
  status?: string;
  id?: string;
  from?: string;
}

/** Filters as `events --filter` and the API's `filters` take them. */
export interface EventFilter {
  /** Container ids or names. */
  container?: string[];
  type?: string[];
  event?: string[];
  /** Seconds since the epoch (inclusive). */
  since?: number;
  /** Seconds since the epoch (inclusive). */
  until?: number;
}

/** Whether an event passes a filter. */
export function matchEvent(e: CorralEvent, f: EventFilter): boolean {
  if (f.since !== undefined && e.timeNano < f.since * 1e9) return false;
  if (f.until !== undefined && e.timeNano > f.until * 1e9) return false;
  if (f.type?.length && !f.type.includes(e.Type)) return false;
  if (f.event?.length && !f.event.some((a) => e.Action === a || e.Action.startsWith(a + ":"))) {
    return false;
  }
  if (f.container?.length) {
    const name = e.Actor.Attributes.name;
    if (!f.container.some((c) => e.Actor.ID.startsWith(c) || c === name)) return false;
  }
  return true;
}

/** A live subscription. */
export interface Subscription {
  /** The next event, or null once closed (also when dropped for being slow). */
  next(): Promise<CorralEvent | null>;
  /** Why it was closed, if it was dropped. */
  readonly dropped: string | null;
  close(): void;
}

/** Events a subscriber may leave unread before it is dropped. */
export const SUBSCRIBER_BUFFER = 1024;

/**
 * Publishes events and keeps the journal.
 *
 * @example
 * ```ts
 * declare const id: string;
 * const log = await EventLog.open("/var/lib/corral");
 * log.emit("container", "start", id, { name: "web", image: "busybox" });
 * ```
 */
export class EventLog {
  readonly #subs = new Set<
    { queue: CorralEvent[]; wake: (() => void) | null; dropped: string | null; filter: EventFilter }
  >();
  #file: Deno.FsFile | null = null;
  #size = 0;
  #chain: Promise<void> = Promise.resolve();
  #lastNano = 0;

  private constructor(readonly dir: string, readonly maxBytes: number) {}

  /** Open the journal in `root/events` (maxBytes per file; one older file kept). */
  static async open(root: string, maxBytes = 4 * 1024 * 1024): Promise<EventLog> {
    const log = new EventLog(join(root, "events"), maxBytes);
    await Deno.mkdir(log.dir, { recursive: true });
    log.#file = await Deno.open(log.#path(0), { append: true, create: true });
    log.#size = (await log.#file.stat()).size;
    return log;
  }

  #path(i: number): string {
    return join(this.dir, i === 0 ? "events.jsonl" : `events.${i}.jsonl`);
  }

  /** Publish an event. */
  emit(
    type: CorralEvent["Type"],
    action: string,
    id: string,
    attributes: Record<string, string> = {},
  ): CorralEvent {
    // Strictly increasing timestamps keep `--since` exact and the order stable.
    // A double near 1.7e18 has a 256 ns grain: step by a microsecond.
    const nano = Math.max(Date.now() * 1e6, this.#lastNano + 1000);
    this.#lastNano = nano;
    const e: CorralEvent = {
      Type: type,
      Action: action,
      Actor: { ID: id, Attributes: attributes },
      scope: "local",
      time: Math.floor(nano / 1e9),
      timeNano: nano,
    };
    if (type === "container") {
      e.status = action;
      e.id = id;
      if (attributes.image) e.from = attributes.image;
    }
    this.#append(e);
    for (const s of this.#subs) {
      if (!matchEvent(e, s.filter)) continue;
      if (s.queue.length >= SUBSCRIBER_BUFFER) {
        // A slow client must not hold the daemon: drop it.
        s.dropped = `event subscriber dropped: more than ${SUBSCRIBER_BUFFER} events unread`;
        this.#subs.delete(s);
      } else s.queue.push(e);
      s.wake?.();
    }
    return e;
  }

  #append(e: CorralEvent): void {
    const line = new TextEncoder().encode(JSON.stringify(e) + "\n");
    this.#chain = this.#chain.then(async () => {
      if (!this.#file) return;
      if (this.#size + line.length > this.maxBytes) {
        this.#file.close();
        await Deno.rename(this.#path(0), this.#path(1));
        this.#file = await Deno.open(this.#path(0), { append: true, create: true });
        this.#size = 0;
      }
      await this.#file.write(line);
      this.#size += line.length;
    }).catch((err) => log.error("event journal: {error}", { error: errorMessage(err) }));
  }

  /** Events from the journal that match (for `--since`), oldest first. */
  async history(filter: EventFilter): Promise<CorralEvent[]> {
    await this.#chain;
    const out: CorralEvent[] = [];
    for (const i of [1, 0]) {
      let text = "";
      try {
        text = await Deno.readTextFile(this.#path(i));
      } catch {
        continue;
      }
      for (const line of text.split("\n")) {
        if (!line) continue;
        try {
          const e = JSON.parse(line) as CorralEvent;
          if (matchEvent(e, filter)) out.push(e);
        } catch {
          // A torn last line after a crash.
        }
      }
    }
    return out;
  }

  /** Subscribe to new events. */
  subscribe(filter: EventFilter = {}): Subscription {
    const s = {
      queue: [] as CorralEvent[],
      wake: null as (() => void) | null,
      dropped: null as string | null,
      filter,
    };
    this.#subs.add(s);
    let closed = false;
    const subs = this.#subs;
    return {
      async next() {
        while (!closed) {
          const e = s.queue.shift();
          if (e) return e;
          if (s.dropped) return null;
          await new Promise<void>((r) => s.wake = r);
          s.wake = null;
        }
        return null;
      },
      get dropped() {
        return s.dropped;
      },
      close() {
        closed = true;
        subs.delete(s);
        s.wake?.();
      },
    };
  }

  /** Flush and close the journal; subscribers are told the daemon is going away. */
  async close(): Promise<void> {
    await this.#chain;
    this.#file?.close();
    this.#file = null;
    for (const s of this.#subs) {
      s.dropped = "the daemon is shutting down";
      s.wake?.();
    }
    this.#subs.clear();
  }
}
