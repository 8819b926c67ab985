/**
 * Spawning children that inherit nothing but their stdio.
 * @module
 */
import { check, libc } from "./libc.ts";

const CLOSE_RANGE_CLOEXEC = 4;

/**
 * Mark every fd above stderr close-on-exec. Deno's `node:net` creates the
 * daemon's listening and accepted sockets without `O_CLOEXEC`: a shim (alive as
 * long as its container) that inherited the listening socket would keep a dead
 * daemon's socket path accepting connections nobody answers, and one holding an
 * accepted connection would keep a client from ever seeing EOF.
 *
 * @example
 * ```ts
 * cloexecAllFds();
 * ```
 */
export function cloexecAllFds(): void {
  check("close_range", libc().close_range(3, 0xffffffff, CLOSE_RANGE_CLOEXEC));
}

/**
 * Spawn a child that inherits no fd but its stdio. The flags are set and the
 * child spawned in one synchronous step, so no fd can appear in between on
 * this thread.
 *
 * @example
 * ```ts
 * const child = spawnClean("runc", { args: ["--version"], stdout: "piped" });
 * ```
 */
export function spawnClean(cmd: string, options: Deno.CommandOptions): Deno.ChildProcess {
  cloexecAllFds();
  spawned++;
  return new Deno.Command(cmd, options).spawn();
}

/**
 * Run a child that inherits no fd but its stdio and collect its output.
 * `Deno.Command.output()` spawns synchronously, so the flags and the spawn are
 * still one step. Preferred over `spawnClean(...).output()`: in Deno 2.9 that
 * path holds about 140 KiB of native memory per child until V8 happens to run
 * a full collection, which a mostly idle daemon may not do for hours.
 *
 * @example
 * ```ts
 * const out = await outputClean("runc", { args: ["--version"] });
 * ```
 */
export function outputClean(
  cmd: string,
  options: Deno.CommandOptions,
): Promise<Deno.CommandOutput> {
  cloexecAllFds();
  spawned++;
  return new Deno.Command(cmd, options).output();
}

let spawned = 0;

/**
 * How many children `spawnClean` and `outputClean` have started: a cheap
 * sign of work done since an earlier look.
 *
 * @example
 * ```ts
 * const before = childrenSpawned();
 * await outputClean("true", {});
 * childrenSpawned() - before; // 1
 * ```
 */
export function childrenSpawned(): number {
  return spawned;
}
