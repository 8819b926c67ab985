/**
 * Persistent network namespaces: a namespace bind-mounted on a file, so it
 * lives as long as the file's mount (not as long as a process), and is found
 * again by its path after a daemon restart.
 * @module
 */
import { dirname } from "node:path";
import { mountTable, outputClean, removeAll, unmount } from "../sys/mod.ts";

/** umount2's flag: detach now, the kernel frees the namespace when its last user leaves. */
const MNT_DETACH = 2;

/**
 * Whether `path` is a network namespace's bind mount.
 *
 * @example
 * ```ts
 * isNetnsMounted("/run/corral/netns/0123"); // false once removed
 * ```
 */
export function isNetnsMounted(path: string): boolean {
  return mountTable().some((m) => m.point === path && m.fstype === "nsfs");
}

/**
 * Create a new network namespace bound at `path` (util-linux `unshare
 * --net=FILE` mounts it on an existing file). A namespace already bound there
 * is kept: creating is idempotent.
 *
 * @example
 * ```ts
 * await createNetns("/run/corral/netns/0123");
 * ```
 */
export async function createNetns(path: string): Promise<void> {
  if (isNetnsMounted(path)) return;
  await Deno.mkdir(dirname(path), { recursive: true, mode: 0o700 });
  await Deno.writeFile(path, new Uint8Array(), { mode: 0o400 });
  const out = await outputClean("unshare", { args: [`--net=${path}`, "true"], stderr: "piped" });
  if (!out.success) {
    await Deno.remove(path).catch(() => {});
    const reason = new TextDecoder().decode(out.stderr).trim();
    throw new Error(`cannot create network namespace ${path}: ${reason}`);
  }
}

/**
 * Unmount and remove a namespace's file. Idempotent: a missing one is done.
 * Throws when the file cannot go (still a mount point in another mount
 * namespace: EBUSY); the caller's gc retries.
 *
 * @example
 * ```ts
 * await removeNetns("/run/corral/netns/0123");
 * ```
 */
export async function removeNetns(path: string): Promise<void> {
  // Two racing creates can stack two mounts on the file: take off each.
  for (let i = 0; i < 8 && isNetnsMounted(path); i++) unmount(path, MNT_DETACH);
  await removeAll(path);
}
