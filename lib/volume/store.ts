/**
 * The volume store: each volume is `ROOT/volumes/NAME/` with its metadata in
 * `volume.json` (written atomically) and its data in `_data`, as Docker's
 * local driver lays them out. A volume backed by a mount (tmpfs, or a bind of
 * a host directory) is mounted on `_data` when the first run using it starts
 * and unmounted when the last one's cleanup releases it; the runs holding a
 * volume are known by container id, and found again at restore from the
 * container records (`adopt`).
 * @module
 */
import { join } from "node:path";
import { conflict, errorMessage, invalid, notFound } from "../errdefs/mod.ts";
import {
  isMountPoint,
  mountFs,
  mountsUnder,
  MS,
  readJson,
  removeAll,
  removeStaleTemps,
  syncDir,
  treeSize,
  unmount,
  writeFileAtomic,
} from "../sys/mod.ts";
import { copyUp } from "./copy_up.ts";
import {
  ANONYMOUS_LABEL,
  anonymousName,
  LOCAL_DRIVER,
  validateVolumeName,
  type VolumeRecord,
} from "./model.ts";
import { mountPlan } from "./options.ts";

/** What `volume create` takes (Docker's `VolumeCreateBody`). */
export interface VolumeCreateRequest {
  Name?: string;
  Driver?: string;
  DriverOpts?: Record<string, string> | null;
  Labels?: Record<string, string> | null;
  /** An anonymous volume: a generated name and Docker's anonymous label. */
  anonymous?: boolean;
}

/** Where renamed-aside directories of volumes being created or removed go. */
const NEW = ".new-";
const GONE = ".rm-";

/**
 * The volumes of one root.
 *
 * @example
 * ```ts
 * const volumes = new VolumeStore("/var/lib/corral");
 * await volumes.load();
 * const v = await volumes.create({ Name: "db", Labels: { app: "db" } });
 * const data = await volumes.acquire(v.Name, "CONTAINER-ID", null);
 * await volumes.release("CONTAINER-ID");
 * ```
 */
export class VolumeStore {
  /** `ROOT/volumes`. */
  readonly base: string;
  readonly #volumes = new Map<string, VolumeRecord>();
  /** The container runs holding each volume. */
  readonly #users = new Map<string, Set<string>>();
  readonly #locks = new Map<string, Promise<unknown>>();

  constructor(root: string) {
    this.base = join(root, "volumes");
  }

  /** Load every volume; returns one line per directory that could not be loaded (left on disk). */
  async load(): Promise<string[]> {
    await Deno.mkdir(this.base, { recursive: true, mode: 0o701 });
    const problems: string[] = [];
    for await (const e of Deno.readDir(this.base)) {
      const dir = join(this.base, e.name);
      if (!e.isDirectory) continue;
      if (e.name.startsWith(NEW) || e.name.startsWith(GONE)) {
        // A create or remove a crash cut short: never holds a mount, so it can go.
        if (mountsUnder(dir).length === 0) await removeAll(dir);
        continue;
      }
      try {
        await removeStaleTemps(dir);
        const rec = await readJson<VolumeRecord>(join(dir, "volume.json"));
        if (!rec || rec.Name !== e.name) throw new Error("volume.json is missing or names another");
        this.#volumes.set(rec.Name, {
          ...rec,
          Labels: rec.Labels ?? {},
          Options: rec.Options ?? {},
        });
      } catch (err) {
        problems.push(`volume ${e.name} cannot be loaded: ${errorMessage(err)}`);
      }
    }
    return problems;
  }

  /** Every volume. */
  list(): VolumeRecord[] {
    return [...this.#volumes.values()];
  }

  /** A volume, or null. */
  find(name: string): VolumeRecord | null {
    return this.#volumes.get(name) ?? null;
  }

  /** A volume; 404 with Docker's message when there is none. */
  get(name: string): VolumeRecord {
    const v = this.#volumes.get(name);
    if (!v) throw notFound(`get ${name}: no such volume`);
    return v;
  }

  /** Where a volume's data is (Docker's `Mountpoint`). */
  mountpoint(name: string): string {
    return join(this.base, name, "_data");
  }

  /** Bytes in a volume's data. */
  size(name: string): Promise<number> {
    return treeSize(this.mountpoint(name));
  }

  /** Whether a run holds the volume. */
  inUse(name: string): boolean {
    return (this.#users.get(name)?.size ?? 0) > 0;
  }

  /**
   * Create a volume; an existing one of that name is returned as it is (as
   * Docker's local driver does). Options and labels are checked first: a
   * bad one creates nothing.
   */
  async create(req: VolumeCreateRequest): Promise<VolumeRecord> {
    const name = req.anonymous || !req.Name ? anonymousName() : validateVolumeName(req.Name);
    const driver = req.Driver || LOCAL_DRIVER;
    if (driver !== LOCAL_DRIVER) {
      throw notFound(`error looking up volume plugin ${driver}: plugin "${driver}" not found`);
    }
    const options = { ...(req.DriverOpts ?? {}) };
    mountPlan(options);
    const labels = { ...(req.Labels ?? {}) };
    if (Object.values(labels).some((v) => typeof v !== "string")) {
      throw invalid("Labels must be an object of string values");
    }
    if (req.anonymous) labels[ANONYMOUS_LABEL] = "";
    return await this.#locked(name, async () => {
      const existing = this.#volumes.get(name);
      if (existing) return existing;
      const rec: VolumeRecord = {
        Name: name,
        Driver: driver,
        CreatedAt: new Date().toISOString().replace(/\.\d+Z$/, "Z"),
        Labels: labels,
        Options: options,
      };
      // Written aside and renamed into place: a volume exists whole or not at all.
      const aside = join(this.base, `${NEW}${name}`);
      await removeAll(aside);
      await Deno.mkdir(join(aside, "_data"), { recursive: true, mode: 0o755 });
      await Deno.chmod(aside, 0o701);
      await writeFileAtomic(join(aside, "volume.json"), JSON.stringify(rec));
      await Deno.rename(aside, join(this.base, name));
      await syncDir(this.base);
      this.#volumes.set(name, rec);
      return rec;
    });
  }

  /**
   * Remove a volume no container refers to (the caller checks that); a
   * volume a run holds is refused. The directory is renamed aside first, and
   * never deleted while anything is mounted under it.
   */
  async remove(name: string): Promise<void> {
    this.get(name);
    await this.#locked(name, async () => {
      if (!this.#volumes.has(name)) return;
      if (this.inUse(name)) {
        throw conflict(`remove ${name}: volume is in use - [${[...this.#users.get(name)!]}]`);
      }
      const dir = join(this.base, name);
      this.#unmountData(name);
      if (mountsUnder(dir).length > 0) {
        throw conflict(`remove ${name}: something is still mounted in ${dir}`);
      }
      const aside = join(this.base, `${GONE}${name}-${crypto.randomUUID().slice(0, 8)}`);
      await Deno.rename(dir, aside);
      await syncDir(this.base);
      this.#volumes.delete(name);
      await removeAll(aside);
    });
  }

  /**
   * A run of container `user` takes the volume: its mount is made if it has
   * one and is not there yet, the image's content (`source`, null for none)
   * is copied into it if it is empty (copy_up.ts), and the run is recorded.
   * Returns the host path to bind into the container.
   */
  acquire(name: string, user: string, source: string | null): Promise<string> {
    return this.#locked(name, async () => {
      const v = this.get(name);
      const data = this.mountpoint(name);
      const plan = mountPlan(v.Options);
      // Recorded first: a failure below is released by the run's cleanup.
      this.adopt(name, user);
      if (plan && !isMountPoint(data)) {
        mountFs(plan.source, data, plan.fstype, plan.flags, plan.data);
        if (plan.fstype === "" && plan.flags & MS.RDONLY) {
          // A bind is read-only only once remounted so.
          mountFs("", data, "", MS.REMOUNT | MS.BIND | MS.RDONLY);
        }
      }
      await copyUp({
        data,
        moving: v.CopyUp === "moving",
        mark: (moving) => this.#save({ ...v, CopyUp: moving ? "moving" : undefined }),
      }, source);
      return data;
    });
  }

  /** Record that a run holds a volume (restore finds the runs in the container records). */
  adopt(name: string, user: string): void {
    let users = this.#users.get(name);
    if (!users) this.#users.set(name, users = new Set());
    users.add(user);
  }

  /**
   * A run's cleanup: it holds no volume any more; a volume no other run holds
   * is unmounted. Throws when an unmount fails (the gc retries the cleanup,
   * which calls this again).
   */
  async release(user: string): Promise<void> {
    const failures: string[] = [];
    for (const [name, users] of [...this.#users]) {
      if (!users.has(user)) continue;
      await this.#locked(name, () => {
        users.delete(user);
        if (users.size > 0) return Promise.resolve();
        this.#users.delete(name);
        try {
          this.#unmountData(name);
        } catch (err) {
          // Held again so that the retry unmounts it.
          this.adopt(name, user);
          failures.push(`volume ${name}: ${errorMessage(err)}`);
        }
        return Promise.resolve();
      });
    }
    if (failures.length) throw new Error(failures.join("; "));
  }

  /** After restore: unmount the data of every volume no run holds (a crash's leftovers). */
  sweep(): string[] {
    const problems: string[] = [];
    for (const name of this.#volumes.keys()) {
      if (this.inUse(name)) continue;
      try {
        this.#unmountData(name);
      } catch (err) {
        problems.push(`volume ${name}: ${errorMessage(err)}`);
      }
    }
    return problems;
  }

  #unmountData(name: string): void {
    const data = this.mountpoint(name);
    // A bind of a host directory may stack: unmount until nothing is left.
    for (let i = 0; i < 8 && isMountPoint(data); i++) unmount(data);
  }

  async #save(rec: VolumeRecord): Promise<void> {
    await writeFileAtomic(join(this.base, rec.Name, "volume.json"), JSON.stringify(rec));
    this.#volumes.set(rec.Name, rec);
  }

  /** Run `fn` under the volume's lock (create, remove, mount, release of one name are serialized). */
  #locked<T>(name: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.#locks.get(name) ?? Promise.resolve();
    const next = prev.catch(() => {}).then(fn);
    const tail = next.catch(() => {});
    this.#locks.set(name, tail);
    void tail.then(() => {
      if (this.#locks.get(name) === tail) this.#locks.delete(name);
    });
    return next;
  }
}
