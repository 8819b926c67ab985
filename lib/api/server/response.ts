/**
 * The answers routes give: JSON, no content, JSON lines and Docker's
 * multiplexed stream, and a body produced as it is written.
 * @module
 */
import { errorMessage } from "../../errdefs/mod.ts";
import { getLogger } from "@logtape/logtape";

const log = getLogger(["corral", "api"]);

/**
 * A JSON answer.
 *
 * @example
 * ```ts
 * json({ Id: "0123abcd", Warnings: [] }, 201);
 * ```
 */
export function json(body: unknown, status = 200): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { "content-type": "application/json" },
  });
}

/** 204, for the actions that answer nothing. */
export function noContent(): Response {
  return new Response(null, { status: 204 });
}

/** A JSON answer whose body is already written or streamed (one object per line). */
export function jsonLines(body: BodyInit): Response {
  return new Response(body, { headers: { "content-type": "application/json" } });
}

/** Frames of Docker's multiplexed stream (logs, attach, exec). */
export function multiplexed(body: ReadableStream<Uint8Array>): Response {
  return new Response(body, {
    headers: { "content-type": "application/vnd.docker.multiplexed-stream" },
  });
}

/**
 * A body written by `produce` as it goes; an error of `produce` is logged and
 * ends the body. A client that goes away is a normal end, not an error: what
 * `produce` writes after it is dropped.
 *
 * @example
 * ```ts
 * declare const result: Promise<unknown>;
 * streamOf(async (write) => write(new TextEncoder().encode(JSON.stringify(await result))));
 * ```
 */
export function streamOf(
  produce: (write: (chunk: Uint8Array) => void) => Promise<void>,
): ReadableStream<Uint8Array> {
  let cancelled = false;
  return new ReadableStream({
    async start(ctrl) {
      try {
        await produce((chunk) => {
          if (!cancelled) ctrl.enqueue(chunk);
        });
      } catch (err) {
        log.error("stream: {error}", { error: errorMessage(err) });
      }
      if (!cancelled) ctrl.close();
    },
    cancel() {
      cancelled = true;
    },
  });
}
