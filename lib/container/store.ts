/**
 * The in-memory container store: id and name index, lookup by id, name or
 * unique id prefix.
 * @module
 */
import { conflict, invalid, notFound } from "../errdefs/mod.ts";
import type { Container } from "./container.ts";

/**
 * Containers by id and name.
 *
 * @example
 * ```ts
 * import type { Container } from "./container.ts";
 * declare const c: Container;
 * const store = new ContainerStore();
 * store.add(c);
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

  /** Move a container to a new name in the index (the container records it). */
  rename(c: Container, newName: string): void {
    if (this.#byName.has(newName)) throw conflict(`container name "${newName}" is already in use`);
    this.#byName.delete(c.name);
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
