/**
 * The layout of the daemon's state dir (`--state`), spelled here alone:
 *
 * - `runc/`: runc's root (`runc --root`);
 * - `containers/ID/`: a container's bundle: the `rootfs` mount point, the OCI
 *   spec `config.json`, a pid file per running exec, and the shim contract's
 *   files, whose names lib/shim/contract.ts owns because it versions them.
 *
 * A container's dirs under `--root` (its writable layer, its log) are
 * lib/container/persist.ts's.
 * @module
 */
import { join } from "node:path";
import { exitFifoPath, exitFilePath } from "../shim/mod.ts";
import { mountsUnder, removeAll } from "../sys/mod.ts";

/**
 * The daemon's state dir.
 *
 * @example
 * ```ts
 * const state = new StateDir("/run/corral");
 * state.runcRoot; // "/run/corral/runc"
 * state.bundle("ID").dir; // "/run/corral/containers/ID"
 * ```
 */
export class StateDir {
  /** runc's root: corral's own, never runc's default. */
  readonly runcRoot: string;
  /** The group shims' control sockets. */
  readonly shims: string;
  readonly #bundles: string;

  constructor(readonly path: string) {
    this.runcRoot = join(path, "runc");
    this.shims = join(path, "shims");
    this.#bundles = join(path, "containers");
  }

  /** The bundle of a container (whether or not it exists). */
  bundle(id: string): Bundle {
    return new Bundle(join(this.#bundles, id));
  }

  /** The ids of the bundles that exist. */
  bundleIds(): string[] {
    const ids: string[] = [];
    try {
      for (const e of Deno.readDirSync(this.#bundles)) if (e.isDirectory) ids.push(e.name);
    } catch (err) {
      if (!(err instanceof Deno.errors.NotFound)) throw err;
    }
    return ids;
  }
}

/**
 * A container's bundle: runc's bundle and the shim's state dir in one.
 *
 * @example
 * ```ts
 * const bundle = new StateDir("/run/corral").bundle("ID");
 * await bundle.create();
 * bundle.rootfs; // "/run/corral/containers/ID/rootfs"
 * await bundle.delete();
 * ```
 */
export class Bundle {
  /** Where the container's overlay is mounted. */
  readonly rootfs: string;
  /** The OCI spec runc reads. */
  readonly spec: string;
  /** The exit fifo between the daemon and the shim. */
  readonly exitFifo: string;

  constructor(readonly dir: string) {
    this.rootfs = join(dir, "rootfs");
    this.spec = join(dir, "config.json");
    this.exitFifo = exitFifoPath(dir);
  }

  /** Where `runc exec` writes the pid of an exec'd process. */
  execPidFile(execId: string): string {
    return join(this.dir, `exec-${execId}.pid`);
  }

  /**
   * Create the bundle with its rootfs mount point, for a new run. An exit
   * file left by an earlier run is removed: the daemon must find only this
   * run's.
   */
  async create(): Promise<void> {
    await Deno.mkdir(this.rootfs, { recursive: true, mode: 0o700 });
    await removeAll(exitFilePath(this.dir));
  }

  /**
   * Delete the bundle. Throws, deleting nothing, while anything is still
   * mounted under it: recursing into a mounted rootfs would delete the
   * container's files.
   */
  async delete(): Promise<void> {
    const left = mountsUnder(this.dir);
    if (left.length > 0) throw new Error(`mounts left under ${this.dir}: ${left.join(", ")}`);
    await removeAll(this.dir);
  }
}
