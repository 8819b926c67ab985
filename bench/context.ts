/**
 * What every benchmark section gets: the options, corral's daemon, the peers.
 * @module
 */
import type { TestDaemon } from "../tests/harness.ts";
import type { Podman } from "./podman.ts";
import type { RuncPeer } from "./runc.ts";
import type { SectionResult } from "./report.ts";

/** The knobs of a run (flags of bench/run.ts). */
export interface BenchOptions {
  /** Samples per latency figure (and restarts measured). */
  iterations: number;
  /** Running containers for the memory-per-container figure. */
  density: number;
  /** Running containers for the daemon RSS figure. */
  many: number;
  /** Container counts of the restore figures (half of each running). */
  restoreSizes: number[];
  /** run/rm cycles of the churn figure. */
  churn: number;
  /** Shims per variant in the shim footprint comparison. */
  shimCopies: number;
  /** The daemon's `--shim-group-size`; null: its default. */
  shimGroupSize: number | null;
  /** Seconds for a fresh process's memory to settle before PSS is read (V8 collects late). */
  settle: number;
  /** "install": apt-get install podman if missing; "auto": use it if installed. */
  podman: "off" | "auto" | "install";
  /** Section names to run (all when null). */
  only: string[] | null;
  /** Where the report goes. */
  out: string;
}

/** The shared state of a run. */
export interface BenchContext {
  opts: BenchOptions;
  daemon: TestDaemon;
  podman: Podman | null;
  runc: RuncPeer;
  /** The run's scratch directory. */
  dir: string;
  /** The busybox rootfs corral's image is made of (also runc's and podman's). */
  rootfs: string;
  log(msg: string): void;
}

/** What a section returns; the runner adds its name, title, time and error. */
export type SectionOutput = Pick<SectionResult, "summary" | "tables" | "notes">;

/** A benchmark section. */
export interface Section {
  /** Its name for `--only`. */
  name: string;
  title: string;
  run(ctx: BenchContext): Promise<SectionOutput>;
}
