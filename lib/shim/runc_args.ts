/**
 * runc's command line, the one place corral spells it: every runc call (the
 * shim's `runc create`, the runtime's start, kill, delete, state, update and
 * `--version`, and exec's `runc exec`) takes its argv from here. Each function
 * returns the arguments that follow the runc binary.
 *
 * It lives with the shim because the shim runs `runc create` and may load
 * only its own modules and lib/sys (tests/imports_test.ts); the runtime and
 * exec import it from here. For the same reason it imports nothing.
 *
 * @example
 * ```ts
 * runcStartArgs({ root: "/run/corral/runc" }, "ID"); // ["--root", "/run/corral/runc", "start", "ID"]
 * ```
 * @module
 */

/** The options before runc's subcommand. */
export interface RuncGlobalOptions {
  /** runc's state root: always corral's own, so corral never touches runc's default root. */
  root: string;
  /** A file where runc logs in JSON, one object a line (its error is the `msg` of level `error`). */
  log?: string;
}

/** What `runc create` needs: the bundle, and where runc writes the init's pid. */
export interface RuncCreate {
  id: string;
  bundle: string;
  pidFile: string;
  /** With a terminal (the spec's `process.terminal`): where runc sends its master. */
  consoleSocket?: string;
}

/**
 * Limits in runc's units, as `runc update` takes them: bytes, a CPU quota
 * per period in µs, a number of pids; -1 lifts a limit. An absent field is
 * left as it is.
 */
export interface RuncLimits {
  memory?: number;
  /** Memory plus swap. */
  memorySwap?: number;
  /** The soft limit. */
  memoryReservation?: number;
  cpu?: { quota: number; period: number };
  /** The CPU weight (cpu.shares). */
  cpuShares?: number;
  /** The CPUs the container may run on ("0-2,5"). */
  cpusetCpus?: string;
  pids?: number;
}

/** A process `runc exec` runs in a running container. */
export interface RuncExec {
  id: string;
  /** The command and its arguments. */
  args: string[];
  /** `NAME=value` entries added to the container's environment. */
  env: string[];
  cwd?: string;
  /** `uid[:gid]` or a user name of the container. */
  user?: string;
  /** Where runc writes the pid of the exec'd process. */
  pidFile: string;
  /**
   * A terminal for the process: runc sends its master to this socket and
   * returns at once (`--tty --detach`: runc allows a console socket only
   * when it does not wait); the process is then its caller's to reap.
   */
  consoleSocket?: string;
}

/**
 * The options before the subcommand.
 *
 * @example
 * ```ts
 * runcGlobalArgs({ root: "/run/corral/runc", log: "/run/corral/containers/ID/runc.log" });
 * // ["--root", "/run/corral/runc", "--log", "/run/corral/containers/ID/runc.log", "--log-format", "json"]
 * ```
 */
export function runcGlobalArgs(g: RuncGlobalOptions): string[] {
  const args = ["--root", g.root];
  if (g.log !== undefined) args.push("--log", g.log, "--log-format", "json");
  return args;
}

/**
 * `runc create`: the container's init, created but not started.
 *
 * @example
 * ```ts
 * runcCreateArgs({ root: "/run/corral/runc" }, { id: "ID", bundle: "/b", pidFile: "/b/init.pid" });
 * // ["--root", "/run/corral/runc", "create", "--bundle", "/b", "--pid-file", "/b/init.pid", "ID"]
 * ```
 */
export function runcCreateArgs(g: RuncGlobalOptions, c: RuncCreate): string[] {
  const console = c.consoleSocket === undefined ? [] : ["--console-socket", c.consoleSocket];
  return [
    ...runcGlobalArgs(g),
    "create",
    "--bundle",
    c.bundle,
    "--pid-file",
    c.pidFile,
    ...console,
    c.id,
  ];
}

/**
 * `runc start`: run the created container's command.
 *
 * @example
 * ```ts
 * runcStartArgs({ root: "/r" }, "ID"); // ["--root", "/r", "start", "ID"]
 * ```
 */
export function runcStartArgs(g: RuncGlobalOptions, id: string): string[] {
  return [...runcGlobalArgs(g), "start", id];
}

/**
 * `runc kill`: signal the init, or with `all` every process of the container.
 *
 * @example
 * ```ts
 * runcKillArgs({ root: "/r" }, "ID", 9, true); // ["--root", "/r", "kill", "--all", "ID", "9"]
 * ```
 */
export function runcKillArgs(
  g: RuncGlobalOptions,
  id: string,
  signal: number,
  all: boolean,
): string[] {
  return [...runcGlobalArgs(g), "kill", ...(all ? ["--all"] : []), id, String(signal)];
}

/**
 * `runc delete --force`: forced, because corral deletes a container whatever
 * state runc left it in (a created init that never started, a stuck one).
 *
 * @example
 * ```ts
 * runcDeleteArgs({ root: "/r" }, "ID"); // ["--root", "/r", "delete", "--force", "ID"]
 * ```
 */
export function runcDeleteArgs(g: RuncGlobalOptions, id: string): string[] {
  return [...runcGlobalArgs(g), "delete", "--force", id];
}

/**
 * `runc state`: the container's status and init pid, as JSON on stdout.
 *
 * @example
 * ```ts
 * runcStateArgs({ root: "/r" }, "ID"); // ["--root", "/r", "state", "ID"]
 * ```
 */
export function runcStateArgs(g: RuncGlobalOptions, id: string): string[] {
  return [...runcGlobalArgs(g), "state", id];
}

/**
 * `runc update`: change a running container's cgroup limits.
 *
 * @example
 * ```ts
 * runcUpdateArgs({ root: "/r" }, "ID", { memory: 1048576, memorySwap: 1048576, pids: -1 });
 * // ["--root", "/r", "update", "--memory", "1048576", "--memory-swap", "1048576", "--pids-limit", "-1", "ID"]
 * ```
 */
export function runcUpdateArgs(g: RuncGlobalOptions, id: string, limits: RuncLimits): string[] {
  const args = [...runcGlobalArgs(g), "update"];
  if (limits.memory !== undefined) args.push("--memory", String(limits.memory));
  if (limits.memorySwap !== undefined) args.push("--memory-swap", String(limits.memorySwap));
  if (limits.memoryReservation !== undefined) {
    args.push("--memory-reservation", String(limits.memoryReservation));
  }
  if (limits.cpu !== undefined) {
    args.push("--cpu-period", String(limits.cpu.period), "--cpu-quota", String(limits.cpu.quota));
  }
  if (limits.cpuShares !== undefined) args.push("--cpu-share", String(limits.cpuShares));
  if (limits.cpusetCpus !== undefined) args.push("--cpuset-cpus", limits.cpusetCpus);
  if (limits.pids !== undefined) args.push("--pids-limit", String(limits.pids));
  return [...args, id];
}

/**
 * `runc exec`: run a process in a running container, in the foreground (its
 * output is runc's, its exit code runc's), or with a terminal, detached.
 *
 * @example
 * ```ts
 * runcExecArgs({ root: "/r" }, { id: "ID", args: ["ls", "/"], env: ["A=1"], pidFile: "/p" });
 * // ["--root", "/r", "exec", "--env", "A=1", "--pid-file", "/p", "ID", "ls", "/"]
 * ```
 */
export function runcExecArgs(g: RuncGlobalOptions, e: RuncExec): string[] {
  const args = [...runcGlobalArgs(g), "exec"];
  for (const env of e.env) args.push("--env", env);
  if (e.cwd) args.push("--cwd", e.cwd);
  if (e.user) args.push("--user", e.user);
  if (e.consoleSocket !== undefined) {
    args.push("--tty", "--detach", "--console-socket", e.consoleSocket);
  }
  return [...args, "--pid-file", e.pidFile, e.id, ...e.args];
}

/**
 * `runc --version`: its version and commit lines. It reads no state, so it
 * takes no root.
 *
 * @example
 * ```ts
 * runcVersionArgs(); // ["--version"]
 * ```
 */
export function runcVersionArgs(): string[] {
  return ["--version"];
}
