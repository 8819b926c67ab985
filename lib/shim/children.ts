/**
 * The shim's children: it is the subreaper of every container it serves, so
 * one SIGCHLD listener reaps them all (inits, the processes of detached
 * `runc exec`s, whatever they leave behind) and hands each awaited exit code
 * to whoever waits for it. Processes it spawns through `Deno.Command`
 * (runc) are Deno's to reap, never ours (platform.md: stealing them makes
 * their `status` reject).
 * @module
 */
import { becomeSubreaper, childPids, reap } from "../sys/reaper.ts";

/** Codes of reaped pids nobody waited for yet: an init can exit before its wait is set. */
const MAX_UNCLAIMED = 1024;

/** A point in the reaping order (see {@linkcode Children.mark}). */
export type ReapMark = number;

/**
 * The reaper of a shim process.
 *
 * @example
 * ```ts
 * const children = new Children();
 * const runc = children.spawn("runc", { args: ["--version"], stdout: "null" });
 * await runc.status;
 * children.close();
 * ```
 */
export class Children {
  readonly #waiters = new Map<number, (code: number) => void>();
  readonly #unclaimed = new Map<number, { code: number; seq: number }>();
  #seq = 0;
  readonly #spawned = new Set<number>();
  readonly #check = () => this.#reapAll();
  readonly #backstop: ReturnType<typeof setInterval>;

  constructor() {
    becomeSubreaper();
    Deno.addSignalListener("SIGCHLD", this.#check);
    // Every check reaps all children, so coalesced signals lose nothing; the
    // slow timer is only a backstop, and rare so that idle shims stay asleep.
    this.#backstop = setInterval(this.#check, 30_000);
  }

  /** Spawn through Deno, which reaps it: our reaping leaves it alone. */
  spawn(cmd: string, options: Deno.CommandOptions): Deno.ChildProcess {
    const child = new Deno.Command(cmd, options).spawn();
    this.#spawned.add(child.pid);
    child.status.finally(() => this.#spawned.delete(child.pid)).catch(() => {});
    return child;
  }

  /** Now, in the reaping order: take it before the process to wait for can exist. */
  mark(): ReapMark {
    return ++this.#seq;
  }

  /**
   * The exit code of `pid` (a child of ours: a container init), once it has
   * exited. An exit reaped before `since` is another process that had the pid.
   */
  wait(pid: number, since: ReapMark): Promise<number> {
    return new Promise((resolve) => {
      const early = this.#unclaimed.get(pid);
      this.#unclaimed.delete(pid);
      if (early && early.seq > since) return resolve(early.code);
      this.#waiters.set(pid, resolve);
      this.#reapAll();
    });
  }

  #reapAll(): void {
    for (const pid of childPids()) {
      if (this.#spawned.has(pid)) continue;
      const code = reap(pid);
      if (code === null) continue;
      const waiter = this.#waiters.get(pid);
      if (waiter) {
        this.#waiters.delete(pid);
        waiter(code);
      } else if (this.#unclaimed.size < MAX_UNCLAIMED) {
        this.#unclaimed.set(pid, { code, seq: ++this.#seq });
      }
    }
  }

  /** Stop listening (the process is about to exit). */
  close(): void {
    Deno.removeSignalListener("SIGCHLD", this.#check);
    clearInterval(this.#backstop);
  }
}
