/**
 * The shim's own entry point: `deno run … lib/shim/main.ts shim --id …` is
 * `corral shim --id …` without loading the rest of corral. A shim lives as
 * long as its containers (one, or a group), so it loads only its own modules:
 * it starts sooner and stays smaller than the whole program would (figures in
 * BENCHMARKS.md, "Shim footprint").
 *
 * @example
 * ```ts
 * import { shimMain } from "./main.ts";
 * Deno.exit(await shimMain(["--id", "ID", "--bundle", "/run/corral/containers/ID"]));
 * ```
 * @module
 */
import { parseGroupShimArgs, runShimGroup } from "./group.ts";
import { parseShimArgs, runShim } from "./shim.ts";

/**
 * Run a shim from its arguments (the ones after the word `shim`): a group
 * shim with `--group`, else one container's; returns the exit code.
 */
export async function shimMain(args: string[]): Promise<number> {
  const group = parseGroupShimArgs(args);
  return group ? await runShimGroup(group) : await runShim(parseShimArgs(args));
}

if (import.meta.main) {
  // Same argv as `corral shim …`, so a shim looks the same in `ps` either way.
  if (Deno.args[0] !== "shim") {
    console.error("usage: lib/shim/main.ts shim --id ID --bundle DIR …");
    Deno.exit(2);
  }
  Deno.exit(await shimMain(Deno.args.slice(1)));
}
