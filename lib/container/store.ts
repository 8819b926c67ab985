/**
 * The in-memory container store: id and name index, lookup by id, name or
 * unique id prefix.
 * @module
 */
import { conflict, invalid, notFound } from "../errdefs/mod.ts";
import type { ContainerRecord } from "./model.ts";
import { Mutex } from "./lock.ts";
import type { RestartManager } from "../restart/mod.ts";

/** A live container: its record plus the daemon's runtime bookkeeping. */
export class Container {
  /** The persisted record. */
  rec: ContainerRecord;
  /** User operations on this container run one at a time. */
  readonly lock = new Mutex();
  /** The exit fifo read end while supervised. */
  fifoFd: number | null = null;
  /** Resolves when the current run's exit has been fully handled. */
  exitHandled: Promise<void> | null = null;
  /** Set while a restart waits out its backoff; aborting it cancels that restart. */
  restartCancel: AbortController | null = null;
  /** Why the container's config could not be loaded at restore: it can only be removed. */
  loadError: string | null = null;
  /** Set while a stop waits for the exit, so kill and rm -f can interrupt it. */
  stopping = false;
  /** Set while rm is running, so nothing restarts it. */
  removing = false;
  /** Set once the container is gone from the store. */
  removed = false;
  /** Resolves `exitHandled`. */
  resolveExit: (() => void) | null = null;
  /** Counts runs and exits, so `wait --condition next-exit` knows a new exit. */
  runSeq = 0;
  /** Set when `runc start` failed, so the exit handler records it as such. */
  startFailure: { code: number; message: string } | null = null;
  /** The container's restart manager (seed 003), made on first use. */
  restartManager: RestartManager | null = null;
  readonly #waiters = new Set<{ ready: () => boolean; resolve: () => void }>();

  constructor(rec: ContainerRecord) {
    this.rec = rec;
  }

  /** The id. */
  get id(): string {
    return this.rec.Id;
  }

  /** The name. */
  get name(): string {
    return this.rec.Name;
  }

  /**
   * Run a user operation under the lock. An operation that queued behind an
   * `rm` finds the container gone and fails: it must not recreate a removed
   * container's directories or start its process again.
   *
   * @example
   * ```ts
   * await c.exclusive(async () => { await stopIt(c); });
   * ```
   */
  exclusive<T>(fn: () => Promise<T>): Promise<T> {
    return this.lock.run(() => {
      if (this.removed) return Promise.reject(notFound(`no such container: ${this.name}`));
      return fn();
    });
  }

  /** Resolve when `ready()` holds (checked at every state change). */
  waitFor(ready: () => boolean): Promise<void> {
    if (ready()) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.add({ ready, resolve }));
  }

  /** Tell the waiters that the state changed. */
  changed(): void {
    for (const w of this.#waiters) {
      if (w.ready()) {
        this.#waiters.delete(w);
        w.resolve();
      }
    }
  }
}

/**
 * Containers by id and name.
 *
 * @example
 * ```ts
 * const store = new ContainerStore();
 * store.add(new Container(rec));
 * store.get("web"); // by name, id or id prefix
 * ```
 */
export class ContainerStore {
  readonly #byId = new Map<string, Container>();
  readonly #byName = new Map<string, string>();

  /** Add a container; its name must be free. */
  add(c: Container): void {
    if (this.#byName.has(c.name)) throw conflict(`container name "${c.name}" is already in use`);
    this.#byId.set(c.id, c);
    this.#byName.set(c.name, c.id);
  }

  /** Remove a container from the index. */
  delete(id: string): void {
    const c = this.#byId.get(id);
    if (!c) return;
    this.#byId.delete(id);
    if (this.#byName.get(c.name) === id) this.#byName.delete(c.name);
  }

  /** Change a container's name in the index. */
  rename(c: Container, newName: string): void {
    if (this.#byName.has(newName)) throw conflict(`container name "${newName}" is already in use`);
    this.#byName.delete(c.name);
    c.rec.Name = newName;
    this.#byName.set(newName, c.id);
  }

  /** Whether a name is taken. */
  hasName(name: string): boolean {
    return this.#byName.has(name);
  }

  /** Find by full id, name or unique id prefix; throws not found / ambiguous. */
  get(ref: string): Container {
    const c = this.find(ref);
    if (!c) throw notFound(`No such container: ${ref}`);
    return c;
  }

  /** Like get, but null when missing. */
  find(ref: string): Container | null {
    const name = ref.startsWith("/") ? ref.slice(1) : ref;
    const byId = this.#byId.get(ref);
    if (byId) return byId;
    const id = this.#byName.get(name);
    if (id) return this.#byId.get(id) ?? null;
    if (!/^[0-9a-f]+$/.test(ref) || ref.length < 1) return null;
    const matches = [...this.#byId.keys()].filter((k) => k.startsWith(ref));
    if (matches.length > 1) throw invalid(`multiple containers match id prefix ${ref}`);
    return matches.length === 1 ? this.#byId.get(matches[0])! : null;
  }

  /** All containers, newest first. */
  list(): Container[] {
    return [...this.#byId.values()].sort((a, b) => b.rec.Created.localeCompare(a.rec.Created));
  }
}
