/**
 * The command line.
 *
 * @example
 * ```ts
 * import { runCli } from "./mod.ts";
 * Deno.exit(await runCli(["ps", "-a"]));
 * ```
 * @module
 */
export { buildProgram, runCli } from "./cli.ts";
export { ExitCode } from "./command.ts";
export { createBody } from "./run_cmds.ts";
export * from "./parse.ts";
