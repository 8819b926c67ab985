/**
 * Driving the benchmark's corral daemon over its API: containers in bulk,
 * events with the time they arrive, the daemon's memory.
 * @module
 */
import type { ApiClient } from "../lib/api/mod.ts";
import type { CorralEvent } from "../lib/events/mod.ts";
import { inPool } from "./pool.ts";

/** The image every corral benchmark runs. */
export const IMAGE = "busybox";

/**
 * Create a container of `cmd` (HostConfig fields as the API takes them); returns its id.
 *
 * @example
 * ```ts
 * const id = await createContainer(d.api, ["sleep", "1000"]);
 * ```
 */
export async function createContainer(
  api: ApiClient,
  cmd: string[],
  hostConfig: Record<string, unknown> = {},
): Promise<string> {
  const r = await api.json<{ Id: string }>("POST", "/containers/create", {
    Image: IMAGE,
    Cmd: cmd,
    HostConfig: hostConfig,
  });
  return r.Id;
}

/**
 * Create and start a container (the start call returns once it runs).
 *
 * @example
 * ```ts
 * const id = await runDetached(d.api, ["sleep", "1000"]);
 * ```
 */
export async function runDetached(
  api: ApiClient,
  cmd: string[],
  hostConfig: Record<string, unknown> = {},
): Promise<string> {
  const id = await createContainer(api, cmd, hostConfig);
  await startContainer(api, id);
  return id;
}

/** Start a created container. */
export async function startContainer(api: ApiClient, id: string): Promise<void> {
  const res = await api.call("POST", `/containers/${id}/start`);
  await res.body?.cancel();
}

/** `rm -f` through the API. */
export async function removeForce(api: ApiClient, id: string): Promise<void> {
  const res = await api.call("DELETE", `/containers/${id}?force=1`);
  await res.body?.cancel();
}

/** Remove every container of the daemon, a few at a time. */
export async function removeAllContainers(api: ApiClient, concurrency = 4): Promise<void> {
  const list = await api.json<{ Id: string }[]>("GET", "/containers/json?all=1");
  await inPool(list, concurrency, (c) => removeForce(api, c.Id));
}

/** The daemon's container count (all states). */
export async function containerCount(api: ApiClient): Promise<number> {
  return (await api.json<unknown[]>("GET", "/containers/json?all=1")).length;
}

/** An event and when the benchmark received it (performance.now()). */
export interface ReceivedEvent {
  event: CorralEvent;
  at: number;
}

/**
 * A live `GET /events` stream; `next()` gives events with their arrival time.
 *
 * @example
 * ```ts
 * const events = await EventStream.open(d.api, { container: [id], event: ["die"] });
 * const die = await events.next();
 * events.close();
 * ```
 */
export class EventStream {
  readonly #reader: ReadableStreamDefaultReader<string>;
  #buf = "";

  private constructor(reader: ReadableStreamDefaultReader<string>) {
    this.#reader = reader;
  }

  /** Subscribe (the response headers arrive once the subscription is armed). */
  static async open(api: ApiClient, filters: Record<string, string[]>): Promise<EventStream> {
    const res = await api.call(
      "GET",
      `/events?filters=${encodeURIComponent(JSON.stringify(filters))}`,
    );
    return new EventStream(res.body!.pipeThrough(new TextDecoderStream()).getReader());
  }

  /** The next event, or null when the stream ended. */
  async next(): Promise<ReceivedEvent | null> {
    while (true) {
      const nl = this.#buf.indexOf("\n");
      if (nl >= 0) {
        const line = this.#buf.slice(0, nl);
        this.#buf = this.#buf.slice(nl + 1);
        if (line.trim()) return { event: JSON.parse(line), at: performance.now() };
        continue;
      }
      const { value, done } = await this.#reader.read();
      if (done) return null;
      this.#buf += value;
    }
  }

  /** Stop reading. */
  close(): void {
    this.#reader.cancel().catch(() => {});
  }
}
