/**
 * runc calls and what they answer, always with `--root` under corral's state
 * dir so corral never touches runc's default root (the argv of each call is
 * spelled in lib/shim/runc_args.ts).
 * @module
 */
import {
  runcDeleteArgs,
  type RuncGlobalOptions,
  runcKillArgs,
  type RuncLimits,
  runcStartArgs,
  runcStateArgs,
  runcUpdateArgs,
  runcVersionArgs,
} from "../shim/mod.ts";
import { outputClean } from "../sys/mod.ts";
import { cpuQuota } from "./spec.ts";

/** runc's view of a container (`runc state`). */
export interface RuncState {
  status: "created" | "running" | "pausing" | "paused" | "stopped";
  pid: number;
}

/** Limits `runc update` changes (Docker's units: bytes, CPUs × 1e9, pids). */
export interface LiveLimits {
  memory?: number;
  /** Memory plus swap; -1 is unlimited. */
  memorySwap?: number;
  memoryReservation?: number;
  nanoCpus?: number;
  /** 0 leaves the CPU weight as it is. */
  cpuShares?: number;
  /** "" leaves the CPU set as it is. */
  cpusetCpus?: string;
  pidsLimit?: number;
}

/** The output of one runc call. */
export interface RuncResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * A runc binary bound to one runc root.
 *
 * @example
 * ```ts
 * const runc = new Runc("runc", "/run/corral/runc");
 * await runc.start("ID");
 * ```
 */
export class Runc {
  /** The options before every subcommand (those that read runc's root). */
  readonly global: RuncGlobalOptions;

  constructor(readonly binary: string, readonly root: string) {
    this.global = { root };
  }

  /** Run runc with the given arguments and collect its output. */
  async #run(args: string[]): Promise<RuncResult> {
    const out = await outputClean(this.binary, {
      args,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    });
    const dec = new TextDecoder();
    return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
  }

  /** `runc start ID`; throws a `StartFailure` with runc's message. */
  async start(id: string): Promise<void> {
    const r = await this.#run(runcStartArgs(this.global, id));
    if (r.code !== 0) throw new StartFailure(runcMessage(r));
  }

  /** `runc kill [--all] ID SIG`; false when the container is already gone. */
  async kill(id: string, signal: number, all = false): Promise<boolean> {
    const r = await this.#run(runcKillArgs(this.global, id, signal, all));
    return r.code === 0;
  }

  /**
   * `runc delete --force ID`; "does not exist" is success, and runc is not
   * even asked when its root has no state for the container (a start that
   * failed before `runc create`, e.g. with a runtime that cannot run).
   */
  async delete(id: string): Promise<void> {
    try {
      Deno.statSync(`${this.root}/${id}`);
    } catch (err) {
      if (err instanceof Deno.errors.NotFound) return;
    }
    const r = await this.#run(runcDeleteArgs(this.global, id));
    if (r.code !== 0 && !/does not exist|not exist/i.test(r.stderr)) {
      throw new Error(`runc delete: ${runcMessage(r)}`);
    }
  }

  /**
   * `runc update`: change the cgroup limits of a running container. A field
   * that is absent is left as it is; 0 (or less) lifts the limit.
   */
  async update(id: string, limits: LiveLimits): Promise<void> {
    const runcLimits: RuncLimits = {};
    if (limits.memory !== undefined) runcLimits.memory = limits.memory > 0 ? limits.memory : -1;
    if (limits.memorySwap !== undefined) runcLimits.memorySwap = limits.memorySwap;
    if (limits.memoryReservation !== undefined) {
      runcLimits.memoryReservation = limits.memoryReservation > 0 ? limits.memoryReservation : -1;
    }
    if (limits.cpuShares) runcLimits.cpuShares = limits.cpuShares;
    if (limits.cpusetCpus) runcLimits.cpusetCpus = limits.cpusetCpus;
    if (limits.nanoCpus !== undefined) {
      runcLimits.cpu = limits.nanoCpus > 0
        ? cpuQuota(limits.nanoCpus)
        : { quota: -1, period: 100_000 };
    }
    if (limits.pidsLimit !== undefined) {
      runcLimits.pids = limits.pidsLimit > 0 ? limits.pidsLimit : -1;
    }
    const r = await this.#run(runcUpdateArgs(this.global, id, runcLimits));
    if (r.code !== 0) throw new Error(`runc update: ${runcMessage(r)}`);
  }

  /** `runc --version`: version and commit, or null when runc does not answer. */
  async version(): Promise<{ version: string; commit: string } | null> {
    const r = await this.#run(runcVersionArgs());
    const version = r.stdout.match(/^runc version (\S+)/m)?.[1];
    if (r.code !== 0 || !version) return null;
    return { version, commit: r.stdout.match(/^commit: (\S+)/m)?.[1] ?? "" };
  }

  /** `runc state ID`, or null when runc does not know the container. */
  async state(id: string): Promise<RuncState | null> {
    const r = await this.#run(runcStateArgs(this.global, id));
    if (r.code !== 0) return null;
    try {
      return JSON.parse(r.stdout) as RuncState;
    } catch {
      return null;
    }
  }
}

/** The useful line of a runc failure (its stderr, de-noised). */
export function runcMessage(r: { code: number; stderr: string }): string {
  const lines = r.stderr.trim().split("\n").filter(Boolean);
  const last = lines.at(-1) ?? `exit status ${r.code}`;
  try {
    const j = JSON.parse(last);
    if (typeof j.msg === "string") return j.msg;
  } catch {
    // Not runc's JSON log format: plain text.
  }
  return last.replace(/^time="[^"]*" level=\w+ msg="(.*)"$/, "$1");
}

/**
 * A start that failed in the runtime (`runc create` or `runc start`), with the
 * exit code Docker gives it (see `startFailureExitCode`).
 *
 * @example
 * ```ts
 * new StartFailure('exec: "/no/such": stat /no/such: no such file or directory').exitCode; // 127
 * ```
 */
export class StartFailure extends Error {
  /** The container's exit code for this failure. */
  readonly exitCode: number;
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "StartFailure";
    this.exitCode = startFailureExitCode(message);
  }
}

/**
 * Exit code for a failed start's message, as Docker maps it: 127 command not
 * found, 126 permission denied, else 125. runc says which only in its
 * message; the core reads `StartFailure.exitCode`, and a client that has only
 * the API's message (the CLI) reads it here.
 *
 * @example
 * ```ts
 * startFailureExitCode("permission denied"); // 126
 * ```
 */
export function startFailureExitCode(message: string): number {
  if (/no such file|not found|executable file not found/i.test(message)) return 127;
  if (/permission denied/i.test(message)) return 126;
  return 125;
}
