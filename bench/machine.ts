/**
 * The machine and the versions a benchmark run is measured on.
 * @module
 */

/** What BENCHMARKS.md states about the run's conditions. */
export interface MachineInfo {
  date: string;
  cpu: string;
  nproc: number;
  memoryGiB: number;
  kernel: string;
  os: string;
  /** /proc/loadavg's 1-minute figure when the run started. */
  loadAtStart: number;
  versions: Record<string, string>;
}

/**
 * The first line of a command's output, or null if it cannot run.
 *
 * @example
 * ```ts
 * await firstLine("runc", ["--version"]); // "runc version 1.1.5+ds1"
 * ```
 */
export async function firstLine(cmd: string, args: string[]): Promise<string | null> {
  try {
    const out = await new Deno.Command(cmd, { args, stdin: "null", stderr: "null" }).output();
    if (!out.success) return null;
    return new TextDecoder().decode(out.stdout).trim().split("\n")[0] ?? null;
  } catch {
    return null;
  }
}

/**
 * The 1-minute load average.
 *
 * @example
 * ```ts
 * loadAverage() >= 0; // true
 * ```
 */
export function loadAverage(): number {
  return Number(Deno.readTextFileSync("/proc/loadavg").split(" ")[0]);
}

/**
 * Describe this machine and the versions of corral's peers.
 *
 * @example
 * ```ts
 * const m = await machineInfo();
 * console.log(m.nproc, m.versions.runc);
 * ```
 */
export async function machineInfo(): Promise<MachineInfo> {
  const cpuinfo = Deno.readTextFileSync("/proc/cpuinfo");
  const meminfo = Deno.readTextFileSync("/proc/meminfo");
  const osRelease = await Deno.readTextFile("/etc/os-release").catch(() => "");
  const versions: Record<string, string> = { deno: Deno.version.deno, v8: Deno.version.v8 };
  const probes: [string, string, string[]][] = [
    ["runc", "runc", ["--version"]],
    ["podman", "podman", ["--version"]],
    ["conmon", "conmon", ["--version"]],
    ["commit", "git", [
      "-C",
      new URL("..", import.meta.url).pathname,
      "rev-parse",
      "--short",
      "HEAD",
    ]],
  ];
  for (const [name, cmd, args] of probes) {
    const v = await firstLine(cmd, args);
    if (v) versions[name] = v;
  }
  return {
    date: new Date().toISOString(),
    cpu: cpuinfo.match(/^model name\s*:\s*(.+)$/m)?.[1] ?? "unknown",
    nproc: navigator.hardwareConcurrency,
    memoryGiB: Number(meminfo.match(/^MemTotal:\s+(\d+) kB/m)?.[1] ?? 0) / 1024 / 1024,
    kernel: Deno.osRelease(),
    os: osRelease.match(/^PRETTY_NAME="?([^"\n]+)"?$/m)?.[1] ?? Deno.build.os,
    loadAtStart: loadAverage(),
    versions,
  };
}
