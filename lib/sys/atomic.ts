/**
 * Crash-consistent file writes: temp file, fsync, rename, fsync of the
 * directory. A reader sees the old or the new content, never a torn one.
 * @module
 */

// No node: import here: the shim loads this module, and Deno's node compat
// layer would cost every shim about 1 MiB (BENCHMARKS.md, shim footprint).
function dirname(path: string): string {
  const slash = path.lastIndexOf("/");
  return slash > 0 ? path.slice(0, slash) : slash === 0 ? "/" : ".";
}
function basename(path: string): string {
  return path.slice(path.lastIndexOf("/") + 1);
}

/**
 * Atomically replace `path` with `data`.
 *
 * @example
 * ```ts
 * declare const state: object;
 * await writeFileAtomic("/var/lib/corral/containers/ID/state.json", JSON.stringify(state));
 * ```
 */
export async function writeFileAtomic(
  path: string,
  data: string | Uint8Array,
  mode = 0o600,
): Promise<void> {
  const tmp = `${path}${TMP_MARK}${Deno.pid}-${crypto.randomUUID().slice(0, 8)}`;
  const bytes = typeof data === "string" ? new TextEncoder().encode(data) : data;
  const f = await Deno.open(tmp, { write: true, create: true, truncate: true, mode });
  try {
    try {
      let off = 0;
      while (off < bytes.length) off += await f.write(bytes.subarray(off));
      await f.sync();
    } finally {
      f.close();
    }
    await Deno.rename(tmp, path);
  } catch (err) {
    // A full disk fails the write or the fsync: never leave the empty temp behind.
    await Deno.remove(tmp).catch(() => {});
    throw err;
  }
  await syncDir(dirname(path));
}

/** What marks a temp file of an atomic write (`state.json.tmp-PID-RAND`). */
const TMP_MARK = ".tmp-";

/**
 * Remove the temp files that atomic writes in `dir` left behind when the
 * process died between creating and renaming them. Run at start, before
 * anything writes in `dir`.
 *
 * @example
 * ```ts
 * await removeStaleTemps("/var/lib/corral/containers/ID");
 * ```
 */
export async function removeStaleTemps(dir: string): Promise<void> {
  try {
    for await (const e of Deno.readDir(dir)) {
      if (e.isFile && e.name.includes(TMP_MARK)) {
        await Deno.remove(`${dir}/${e.name}`).catch(() => {});
      }
    }
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
  }
}

/** The synchronous twin for the shim's exit path, where nothing may be left pending. */
export function writeFileAtomicSync(path: string, data: string, mode = 0o600): void {
  const tmp = `${path}${TMP_MARK}${Deno.pid}`;
  const f = Deno.openSync(tmp, { write: true, create: true, truncate: true, mode });
  try {
    try {
      const bytes = new TextEncoder().encode(data);
      let off = 0;
      while (off < bytes.length) off += f.writeSync(bytes.subarray(off));
      f.syncSync();
    } finally {
      f.close();
    }
    Deno.renameSync(tmp, path);
  } catch (err) {
    try {
      Deno.removeSync(tmp);
    } catch {
      // Already gone.
    }
    throw err;
  }
  try {
    const d = Deno.openSync(dirname(path), { read: true });
    d.syncSync();
    d.close();
  } catch {
    // Directory fsync is best effort on filesystems that refuse it.
  }
}

/**
 * fsync a directory, so a rename or removal inside it survives a crash.
 *
 * @example
 * ```ts
 * await Deno.rename("/var/lib/corral/containers/.new-ID", "/var/lib/corral/containers/ID");
 * await syncDir("/var/lib/corral/containers");
 * ```
 */
export async function syncDir(dir: string): Promise<void> {
  try {
    const d = await Deno.open(dir, { read: true });
    try {
      await d.sync();
    } finally {
      d.close();
    }
  } catch {
    // Directory fsync is best effort on filesystems that refuse it.
  }
}

/** Read and parse a JSON file; null when it does not exist. */
export async function readJson<T>(path: string): Promise<T | null> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return null;
    throw err;
  }
  try {
    return JSON.parse(text) as T;
  } catch (err) {
    // Name the file: "Unterminated string at position 15" alone says nothing.
    throw new Error(`${basename(path)}: ${err instanceof Error ? err.message : err}`);
  }
}

/** Remove a path recursively; a missing path is fine. */
export async function removeAll(path: string): Promise<void> {
  try {
    await Deno.remove(path, { recursive: true });
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
  }
}
