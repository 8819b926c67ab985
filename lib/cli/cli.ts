/**
 * The `corral` command line: a Docker-like client of the daemon, plus
 * `corral daemon` itself. The commands are in the `*_cmd(s).ts` files.
 * @module
 */
import { Command, UsageError } from "./args.ts";
import { ApiClient, CORRAL_VERSION, DEFAULT_HOST } from "../api/mod.ts";
import { CorralError, errorMessage } from "../errdefs/mod.ts";
import { ExitCode } from "./command.ts";
import { addChangeCommands, addLifecycleCommands, addQueryCommands } from "./container_cmds.ts";
import { addDaemonCommand } from "./daemon_cmd.ts";
import { addEventsCommand } from "./events_cmd.ts";
import { addExecCommand } from "./exec_cmd.ts";
import { addImageCommands } from "./image_cmds.ts";
import { addRegistryCommands } from "./registry_cmds.ts";
import { addNetworkCommands } from "./network_cmds.ts";
import { addRunCommands } from "./run_cmds.ts";
import { addGcCommand, addVersionCommand } from "./system_cmds.ts";
import { addVolumeCommands } from "./volume_cmds.ts";

function client(program: Command): ApiClient {
  const host = (program.opts().host as string | undefined) ?? Deno.env.get("CORRAL_HOST") ??
    DEFAULT_HOST;
  return new ApiClient(host);
}

/** The whole program. */
export function buildProgram(): Command {
  const program = new Command("corral")
    .description("corral: a small, fast container engine")
    .version(CORRAL_VERSION, "--version", "print the client version")
    .option("-H, --host <unix://PATH>", "daemon socket (env CORRAL_HOST)")
    .enablePositionalOptions();
  // One client (one connection pool) for the whole command.
  let apiClient: ApiClient | undefined;
  const api = () => apiClient ??= client(program);

  // In the order `corral --help` lists them.
  addDaemonCommand(program);
  addRunCommands(program, api);
  addLifecycleCommands(program, api);
  addQueryCommands(program, api);
  addExecCommand(program, api);
  addChangeCommands(program, api);
  addEventsCommand(program, api);
  addGcCommand(program, api);
  addImageCommands(program, api);
  addRegistryCommands(program, api);
  addVolumeCommands(program, api);
  addNetworkCommands(program, api);
  addVersionCommand(program, api);
  return program;
}

/**
 * Run the CLI with `args`; returns the exit code. User mistakes print one
 * line, never a stack trace.
 *
 * @example
 * ```ts
 * Deno.exit(await runCli(Deno.args));
 * ```
 */
export async function runCli(args: string[]): Promise<number> {
  try {
    const program = buildProgram();
    await program.parseAsync(args);
    return 0;
  } catch (err) {
    if (err instanceof ExitCode) return err.code;
    if (err instanceof UsageError) {
      console.error(err.message);
      return 2;
    }
    if (err instanceof CorralError) {
      console.error(`corral: ${err.message}`);
      return 1;
    }
    console.error(`corral: ${errorMessage(err)}`);
    return 1;
  }
}
