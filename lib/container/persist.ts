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
import {
  readJson,
  removeAll,
  removeStaleTemps,
  syncDir,
  treeSize,
  writeFileAtomic,
} from "../sys/mod.ts";
import {
  type ContainerRecord,
  type ContainerState,
  defaultHostConfig,
  emptyConfig,
  type HostConfig,
  newState,
  ZERO_TIME,
} from "./model.ts";
import { getLogger } from "@logtape/logtape";
import { errorMessage } from "../errdefs/mod.ts";

const log = getLogger(["corral", "container"]);

type ConfigFile = Omit<ContainerRecord, "HostConfig" | "State" | "RestartCount">;
type StateFile = { State: ContainerState; RestartCount: number };

/**
 * A container directory whose config could not be loaded. Its record holds
 * what could be read (the state, with the pids of a run, at least the id), so
 * the container stays visible and removable and a run of it stays managed.
 */
export interface LoadFailure {
  id: string;
  reason: string;
  rec: ContainerRecord;
}

/**
 * Reads and writes container records.
 *
 * @example
 * ```ts
 * import type { ContainerRecord } from "./model.ts";
 * declare const rec: ContainerRecord;
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

  /** The container's own /etc files, written at each start (Docker's layout). */
  etcFiles(id: string): { hostname: string; hosts: string; resolvConf: string } {
    const dir = this.dir(id);
    return {
      hostname: join(dir, "hostname"),
      hosts: join(dir, "hosts"),
      resolvConf: join(dir, "resolv.conf"),
    };
  }

  /** Whether a container's directory is there. */
  exists(id: string): boolean {
    try {
      return Deno.statSync(this.dir(id)).isDirectory;
    } catch {
      return false;
    }
  }

  /** The overlay's work dir (beside the upper dir: the same filesystem). */
  workDir(id: string): string {
    return join(this.base, id, "work");
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

  /**
   * Load one container directory; throws with the reason when its config or
   * host config cannot be used.
   */
  async load(id: string): Promise<ContainerRecord> {
    const dir = this.dir(id);
    await removeStaleTemps(dir);
    const config = await readJson<ConfigFile>(join(dir, "config.json"));
    if (!config) throw new Error("config.json is missing");
    if (!isConfigFile(config, id)) throw new Error("config.json does not describe this container");
    const hc = await readJson<HostConfig>(join(dir, "hostconfig.json"));
    if (!hc) throw new Error("hostconfig.json is missing");
    const shapeError = hostConfigShapeError(hc);
    if (shapeError) throw new Error(`hostconfig.json: ${shapeError}`);
    return { ...config, HostConfig: hc, ...(await this.#loadState(id)) };
  }

  /** The persisted state, or a fresh one when state.json is missing or unreadable. */
  async #loadState(id: string): Promise<StateFile> {
    let st: StateFile | null = null;
    try {
      st = await readJson<StateFile>(join(this.dir(id), "state.json"));
    } catch (err) {
      // A torn state file cannot happen with atomic writes; if it does, the
      // container is kept with a fresh state and restore finds the truth.
      log.error("container {id}: state.json unreadable ({error}); using a fresh state", {
        id,
        error: errorMessage(err),
      });
    }
    const state = typeof st?.State === "object" && st.State !== null ? st.State : {};
    return {
      State: { ...newState(), ...state },
      RestartCount: typeof st?.RestartCount === "number" ? st.RestartCount : 0,
    };
  }

  /**
   * What can be read of a container whose config cannot be loaded: its id,
   * its name if config.json still says it, and its state (the pids of a run),
   * with a host config that never restarts it.
   */
  async #salvage(id: string): Promise<ContainerRecord> {
    const config = await readJson<Partial<ConfigFile>>(join(this.dir(id), "config.json"))
      .catch(() => null);
    const name = typeof config?.Name === "string" && config.Name ? config.Name : id;
    return {
      Id: id,
      Name: name,
      Created: typeof config?.Created === "string" ? config.Created : ZERO_TIME,
      Image: typeof config?.Image === "string" ? config.Image : "",
      ImageID: typeof config?.ImageID === "string" ? config.ImageID : "",
      Config: emptyConfig(),
      HostConfig: defaultHostConfig(),
      // Its volumes stay in use (never pruned) while it is listed.
      ...(Array.isArray(config?.MountPoints) ? { MountPoints: config.MountPoints } : {}),
      ...(await this.#loadState(id)),
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
    await removeStaleTemps(this.base);
    const aside = entries.filter((e) => e.name.startsWith(ASIDE));
    await Promise.all(aside.map((e) => removeAll(join(this.base, e.name))));
    await Promise.all(
      entries.filter((e) => e.isDirectory && !e.name.startsWith(ASIDE)).map(async (e) => {
        try {
          loaded.push(await this.load(e.name));
        } catch (err) {
          failed.push({ id: e.name, reason: errorMessage(err), rec: await this.#salvage(e.name) });
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

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function isConfigFile(v: unknown, id: string): v is ConfigFile {
  if (!isObject(v) || v.Id !== id || typeof v.Name !== "string" || !isObject(v.Config)) {
    return false;
  }
  const cfg = v.Config;
  return ["Cmd", "Env"].every((k) => Array.isArray(cfg[k])) && isObject(cfg.Labels ?? {});
}

/** Why a parsed hostconfig.json cannot be used, or "" when it can. */
function hostConfigShapeError(hc: unknown): string {
  if (!isObject(hc)) return "not an object";
  const policy = hc.RestartPolicy;
  if (!isObject(policy) || typeof policy.Name !== "string") return "no valid RestartPolicy";
  if (hc.Binds !== undefined && hc.Binds !== null) {
    if (!Array.isArray(hc.Binds) || hc.Binds.some((b) => typeof b !== "string")) {
      return "Binds is not a list of strings";
    }
  }
  for (const k of ["Memory", "NanoCpus", "PidsLimit"]) {
    if (hc[k] !== undefined && typeof hc[k] !== "number") return `${k} is not a number`;
  }
  return "";
}
