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
export { buildProgram, createBody, ExitCode, runCli } from "./cli.ts";
export * from "./parse.ts";
