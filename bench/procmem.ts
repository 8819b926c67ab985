/**
 * Memory and fd figures of a process from /proc, in KiB.
 * @module
 */

/** The lines of /proc/PID/smaps_rollup the benchmarks report, in KiB. */
export interface Rollup {
  rss: number;
  pss: number;
  pssAnon: number;
  pssFile: number;
}

/**
 * Read /proc/PID/smaps_rollup (PSS splits shared pages between the processes
 * that map them, so it is the fair per-process cost).
 *
 * @example
 * ```ts
 * const { pss } = smapsRollup(Deno.pid);
 * ```
 */
export function smapsRollup(pid: number): Rollup {
  const text = Deno.readTextFileSync(`/proc/${pid}/smaps_rollup`);
  const field = (name: string) =>
    Number(text.match(new RegExp(`^${name}:\\s+(\\d+) kB`, "m"))?.[1] ?? NaN);
  return {
    rss: field("Rss"),
    pss: field("Pss"),
    pssAnon: field("Pss_Anon"),
    pssFile: field("Pss_File"),
  };
}

/**
 * The mean of several rollups, field by field (NaN for none).
 *
 * @example
 * ```ts
 * meanRollup([smapsRollup(Deno.pid)]).pss > 0; // true
 * ```
 */
export function meanRollup(rollups: Rollup[]): Rollup {
  const avg = (f: (r: Rollup) => number) =>
    rollups.length ? rollups.reduce((a, r) => a + f(r), 0) / rollups.length : NaN;
  return {
    rss: avg((r) => r.rss),
    pss: avg((r) => r.pss),
    pssAnon: avg((r) => r.pssAnon),
    pssFile: avg((r) => r.pssFile),
  };
}

/**
 * VmRSS of a process in KiB.
 *
 * @example
 * ```ts
 * vmRss(Deno.pid) > 0; // true
 * ```
 */
export function vmRss(pid: number): number {
  const text = Deno.readTextFileSync(`/proc/${pid}/status`);
  return Number(text.match(/^VmRSS:\s+(\d+) kB/m)?.[1] ?? NaN);
}

/**
 * KiB to MiB.
 *
 * @example
 * ```ts
 * mib(2048); // 2
 * ```
 */
export function mib(kib: number): number {
  return kib / 1024;
}
