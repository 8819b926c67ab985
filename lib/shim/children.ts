/**
 * The shim's children and orphans: as subreaper it reaps every process that
 * ends up its child (the container init, an exec'd process whose `runc exec
 * --detach` exited, anything they leave behind) and hands exit codes to
 * whoever waits for that pid. Processes spawned through `Deno.Command` are
 * Deno's to reap and are left alone (platform.md).
 * @module
 */
import { childPids, reap } from "../sys/reaper.ts";

/** Exit codes kept for pids nobody waited for yet (a process quicker than its waiter). */
const KEEP_UNCLAIMED = 256;

/**
 * Reaps the shim's children and reports their exit codes.
 *
 * @example
 * ```ts
 * const reaper = new ChildReaper();
 * reaper.start();
 * const code = await reaper.wait(1234);
 * reaper.stop();
 * ```
 */
export class ChildReaper {
  readonly #waiters = new Map<number, (code: number) => void>();
  readonly #unclaimed = new Map<number, number>();
  readonly #denoChildren = new Set<number>();
  #backstop: ReturnType<typeof setInterval> | undefined;
  readonly #check = () => this.#reapAll();

  /** Reap on every SIGCHLD, and on a slow timer (signals coalesce). */
  start(): void {
    Deno.addSignalListener("SIGCHLD", this.#check);
    // Rare, so that idle shims stay asleep; every check reaps all children.
    this.#backstop = setInterval(this.#check, 30_000);
    this.#reapAll();
  }

  /** Stop reaping. */
  stop(): void {
    Deno.removeSignalListener("SIGCHLD", this.#check);
    clearInterval(this.#backstop);
  }

  /** Spawn through Deno.Command; Deno reaps it, this reaper leaves it alone. */
  spawn(cmd: string, options: Deno.CommandOptions): Deno.ChildProcess {
    const child = new Deno.Command(cmd, options).spawn();
    this.#denoChildren.add(child.pid);
    child.status.finally(() => this.#denoChildren.delete(child.pid)).catch(() => {});
    return child;
  }

  /** The exit code (or 128+signal) of a child or orphan `pid`. */
  wait(pid: number): Promise<number> {
    const code = this.#unclaimed.get(pid);
    if (code !== undefined) {
      this.#unclaimed.delete(pid);
      return Promise.resolve(code);
    }
    const p = new Promise<number>((resolve) => this.#waiters.set(pid, resolve));
    this.#reapAll();
    return p;
  }

  #reapAll(): void {
    for (const pid of childPids()) {
      if (this.#denoChildren.has(pid)) continue;
      const code = reap(pid);
      if (code === null) continue;
      const waiter = this.#waiters.get(pid);
      if (waiter) {
        this.#waiters.delete(pid);
        waiter(code);
        continue;
      }
      this.#unclaimed.set(pid, code);
      if (this.#unclaimed.size > KEEP_UNCLAIMED) {
        this.#unclaimed.delete(this.#unclaimed.keys().next().value!);
      }
    }
  }
}
