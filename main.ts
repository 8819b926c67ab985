/**
 * The corral executable: the CLI, the daemon (`corral daemon`) and the shim
 * (`corral shim`, started by the daemon) are one program.
 * @module
 */

if (import.meta.main) {
  if (Deno.args[0] === "shim") {
    // The shim loads only what it needs: it runs once per container or group.
    const { shimMain } = await import("./lib/shim/main.ts");
    Deno.exit(await shimMain(Deno.args.slice(1)));
  }
  const { runCli } = await import("./lib/cli/mod.ts");
  Deno.exit(await runCli(Deno.args));
}
