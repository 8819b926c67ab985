/**
 * How to start this same program again (the shim is the same executable as
 * the daemon): a compiled binary runs itself; from source or a bundle, the
 * deno binary runs the main module.
 * @module
 */
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { existsSync } from "node:fs";

/**
 * The argv prefix that starts corral.
 *
 * @example
 * ```ts
 * const [cmd, ...args] = selfCommand();
 * new Deno.Command(cmd, { args: [...args, "version"] });
 * ```
 */
export function selfCommand(): string[] {
  const main = Deno.mainModule;
  const exe = Deno.execPath();
  // A `deno compile`d binary reports its main module inside a virtual fs.
  if (!main.startsWith("file://") || main.includes("/deno-compile-")) return [exe];
  const mainPath = fileURLToPath(main);
  const config = join(dirname(mainPath), "deno.json");
  const args = [exe, "run", "-A", "--no-prompt"];
  // A bundle has no config next to it: never pick up an unrelated deno.json from the cwd.
  args.push(...(existsSync(config) ? ["--config", config] : ["--no-config"]));
  return [...args, mainPath];
}

/** The shim's own entry module in a source checkout. */
const SHIM_ENTRY = fileURLToPath(new URL("../shim/main.ts", import.meta.url));

/**
 * The argv prefix that starts a shim (`shim --id …` follows). The shim loads
 * only its own modules where it can: from source its entry module
 * lib/shim/main.ts, from a bundle a `shim.js` bundled next to it (if
 * present); a compiled binary runs itself. Each shim lives as long as its
 * container, so this saves start time and memory per container.
 *
 * @example
 * ```ts
 * const [cmd, ...args] = shimCommand();
 * new Deno.Command(cmd, { args: [...args, "shim", "--id", "ID", "--bundle", "/run/corral/containers/ID"] });
 * ```
 */
export function shimCommand(): string[] {
  // Asked on every container start; the answer never changes within a process.
  return shimArgv ??= findShimCommand();
}

let shimArgv: string[] | undefined;

function findShimCommand(): string[] {
  const self = selfCommand();
  if (self.length === 1) return self;
  const main = self[self.length - 1];
  const entry = main.endsWith(".js") ? join(dirname(main), "shim.js") : SHIM_ENTRY;
  return existsSync(entry) ? [...self.slice(0, -1), entry] : self;
}
