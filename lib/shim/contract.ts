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
 * - `attach.sock` (since v2): the shim's attach socket, through which the
 *   daemon reaches the container's stdin, terminal and output and runs execs
 *   with streams (attach_protocol.ts). The shim removes it when it exits.
 *   A run started by a v1 shim has none: the daemon then attaches to the log
 *   alone (output, no stdin), as v1 did.
 * - `console.sock`, `exec-ID.console.sock`: runc's console sockets, there
 *   only while runc hands the shim a terminal.
 * @module
 */
// Only corral's own modules, no node: or npm ones: the shim loads this (see main.ts).
import { readJson } from "../sys/atomic.ts";

/** Version of the shim contract. */
export const SHIM_CONTRACT_VERSION = 2;

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

/** The attach socket's file name in the state dir (contract v2). */
export function attachSocketName(): string {
  return "attach.sock";
}

/**
 * The attach socket of a run (it may be longer than a socket path may be:
 * connect through `connectShim`).
 *
 * @example
 * ```ts
 * attachSocketPath("/run/corral/containers/ID"); // "/run/corral/containers/ID/attach.sock"
 * ```
 */
export function attachSocketPath(bundle: string): string {
  return `${bundle}/${attachSocketName()}`;
}

/** The file name of the console socket runc sends a terminal over: the init's, or an exec's. */
export function consoleSocketName(execId?: string): string {
  return execId === undefined ? "console.sock" : `exec-${execId}.console.sock`;
}

/** Read the exit file; null when the shim left none (it was killed). */
export async function readExitFile(bundle: string): Promise<ExitFile | null> {
  try {
    return await readJson<ExitFile>(exitFilePath(bundle));
  } catch {
    return null;
  }
}
