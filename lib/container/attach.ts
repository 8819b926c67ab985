/**
 * Attach and resize: reaching a container's streams through its shim's
 * attach socket (the shim holds stdin and the terminal, so they outlive the
 * daemon). A client may attach before the container starts (`docker run`,
 * `docker start -a`): it is connected at its next run's create, before
 * `runc start`, and sees all of the output.
 * @module
 */
import { conflict } from "../errdefs/mod.ts";
import { attachSocketPath, connectShim, type ShimRequest, type ShimSession } from "../shim/mod.ts";
import type { Container } from "./container.ts";
import type { ContainerService } from "./service.ts";

/** A pending or made connection to a container's shim. */
export interface PendingAttach {
  /** Resolves with the session once connected (now, or at the next run's create). */
  session: Promise<ShimSession>;
  /** Give up waiting (the client went away); a made session is closed. */
  cancel(): void;
}

/**
 * Whether a container's streams are reached through its shim rather than
 * its log: it has a terminal or an open stdin, and its run's shim has an
 * attach socket (a run started by a v1 shim has none).
 *
 * @example
 * ```ts
 * import type { Container } from "./container.ts";
 * declare const c: Container;
 * declare const bundle: string;
 * if (attachesThroughShim(c, bundle)) console.log("stdin and terminal through the shim");
 * ```
 */
export function attachesThroughShim(c: Container, bundle: string): boolean {
  const cfg = c.rec.Config;
  if (!cfg.Tty && !cfg.OpenStdin) return false;
  if (!c.rec.State.Running) return true;
  try {
    return Deno.statSync(attachSocketPath(bundle)).isSocket === true;
  } catch {
    return false;
  }
}

/**
 * Attach to a container through its shim: at once when it runs, else at its
 * next start.
 *
 * @example
 * ```ts
 * import type { ContainerService } from "./service.ts";
 * declare const svc: ContainerService;
 * const pending = attachToShim(svc, "web", { op: "attach", stdin: true, stdout: true, stderr: true });
 * const s = await pending.session;
 * ```
 */
export function attachToShim(svc: ContainerService, ref: string, req: ShimRequest): PendingAttach {
  const c = svc.store.get(ref);
  const bundle = svc.runtime.bundle(c.id).dir;
  if (c.rec.State.Running) {
    const session = connectShim(bundle, req);
    return { session, cancel: () => void session.then((s) => s.close(), () => {}) };
  }
  let cancelled = false;
  let made: ShimSession | null = null;
  let waiter: () => Promise<void> = () => Promise.resolve();
  const session = new Promise<ShimSession>((resolve, reject) => {
    waiter = async () => {
      try {
        made = await connectShim(bundle, req);
        if (cancelled) made.close();
        resolve(made);
      } catch (err) {
        reject(err);
      }
    };
  });
  const waiters = svc.core.attachWaiters;
  if (!waiters.has(c.id)) waiters.set(c.id, new Set());
  waiters.get(c.id)!.add(waiter);
  return {
    session,
    cancel: () => {
      cancelled = true;
      waiters.get(c.id)?.delete(waiter);
      (made as ShimSession | null)?.close();
    },
  };
}

/**
 * Set the window size of a container's terminal, or of one of its execs'.
 *
 * @example
 * ```ts
 * import type { ContainerService } from "./service.ts";
 * declare const svc: ContainerService;
 * await resizeTerminal(svc, "web", 40, 120);
 * ```
 */
export async function resizeTerminal(
  svc: ContainerService,
  ref: string,
  h: number,
  w: number,
  execId?: string,
): Promise<void> {
  const c = svc.store.get(ref);
  if (!c.rec.State.Running) throw conflict(`container ${c.name} is not running`);
  const s = await connectShim(svc.runtime.bundle(c.id).dir, { op: "resize", exec: execId, h, w });
  s.close();
  if (!s.reply.ok) throw conflict(`cannot resize ${c.name}: ${s.reply.error}`);
}
