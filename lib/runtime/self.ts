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
