/**
 * Per-container persistence under `--root/containers/ID/`: `config.json`
 * (id, name, image, config), `hostconfig.json` and `state.json`, each written
 * atomically. A new container's directory appears whole (written aside, then
 * renamed into place) and a removed one disappears whole (renamed aside, then
 * deleted), so a crash never leaves half a container. Config and host config
 * are mandatory at load; a directory that fails to load is reported, never
 * deleted.
 * @module
 */
import { join } from "node:path";
import { readJson, removeAll, syncDir, treeSize, writeFileAtomic } from "../sys/mod.ts";
import { type ContainerRecord, type ContainerState, type HostConfig, newState } from "./model.ts";
import { getLogger } from "@logtape/logtape";
import { errorMessage } from "../errdefs/mod.ts";

const log = getLogger(["corral", "container"]);

type ConfigFile = Omit<ContainerRecord, "HostConfig" | "State" | "RestartCount">;
type StateFile = { State: ContainerState; RestartCount: number };

/** A container directory that could not be loaded. */
export interface LoadFailure {
  id: string;
  reason: string;
}

/**
 * Reads and writes container records.
 *
 * @example
 * ```ts
 * const disk = new ContainerDisk("/var/lib/corral");
 * await disk.save(rec);
 * const { loaded, failed } = await disk.loadAll();
 * ```
 */
export class ContainerDisk {
  /** `--root/containers`. */
  readonly base: string;
  constructor(root: string) {
    this.base = join(root, "containers");
  }

  /** The directory of one container. */
  dir(id: string): string {
    return join(this.base, id);
  }

  /** The container's writable layer: the overlay's upper dir. */
  upperDir(id: string): string {
    return join(this.base, id, "upper");
  }

  /** Bytes the container has written to its writable layer (`SizeRw`). */
  upperSize(id: string): Promise<number> {
    return treeSize(this.upperDir(id));
  }

  /** The container's json-file log. */
  logPath(id: string): string {
    return join(this.base, id, `${id}-json.log`);
  }

  /**
   * Write a new container's directory: the files go into a hidden directory
   * that is then renamed into place, so the container exists whole or not at
   * all.
   */
  async create(rec: ContainerRecord): Promise<void> {
    const aside = join(this.base, `${ASIDE}new-${rec.Id}`);
    await Deno.mkdir(aside, { recursive: true, mode: 0o700 });
    try {
      await this.#writeAll(aside, rec);
      await Deno.rename(aside, this.dir(rec.Id));
    } catch (err) {
      await removeAll(aside);
      throw err;
    }
    await syncDir(this.base);
  }

  /** Write config, host config and state (rename, update). */
  async save(rec: ContainerRecord): Promise<void> {
    await Deno.mkdir(this.dir(rec.Id), { recursive: true, mode: 0o700 });
    await this.#writeAll(this.dir(rec.Id), rec);
  }

  async #writeAll(dir: string, rec: ContainerRecord): Promise<void> {
    const { HostConfig: hc, State: _s, RestartCount: _r, ...config } = rec;
    await writeFileAtomic(join(dir, "config.json"), JSON.stringify(config));
    await writeFileAtomic(join(dir, "hostconfig.json"), JSON.stringify(hc));
    await writeFileAtomic(join(dir, "state.json"), JSON.stringify(stateFile(rec)));
  }

  /** Write only the state (the frequent write). */
  async saveState(rec: ContainerRecord): Promise<void> {
    await writeFileAtomic(join(this.dir(rec.Id), "state.json"), JSON.stringify(stateFile(rec)));
  }

  /** Load one container directory; throws with the reason when it cannot. */
  async load(id: string): Promise<ContainerRecord> {
    const dir = this.dir(id);
    const config = await readJson<ConfigFile>(join(dir, "config.json"));
    if (!config) throw new Error("config.json is missing");
    const hc = await readJson<HostConfig>(join(dir, "hostconfig.json"));
    if (!hc) throw new Error("hostconfig.json is missing");
    if (config.Id !== id || typeof config.Name !== "string" || !config.Config) {
      throw new Error("config.json does not describe this container");
    }
    let st: StateFile | null = null;
    try {
      st = await readJson<StateFile>(join(dir, "state.json"));
    } catch (err) {
      // A torn state file cannot happen with atomic writes; if it does, the
      // container is kept with a fresh state and restore finds the truth.
      log.error("container {id}: state.json unreadable ({error}); using a fresh state", {
        id,
        error: errorMessage(err),
      });
    }
    return {
      ...config,
      HostConfig: hc,
      State: { ...newState(), ...(st?.State ?? {}) },
      RestartCount: st?.RestartCount ?? 0,
    };
  }

  /** Load every container directory; failures are returned, not thrown. */
  async loadAll(): Promise<{ loaded: ContainerRecord[]; failed: LoadFailure[] }> {
    const loaded: ContainerRecord[] = [];
    const failed: LoadFailure[] = [];
    let entries: Deno.DirEntry[] = [];
    try {
      entries = Array.from(Deno.readDirSync(this.base));
    } catch (err) {
      if (!(err instanceof Deno.errors.NotFound)) throw err;
    }
    // Hidden directories are creations or removals that a crash interrupted.
    const aside = entries.filter((e) => e.name.startsWith(ASIDE));
    await Promise.all(aside.map((e) => removeAll(join(this.base, e.name))));
    await Promise.all(
      entries.filter((e) => e.isDirectory && !e.name.startsWith(ASIDE)).map(async (e) => {
        try {
          loaded.push(await this.load(e.name));
        } catch (err) {
          failed.push({ id: e.name, reason: errorMessage(err) });
        }
      }),
    );
    return { loaded, failed };
  }

  /**
   * Delete a container's directory (rm). The rename aside is the commit
   * point: after it the container is gone, even if the deletion is cut short.
   */
  async remove(id: string): Promise<void> {
    const aside = join(this.base, `${ASIDE}rm-${id}`);
    try {
      await Deno.rename(this.dir(id), aside);
    } catch (err) {
      if (err instanceof Deno.errors.NotFound) return;
      throw err;
    }
    await syncDir(this.base);
    await removeAll(aside);
  }
}

/** Prefix of the directories being created or removed (never a container id). */
const ASIDE = ".";

function stateFile(rec: ContainerRecord): StateFile {
  return { State: rec.State, RestartCount: rec.RestartCount };
}
