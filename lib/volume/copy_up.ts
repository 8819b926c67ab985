/**
 * Docker's copy-up: a volume mounted where the image has content gets that
 * content the first time, when the volume is empty. Crash-safe: the content
 * is copied into a hidden directory inside the volume, flushed, then a marker
 * (`CopyUp: "moving"`) is persisted and the entries are renamed into place.
 * A crash before the marker leaves the volume empty but for the partial copy,
 * which the next mount drops and redoes; a crash after it leaves a complete
 * copy whose remaining entries the next mount moves. The volume is never
 * left half-filled and taken for done.
 * @module
 */
import { join } from "node:path";
import { existsSync } from "node:fs";
import { killAndWait, processesWithArgument, removeAll, syncFilesystem } from "../sys/mod.ts";

/** The hidden directory the copy is made in, inside the volume's data. */
export const COPY_DIR = ".corral-copy-up";

/** What the copy-up reads and writes of a volume. */
export interface CopyUpTarget {
  /** The volume's data directory (mounted, when it is backed by a mount). */
  data: string;
  /** Whether the persisted marker says a complete copy is being moved in. */
  moving: boolean;
  /** Persist the marker (atomically). */
  mark(moving: boolean): Promise<void>;
}

/**
 * Fill an empty volume with `source` (the image's content at the mount
 * path, null for none or `nocopy`), or finish a move a crash interrupted.
 *
 * @example
 * ```ts
 * declare const target: CopyUpTarget;
 * await copyUp(target, "/run/corral/containers/ID/rootfs/var/lib/db");
 * ```
 */
export async function copyUp(target: CopyUpTarget, source: string | null): Promise<void> {
  const tmp = join(target.data, COPY_DIR);
  if (existsSync(tmp)) await stopStaleCopier(tmp);
  if (target.moving) return await finishMove(target, tmp);
  if (source === null || (await hasEntries(target.data)) || !(await hasEntries(source))) {
    // A partial copy a crash left before the marker: the volume is empty again.
    return await removeAll(tmp);
  }
  await removeAll(tmp);
  try {
    await copyTree(source, tmp);
    // Durable before the marker says the copy is complete.
    await syncFilesystem(target.data);
  } catch (err) {
    await removeAll(tmp);
    throw err;
  }
  await target.mark(true);
  await finishMove(target, tmp);
}

/** Move the complete copy's entries in (those a crash already moved stay), then clear the marker. */
async function finishMove(target: CopyUpTarget, tmp: string): Promise<void> {
  let root: Deno.FileInfo | null = null;
  try {
    root = await Deno.lstat(tmp);
    for await (const e of Deno.readDir(tmp)) {
      const dest = join(target.data, e.name);
      if (!(await exists(dest))) await Deno.rename(join(tmp, e.name), dest);
    }
  } catch (err) {
    // A crash after the last rename and the directory's removal: all moved.
    if (!(err instanceof Deno.errors.NotFound)) throw err;
  }
  if (root) {
    // The volume's root takes the mode and owner of the image's directory, as in Docker.
    await Deno.chmod(target.data, root.mode! & 0o7777);
    await Deno.chown(target.data, root.uid, root.gid);
  }
  await removeAll(tmp);
  await syncFilesystem(target.data);
  await target.mark(false);
}

/**
 * A daemon killed during a copy leaves its `cp` running (a child does not
 * die with its parent): it is stopped before its copy is dropped or used,
 * so nothing writes into the volume behind the retry.
 */
async function stopStaleCopier(tmp: string): Promise<void> {
  for (const proc of processesWithArgument(tmp)) await killAndWait(proc);
}

/** Copy a tree with its modes, owners, links and times (`cp -a`); `dest` must not exist. */
async function copyTree(source: string, dest: string): Promise<void> {
  const out = await new Deno.Command("cp", {
    args: ["-a", "--", `${source}/.`, dest],
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).output();
  if (!out.success) {
    const why = new TextDecoder().decode(out.stderr).trim().split("\n")[0];
    throw new Error(`copying the image's content into the volume failed: ${why}`);
  }
}

/** Whether a directory has an entry other than the copy-up's own; false when it is not a directory. */
async function hasEntries(dir: string): Promise<boolean> {
  try {
    for await (const e of Deno.readDir(dir)) if (e.name !== COPY_DIR) return true;
  } catch {
    // Missing or not a directory: nothing to copy.
  }
  return false;
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch {
    return false;
  }
}

/**
 * `path` (absolute, in the container) resolved inside `rootfs`, following
 * symlinks as the container would see them: a link never leads out of the
 * rootfs. Null when it does not exist.
 *
 * @example
 * ```ts
 * resolveInRoot("/run/corral/containers/ID/rootfs", "/var/lib/db");
 * ```
 */
export function resolveInRoot(rootfs: string, path: string): string | null {
  const todo = path.split("/").filter((p) => p !== "" && p !== ".");
  const done: string[] = [];
  let links = 0;
  while (todo.length > 0) {
    const part = todo.shift()!;
    if (part === "..") {
      done.pop();
      continue;
    }
    const here = join(rootfs, ...done, part);
    let info: Deno.FileInfo;
    try {
      info = Deno.lstatSync(here);
    } catch {
      return null;
    }
    if (!info.isSymlink) {
      done.push(part);
      continue;
    }
    if (++links > 40) return null;
    const target = Deno.readLinkSync(here);
    if (target.startsWith("/")) done.length = 0;
    todo.unshift(...target.split("/").filter((p) => p !== "" && p !== "."));
  }
  return join(rootfs, ...done);
}
