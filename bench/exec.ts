/**
 * Running commands and timing them.
 * @module
 */

/** The outcome of a command. */
export interface ExecResult {
  code: number;
  stdout: string;
  stderr: string;
  /** Wall time from spawn to exit. */
  ms: number;
}

/**
 * Run `argv` to completion (stdin closed) and time it.
 *
 * @example
 * ```ts
 * const r = await exec(["runc", "--version"]);
 * console.log(r.code, r.ms);
 * ```
 */
export async function exec(argv: string[], env: Record<string, string> = {}): Promise<ExecResult> {
  const t0 = performance.now();
  const out = await new Deno.Command(argv[0], {
    args: argv.slice(1),
    stdin: "null",
    env: { RUST_BACKTRACE: "0", ...env },
  }).output();
  const ms = performance.now() - t0;
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr), ms };
}

/**
 * Like {@linkcode exec}, but a non-zero exit throws with the command's stderr.
 *
 * @example
 * ```ts
 * const { stdout } = await execOk(["podman", "--version"]);
 * ```
 */
export async function execOk(
  argv: string[],
  env: Record<string, string> = {},
): Promise<ExecResult> {
  const r = await exec(argv, env);
  if (r.code !== 0) {
    throw new Error(
      `${argv.join(" ")} exited ${r.code}: ${(r.stderr || r.stdout).trim().slice(0, 500)}`,
    );
  }
  return r;
}

/**
 * Time an async call in milliseconds.
 *
 * @example
 * ```ts
 * const ms = await timed(() => new Promise((r) => setTimeout(r, 10)));
 * ```
 */
export async function timed(fn: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  await fn();
  return performance.now() - t0;
}

/** Resolve after `ms`. */
export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
