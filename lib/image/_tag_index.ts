/**
 * The tag index, `repositories.json`: a JSON object from "name:tag" to image
 * id, sorted by name so that the same tags always make the same file,
 * replaced atomically.
 * @module
 */
import { getLogger } from "@logtape/logtape";
import { errorMessage, invalid } from "../errdefs/mod.ts";
import { readJson, writeFileAtomic } from "../sys/mod.ts";
import { formatReference, tryParseReference } from "./reference.ts";

const log = getLogger(["corral", "image"]);

/**
 * The index at `path` (empty when there is none), without the entries for
 * images that are not `known` or with malformed names. A corrupt index is
 * kept aside as `<path>.corrupt` for the admin, and reads as empty.
 *
 * @example
 * ```ts
 * const known = new Set(["sha256:" + "ab".repeat(32)]);
 * const tags = await readTagIndex("/var/lib/corral/images/repositories.json", (id) => known.has(id));
 * ```
 */
export async function readTagIndex(
  path: string,
  known: (id: string) => boolean,
): Promise<Map<string, string>> {
  const tags = new Map<string, string>();
  let raw: unknown;
  try {
    raw = await readJson(path);
    if (raw !== null && (typeof raw !== "object" || Array.isArray(raw))) {
      throw invalid("not an object");
    }
  } catch (err) {
    log.error("image index {path} is corrupt ({error}); starting empty", {
      path,
      error: errorMessage(err),
    });
    await Deno.copyFile(path, `${path}.corrupt`);
    return tags;
  }
  for (const [key, id] of Object.entries(raw ?? {})) {
    const parsed = tryParseReference(key);
    if (typeof parsed === "string" || formatReference(parsed) !== key || !known(id)) {
      log.warn("image index: ignoring {key} -> {id}", { key, id });
      continue;
    }
    tags.set(key, id);
  }
  return tags;
}

/**
 * Write the index `tags` ("name:tag" to image id) to `path`.
 *
 * @example
 * ```ts
 * await writeTagIndex("/var/lib/corral/images/repositories.json", new Map());
 * ```
 */
export async function writeTagIndex(
  path: string,
  tags: ReadonlyMap<string, string>,
): Promise<void> {
  const sorted = Object.fromEntries([...tags].sort(([a], [b]) => a.localeCompare(b)));
  await writeFileAtomic(path, JSON.stringify(sorted, null, 2));
}
