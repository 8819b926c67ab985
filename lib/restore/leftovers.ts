/**
 * Leftovers that no persisted pid points to: the daemon died after it
 * launched a shim but before it saved the pids, or in the middle of a
 * cleanup or a removal. Restore finds them by their state dirs and the
 * shims' command lines, and reclaims them, so nothing half-started or
 * half-removed survives a crash.
 * @module
 */
import { StateDir } from "../runtime/mod.ts";

/**
 * The shims of one daemon's state dir, by container id, from a single scan
 * of /proc made on first use (most restores never need it).
 *
 * @example
 * ```ts
 * const shims = new ShimFinder("/run/corral");
 * for (const pid of shims.pids("ID")) killProcessGroup(pid);
 * ```
 */
export class ShimFinder {
  #byId: Map<string, number[]> | null = null;

  constructor(readonly stateRoot: string) {}

  /** Pids of the live shims of a container. */
  pids(id: string): number[] {
    this.#byId ??= this.#scan();
    return this.#byId.get(id) ?? [];
  }

  #scan(): Map<string, number[]> {
    const byId = new Map<string, number[]>();
    const state = new StateDir(this.stateRoot);
    for (const e of Deno.readDirSync("/proc")) {
      if (!/^\d+$/.test(e.name)) continue;
      let argv: string[];
      try {
        argv = Deno.readTextFileSync(`/proc/${e.name}/cmdline`).split("\0");
      } catch {
        continue; // Gone meanwhile.
      }
      const id = argAfter(argv, "--id");
      if (!argv.includes("shim") || !id) continue;
      // Only this daemon's shims: their bundle is under its state dir.
      if (argAfter(argv, "--bundle") !== state.bundle(id).dir) continue;
      byId.set(id, [...(byId.get(id) ?? []), Number(e.name)]);
    }
    return byId;
  }
}

function argAfter(argv: string[], flag: string): string | undefined {
  const i = argv.indexOf(flag);
  return i >= 0 ? argv[i + 1] : undefined;
}

/**
 * SIGKILL a shim and its process group: the shim is a session leader, and a
 * `runc create` it is still running belongs to its group (the container
 * init does not; the cleanup kills it through runc and the cgroups).
 *
 * @example
 * ```ts
 * declare const shimPid: number;
 * killProcessGroup(shimPid);
 * ```
 */
export function killProcessGroup(pid: number): void {
  try {
    Deno.kill(-pid, "SIGKILL");
  } catch {
    // Already gone.
  }
}

/**
 * Ids of the state dirs whose container `exists` denies (restore asks
 * whether its dir under the root is still there): a removal or a failed
 * create that a crash cut short.
 *
 * @example
 * ```ts
 * import { existsSync } from "node:fs";
 * orphanStateDirs("/run/corral", (id) => existsSync(`/var/lib/corral/containers/${id}`));
 * ```
 */
export function orphanStateDirs(stateRoot: string, exists: (id: string) => boolean): string[] {
  return new StateDir(stateRoot).bundleIds().filter((id) => !exists(id));
}
