/**
 * The corral executable: the CLI, the daemon (`corral daemon`) and the shim
 * (`corral shim`, started by the daemon) are one program.
 * @module
 */

if (import.meta.main) {
  if (Deno.args[0] === "shim") {
    // The shim loads only what it needs: it runs once per container.
    const { parseShimArgs, runShim } = await import("./lib/shim/mod.ts");
    Deno.exit(await runShim(parseShimArgs(Deno.args.slice(1))));
  }
  const { runCli } = await import("./lib/cli/mod.ts");
  Deno.exit(await runCli(Deno.args));
}
