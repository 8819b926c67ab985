/**
 * The daemon between a hijacked client connection and a shim session:
 * stdin from the client to the shim (detach keys taken out, its end passed
 * on), output from the shim to the client, raw with a terminal and as
 * Docker's multiplexed frames without. Both ways are back-pressured, so the
 * daemon holds at most a chunk of a large input, never the whole.
 * @module
 */
import type { ShimSession } from "../../shim/mod.ts";
import { encodeFrame } from "../stream.ts";
import { DetachScanner } from "../detach_keys.ts";

/** What a proxied stream joins. */
export interface ProxyOptions {
  /** The session, once connected (for a container not yet started: at its start). */
  session: Promise<ShimSession>;
  /** The client's stdin (a hijacked connection's), or null. */
  input: ReadableStream<Uint8Array> | null;
  /** The detach sequence's bytes; as Docker, they apply only with a terminal. */
  detachKeys: number[];
  /**
   * Reads the session's output to its end (an exec's records its exit code);
   * the session's own `output` by default.
   */
  output?: (onData: (stream: number, payload: Uint8Array) => Promise<void>) => Promise<unknown>;
  /** The client went away before the session was made. */
  cancel(): void;
}

/**
 * The response body of an attach or exec: the shim's output, as the client
 * reads it, while the client's stdin is sent to the shim.
 *
 * @example
 * ```ts
 * import type { ShimSession } from "../../shim/mod.ts";
 * declare const session: ShimSession;
 * const body = proxyStreams({ session: Promise.resolve(session), input: null, detachKeys: [], cancel: () => {} });
 * ```
 */
export function proxyStreams(o: ProxyOptions): ReadableStream<Uint8Array> {
  let session: ShimSession | null = null;
  let ended = false;
  let pulled: (() => void) | null = null;
  const end = () => {
    if (ended) return;
    ended = true;
    session?.close();
    o.cancel();
    pulled?.();
  };
  return new ReadableStream<Uint8Array>({
    async start(ctrl) {
      try {
        session = await o.session;
      } catch {
        ended = true;
        ctrl.close();
        return;
      }
      if (ended) return session.close();
      const s = session;
      const raw = s.reply.ok && s.reply.tty;
      if (o.input) {
        void sendInput(s, o.input, raw ? o.detachKeys : [], () => {
          end();
          try {
            ctrl.close();
          } catch {
            // Closed already.
          }
        });
      }
      const output = o.output ?? ((onData) => s.output(onData));
      void (async () => {
        try {
          await output(async (stream, payload) => {
            if (ended) return;
            ctrl.enqueue(raw ? payload : encodeFrame(stream, payload));
            // Back-pressure: the next frame once the client took this one.
            while (!ended && (ctrl.desiredSize ?? 0) <= 0) {
              await new Promise<void>((r) => pulled = r);
            }
          });
        } catch {
          // The shim went away: the stream ends.
        }
        if (ended) return;
        end();
        ctrl.close();
      })();
    },
    pull() {
      pulled?.();
      pulled = null;
    },
    cancel() {
      end();
    },
  }, { highWaterMark: 1 });
}

/**
 * The client's stdin to the shim; its end ends stdin. The detach keys end
 * the attach without ending stdin (`detached`).
 */
async function sendInput(
  s: ShimSession,
  input: ReadableStream<Uint8Array>,
  keys: number[],
  detached: () => void,
): Promise<void> {
  const scan = new DetachScanner(keys);
  try {
    for await (const chunk of input) {
      const { pass, detached: hit } = scan.push(chunk);
      if (pass.length) await s.stdin(pass);
      if (hit) return detached();
    }
    await s.endStdin();
  } catch {
    // The shim or the client went away: the output side ends the stream.
  }
}
