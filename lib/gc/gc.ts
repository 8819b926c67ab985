/**
 * The gc of seed 000/001: containers whose cleanup failed are kept in a
 * persisted list and retried until the cleanup succeeds, also across daemon
 * restarts (behaviour.md §4).
 * @module
 */
import { join } from "node:path";
import { isAlive, killAndWait, signalProcess, writeFileAtomic } from "../sys/mod.ts";

/** One container waiting for its cleanup (seed: id + pid_ppid_info_t). */
export interface GcEntry {
  id: string;
  pid: number;
  startTime: number;
  ppid: number;
  pStartTime: number;
  /** The exit code to record when the cleanup finally succeeds. */
  exitCode: number;
  finishedAt: string;
  /** How long the container ran, for the restart manager's backoff. */
  ranForMs: number;
  lastError: string;
  tries: number;
}

/** What the gc needs from the engine. */
export interface GcHooks {
  /** Thaw and kill what is left in the container's cgroups, then run the full cleanup; throw on failure. */
  reclaim(entry: GcEntry): Promise<void>;
  /** The cleanup succeeded: state Exited, event, restart policy, auto-remove. */
  finished(entry: GcEntry): Promise<void>;
  /** Each distinct failure, once. */
  logFailure(entry: GcEntry): void;
}

/** Retry schedule: 100 ms, doubling per entry up to 5 s for entries that keep failing. */
export function retryDelayMs(tries: number): number {
  return Math.min(100 * 2 ** Math.max(0, tries - 1), 5000);
}

/**
 * The gc handler.
 *
 * @example
 * ```ts
 * const gc = new GcHandler(root, hooks);
 * await gc.load();          // before restore
 * await gc.add(entry);      // a failed cleanup
 * gc.start();               // after restore
 * ```
 */
export class GcHandler {
  readonly #entries = new Map<string, GcEntry>();
  readonly #due = new Map<string, number>();
  readonly #path: string;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #running = false;
  #stopped = true;
  #saving: Promise<void> = Promise.resolve();

  constructor(root: string, readonly hooks: GcHooks) {
    this.#path = join(root, "gc.json");
  }

  /**
   * Load the persisted list. A corrupt file is reported, kept aside as
   * `gc.json.corrupt`, and the entries are recovered from `recover` (the
   * containers whose persisted state says gc); never silently emptied.
   */
  async load(
    recover: () => Promise<GcEntry[]> = () => Promise.resolve([]),
  ): Promise<{ entries: GcEntry[]; error?: string }> {
    let error: string | undefined;
    let list: GcEntry[] = [];
    try {
      const text = await Deno.readTextFile(this.#path);
      const parsed = JSON.parse(text);
      if (!Array.isArray(parsed?.entries)) throw new Error("no entries array");
      list = parsed.entries;
    } catch (err) {
      if (!(err instanceof Deno.errors.NotFound)) {
        error = `gc list ${this.#path} is corrupt (${err instanceof Error ? err.message : err}); ` +
          `kept as ${this.#path}.corrupt, entries recovered from container states`;
        await Deno.rename(this.#path, `${this.#path}.corrupt`).catch(() => {});
        list = await recover();
      }
    }
    for (const e of list) {
      this.#entries.set(e.id, { ...e, tries: e.tries ?? 0, lastError: e.lastError ?? "" });
    }
    if (error) await this.#save();
    return { entries: [...this.#entries.values()], error };
  }

  async #save(): Promise<void> {
    const data = JSON.stringify({ version: 1, entries: [...this.#entries.values()] });
    this.#saving = this.#saving.then(() => writeFileAtomic(this.#path, data));
    await this.#saving;
  }

  /** Put a container in the gc (de-duplicated by id: a second add updates the entry). */
  async add(entry: Omit<GcEntry, "tries"> & { tries?: number }): Promise<void> {
    const prev = this.#entries.get(entry.id);
    this.#entries.set(entry.id, { ...entry, tries: prev?.tries ?? entry.tries ?? 0 });
    this.#due.set(entry.id, Date.now() + retryDelayMs(1));
    await this.#save();
    this.#schedule();
  }

  /** Whether a container is in the gc. */
  has(id: string): boolean {
    return this.#entries.has(id);
  }

  /** One entry. */
  get(id: string): GcEntry | undefined {
    return this.#entries.get(id);
  }

  /** All entries. */
  list(): GcEntry[] {
    return [...this.#entries.values()];
  }

  /** Start the loop (after restore). */
  start(): void {
    this.#stopped = false;
    this.#schedule();
  }

  /** Stop the loop; entries stay persisted. */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    while (this.#running) await new Promise((r) => setTimeout(r, 10));
    await this.#saving;
  }

  #schedule(): void {
    if (this.#stopped || this.#running) return;
    clearTimeout(this.#timer);
    if (this.#entries.size === 0) return;
    const now = Date.now();
    const next = Math.min(...[...this.#entries.keys()].map((id) => this.#due.get(id) ?? now));
    this.#timer = setTimeout(() => this.#pass(), Math.max(0, next - now));
  }

  async #pass(): Promise<void> {
    this.#running = true;
    try {
      const now = Date.now();
      for (const entry of [...this.#entries.values()]) {
        if (this.#stopped) break;
        if ((this.#due.get(entry.id) ?? 0) > now) continue;
        await this.#collect(entry);
      }
    } finally {
      this.#running = false;
      this.#schedule();
    }
  }

  async #collect(entry: GcEntry): Promise<void> {
    try {
      // The shim is killed first so it cannot restart anything.
      signalProcess({ pid: entry.ppid, startTime: entry.pStartTime }, 9);
      const init = { pid: entry.pid, startTime: entry.startTime };
      if (isAlive(init) && !(await killAndWait(init, 3, 50))) {
        throw new Error(`container process ${entry.pid} does not die (stuck in D state or frozen)`);
      }
      await this.hooks.reclaim(entry);
    } catch (err) {
      const msg = err instanceof Error ? err.message : String(err);
      entry.tries++;
      if (msg !== entry.lastError) {
        entry.lastError = msg;
        this.hooks.logFailure(entry);
        await this.#save();
      }
      this.#due.set(entry.id, Date.now() + retryDelayMs(entry.tries));
      return;
    }
    this.#entries.delete(entry.id);
    this.#due.delete(entry.id);
    await this.#save();
    await this.hooks.finished(entry);
  }
}
