/**
 * The versioned contract between the daemon and a shim: files in the
 * container's state (bundle) dir. The daemon and the shim share nothing else.
 *
 * - `exit_fifo`: the daemon holds the read end, the shim the write end; the
 *   write end closing wakes the daemon's epoll with HUP. The shim closes it as
 *   its last act, once `exit.json` is durable, or by dying: either way the
 *   daemon then finds the exit file, or none (137).
 * - `exit.json`: written durably by the shim once the container's init exited.
 * - `init.pid`: runc's pid file of the container init.
 * @module
 */
// Only corral's own modules, no node: or npm ones: the shim loads this (see main.ts).
import { readJson } from "../sys/atomic.ts";

/** Version of the shim contract. */
export const SHIM_CONTRACT_VERSION = 1;

/** The exit file the shim leaves for the daemon. */
export interface ExitFile {
  version: number;
  /** Exit code, or 128+signal. */
  exitCode: number;
  /** When the init exited (ISO). */
  finishedAt: string;
}

/** The handshake line the shim prints on stdout once `runc create` is done. */
export type ShimHandshake =
  | { ok: true; pid: number; startTime: number }
  | { ok: false; error: string };

/**
 * The exit fifo of a container (seed 000 `exit_fifo_name`).
 *
 * @example
 * ```ts
 * exitFifoPath("/run/corral/containers/ID"); // "/run/corral/containers/ID/exit_fifo"
 * ```
 */
export function exitFifoPath(bundle: string): string {
  return `${bundle}/exit_fifo`;
}

/** The exit file of a container. */
export function exitFilePath(bundle: string): string {
  return `${bundle}/exit.json`;
}

/** runc's JSON log of a container's create, where its error message is. */
export function runcLogPath(bundle: string): string {
  return `${bundle}/runc.log`;
}

/** runc's pid file for the container init. */
export function initPidPath(bundle: string): string {
  return `${bundle}/init.pid`;
}

/** Read the exit file; null when the shim left none (it was killed). */
export async function readExitFile(bundle: string): Promise<ExitFile | null> {
  try {
    return await readJson<ExitFile>(exitFilePath(bundle));
  } catch {
    return null;
  }
}
