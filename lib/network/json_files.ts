/**
 * The directories of JSON records the network module keeps (networks,
 * attachments): read all at start.
 * @module
 */
import { join } from "node:path";
import { getLogger } from "@logtape/logtape";
import { removeStaleTemps } from "../sys/mod.ts";

const log = getLogger(["corral", "network"]);

/**
 * Create `dir` if missing, drop the temps of interrupted atomic writes, and
 * hand every `*.json` file's parsed content to `take`. A file that does not
 * parse, or that `take` refuses by throwing, is logged and left on disk for
 * a look by hand.
 *
 * @example
 * ```ts
 * const records: unknown[] = [];
 * await readJsonDir("/var/lib/corral/networks", (value) => records.push(value));
 * ```
 */
export async function readJsonDir(dir: string, take: (value: unknown) => void): Promise<void> {
  await Deno.mkdir(dir, { recursive: true, mode: 0o700 });
  await removeStaleTemps(dir);
  for await (const entry of Deno.readDir(dir)) {
    if (!entry.isFile || !entry.name.endsWith(".json")) continue;
    const path = join(dir, entry.name);
    try {
      take(JSON.parse(await Deno.readTextFile(path)));
    } catch (err) {
      log.error("{path} not loaded: {error}", { path, error: String(err) });
    }
  }
}
