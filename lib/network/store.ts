/**
 * The networks on disk: one `ROOT/networks/<Id>.json` per network, written
 * atomically, found by id, name or unique id prefix as Docker finds them.
 * @module
 */
import { join } from "node:path";
import { conflict, invalid, notFound } from "../errdefs/mod.ts";
import { removeAll, writeFileAtomic } from "../sys/mod.ts";
import { readJsonDir } from "./json_files.ts";
import type { NetworkRecord } from "./model.ts";

/** Docker's name rule (that of containers). */
const NAME_RE = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;
const MAX_NAME_LENGTH = 128;
/** Docker's predefined networks, whose names a user network cannot take. */
const PREDEFINED = new Set(["bridge", "host", "none"]);

/**
 * Check a user network's name.
 *
 * @example
 * ```ts
 * validateNetworkName("backend"); // ok
 * validateNetworkName("host"); // throws: a pre-defined network
 * ```
 */
export function validateNetworkName(name: string): void {
  if (PREDEFINED.has(name)) {
    throw invalid(`${name} is a pre-defined network and cannot be created`);
  }
  if (name.length > MAX_NAME_LENGTH || !NAME_RE.test(name)) {
    throw invalid(
      `invalid network name "${name}": at most ${MAX_NAME_LENGTH} of [a-zA-Z0-9][a-zA-Z0-9_.-]`,
    );
  }
}

/** Whether a parsed file is a usable record (a hand-edited file may hold anything). */
function isNetworkRecord(value: unknown): value is NetworkRecord {
  const r = value as Partial<NetworkRecord> | null;
  return typeof r?.Id === "string" && /^[0-9a-f]{64}$/.test(r.Id) && typeof r.Name === "string" &&
    Array.isArray(r.IPAM?.Config) && typeof r.IPAM.Config[0]?.Subnet === "string" &&
    typeof r.Options === "object" && r.Options !== null;
}

/**
 * The persisted networks.
 *
 * @example
 * ```ts
 * const store = new NetworkStore("/var/lib/corral");
 * await store.load();
 * store.get("bridge").IPAM.Config[0].Subnet;
 * ```
 */
export class NetworkStore {
  readonly #dir: string;
  readonly #byId = new Map<string, NetworkRecord>();

  constructor(root: string) {
    this.#dir = join(root, "networks");
  }

  /** Read every network; a file that is not one is logged and left on disk. */
  async load(): Promise<void> {
    this.#byId.clear();
    await readJsonDir(this.#dir, (record) => {
      if (!isNetworkRecord(record)) throw new Error("not a network record");
      if (this.byName(record.Name)) throw new Error(`a second network named ${record.Name}`);
      this.#byId.set(record.Id, record);
    });
  }

  /** Every network, oldest first. */
  list(): NetworkRecord[] {
    return [...this.#byId.values()].sort((a, b) => a.Created.localeCompare(b.Created));
  }

  /** The network with exactly this name. */
  byName(name: string): NetworkRecord | undefined {
    return [...this.#byId.values()].find((n) => n.Name === name);
  }

  /** A network by full id, name, or unique id prefix (Docker's order). */
  find(ref: string): NetworkRecord | undefined {
    const exact = this.#byId.get(ref) ?? this.byName(ref);
    if (exact || ref === "") return exact;
    const matches = [...this.#byId.values()].filter((n) => n.Id.startsWith(ref));
    if (matches.length > 1) {
      throw invalid(
        `network ${ref} is ambiguous (${matches.length} matches found based on ID prefix)`,
      );
    }
    return matches[0];
  }

  /** Like `find`, throwing Docker's not-found error. */
  get(ref: string): NetworkRecord {
    const network = this.find(ref);
    if (!network) throw notFound(`network ${ref} not found`);
    return network;
  }

  /** Persist a new or changed network; a name taken by another network is a conflict. */
  async save(network: NetworkRecord): Promise<void> {
    const other = this.byName(network.Name);
    if (other && other.Id !== network.Id) {
      throw conflict(`network with name ${network.Name} already exists`);
    }
    // Held in memory before the write, so a concurrent save sees the name taken.
    const previous = this.#byId.get(network.Id);
    this.#byId.set(network.Id, network);
    try {
      await writeFileAtomic(
        join(this.#dir, `${network.Id}.json`),
        JSON.stringify(network, null, 2),
      );
    } catch (err) {
      if (previous) this.#byId.set(network.Id, previous);
      else this.#byId.delete(network.Id);
      throw err;
    }
  }

  /** Forget a network and delete its file (a missing file is fine). */
  async remove(id: string): Promise<void> {
    await removeAll(join(this.#dir, `${id}.json`));
    this.#byId.delete(id);
  }
}
