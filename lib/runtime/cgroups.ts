/**
 * The cgroup directories of a container in every mounted hierarchy (v1 per
 * controller and v2), and their removal.
 * @module
 */
import { join } from "node:path";
import { mountTable } from "../sys/mod.ts";

let cgroupMountPoints: string[] | undefined;

/**
 * Mount points of cgroup v1 hierarchies and the v2 hierarchy. Read once: they
 * do not change while corral runs, and every container exit looks them up.
 */
export function cgroupMounts(): string[] {
  return cgroupMountPoints ??= [
    ...new Set(
      mountTable().filter((m) => m.fstype === "cgroup" || m.fstype === "cgroup2").map((m) =>
        m.point
      ),
    ),
  ];
}

/** Existing directories for `cgroupsPath` (e.g. "/corral/ID") in every hierarchy. */
export function cgroupDirs(cgroupsPath: string): string[] {
  const dirs: string[] = [];
  for (const m of cgroupMounts()) {
    const d = join(m, cgroupsPath);
    try {
      if (Deno.statSync(d).isDirectory) dirs.push(d);
    } catch {
      // Not in this hierarchy.
    }
  }
  return dirs;
}

/** Pids still in any of the container's cgroups. */
export function cgroupPids(cgroupsPath: string): number[] {
  const pids = new Set<number>();
  for (const d of cgroupDirs(cgroupsPath)) {
    try {
      for (const l of Deno.readTextFileSync(join(d, "cgroup.procs")).split("\n")) {
        if (l.trim()) pids.add(Number(l));
      }
    } catch {
      // Removed meanwhile.
    }
  }
  return [...pids];
}

/** Thaw the container's cgroup if frozen (v1 freezer, v2 cgroup.freeze): a frozen task cannot die. */
export function thawCgroup(cgroupsPath: string): void {
  for (const d of cgroupDirs(cgroupsPath)) {
    for (const [file, value] of [["freezer.state", "THAWED"], ["cgroup.freeze", "0"]]) {
      try {
        Deno.writeTextFileSync(join(d, file), value);
      } catch {
        // This hierarchy has no such file.
      }
    }
  }
}

/** rmdir every cgroup dir of the container; throws the first failure (EBUSY: tasks left). */
export function removeCgroups(cgroupsPath: string): void {
  for (const d of cgroupDirs(cgroupsPath)) {
    try {
      Deno.removeSync(d);
    } catch (err) {
      if (err instanceof Deno.errors.NotFound) continue;
      throw new Error(`remove cgroup ${d}: ${err instanceof Error ? err.message : err}`);
    }
  }
}

/**
 * How many processes the OOM killer killed in the container's memory cgroup
 * (`oom_kill` of v1 `memory.oom_control` or v2 `memory.events`); 0 when no
 * hierarchy tells. Read it before the cleanup removes the cgroup.
 *
 * @example
 * ```ts
 * const oomKilled = oomKillCount("/corral/ID") > 0;
 * ```
 */
export function oomKillCount(cgroupsPath: string): number {
  let count = 0;
  for (const d of cgroupDirs(cgroupsPath)) {
    for (const file of ["memory.oom_control", "memory.events"]) {
      try {
        const m = Deno.readTextFileSync(join(d, file)).match(/^oom_kill (\d+)$/m);
        if (m) count = Math.max(count, Number(m[1]));
      } catch {
        // No memory controller in this hierarchy.
      }
    }
  }
  return count;
}
