/**
 * The gc of seed 000/001: containers whose cleanup failed are kept in a
 * persisted list and retried until the cleanup succeeds, also across daemon
 * restarts (behaviour.md §4).
 * @module
 */
import { join } from "node:path";
import {
  isAlive,
  killAndWait,
  retryDelayMs,
  signalProcess,
  writeFileAtomic,
  WriteRetry,
} from "../sys/mod.ts";
import { isGroupShim } from "../shim/mod.ts";
import { errorMessage } from "../errdefs/mod.ts";
import { getLogger } from "@logtape/logtape";

const log = getLogger(["corral", "gc"]);

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
  /** A failed start: no restart once the cleanup succeeds. */
  noRestart?: boolean;
  lastError: string;
  tries: number;
}

/** What the gc needs from the engine. */
export interface GcHooks {
  /** Thaw and kill what is left in the container's cgroups, then run the full cleanup; throw on failure. */
  reclaim(entry: GcEntry): Promise<void>;
  /** The cleanup succeeded: state Exited, event, restart policy, auto-remove. */
  finished(entry: GcEntry): Promise<void>;
  /**
   * A try failed. `distinct` is true when its error differs from the
   * previous one: log and persist only then, so a stuck entry does not
   * flood the log.
   */
  failed(entry: GcEntry, distinct: boolean): void;
}

/** The gc's retry schedule is the shared one (100 ms doubling to 5 s per entry). */
export { retryDelayMs };

/** Whether a parsed value is a usable entry (a torn or hand-edited file may hold anything). */
function isGcEntry(e: unknown): e is GcEntry {
  if (typeof e !== "object" || e === null) return false;
  const r = e as Record<string, unknown>;
  return typeof r.id === "string" && r.id !== "" &&
    ["pid", "startTime", "ppid", "pStartTime", "exitCode"].every((k) =>
      typeof r[k] === "number" && Number.isFinite(r[k])
    );
}

/**
 * The gc handler.
 *
 * @example
 * ```ts
 * declare const root: string, hooks: GcHooks, entry: GcEntry;
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
  readonly #writes = new WriteRetry({
    failed: (_key, err) =>
      log.error("saving {path} failed, retrying until it lands: {error}", {
        path: this.#path,
        error: errorMessage(err),
      }),
    recovered: () => log.info("saved {path}", { path: this.#path }),
  });

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
    let problem: string | undefined;
    let list: GcEntry[] = [];
    try {
      const parsed = JSON.parse(await Deno.readTextFile(this.#path));
      if (!Array.isArray(parsed?.entries)) throw new Error("no entries array");
      list = parsed.entries.filter(isGcEntry);
      const bad = parsed.entries.length - list.length;
      if (bad > 0) problem = `${bad} malformed entr${bad === 1 ? "y" : "ies"}`;
    } catch (err) {
      if (!(err instanceof Deno.errors.NotFound)) problem = errorMessage(err);
    }
    let error: string | undefined;
    if (problem) {
      error = `gc list ${this.#path} is corrupt (${problem}); kept as ${this.#path}.corrupt, ` +
        `entries recovered from container states`;
      await Deno.rename(this.#path, `${this.#path}.corrupt`).catch(() => {});
      // The entries that could be read keep their details; the states fill in the rest.
      const known = new Set(list.map((e) => e.id));
      list.push(...(await recover()).filter((e) => !known.has(e.id)));
    }
    for (const e of list) {
      this.#entries.set(e.id, {
        ...e,
        finishedAt: e.finishedAt ?? "",
        ranForMs: e.ranForMs ?? 0,
        tries: e.tries ?? 0,
        lastError: e.lastError ?? "",
      });
    }
    if (error) await this.#save();
    return { entries: [...this.#entries.values()], error };
  }

  /**
   * Write the list; writes are serialized. A write that fails (a full disk)
   * is retried until it lands, with the list as it is then: the gc goes on.
   */
  #save(): Promise<void> {
    const write = () =>
      writeFileAtomic(
        this.#path,
        JSON.stringify({ version: 1, entries: [...this.#entries.values()] }),
      );
    const saved = this.#saving.then(() => this.#writes.write("gc", write)).then(() => {});
    this.#saving = saved;
    return saved;
  }

  /** Put a container in the gc (de-duplicated by id: a second add updates the entry). */
  async add(entry: Omit<GcEntry, "tries"> & { tries?: number }): Promise<void> {
    const prev = this.#entries.get(entry.id);
    this.#entries.set(entry.id, { ...entry, tries: prev?.tries ?? entry.tries ?? 0 });
    this.#due.set(entry.id, Date.now() + retryDelayMs(1));
    await this.#save();
    this.#schedule();
  }

  /**
   * Drop an entry without collecting it: restore found its container no
   * longer in gc (the gc finished it, but the list could not be saved).
   */
  async forget(id: string): Promise<void> {
    if (!this.#entries.delete(id)) return;
    this.#due.delete(id);
    await this.#save();
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
    this.#writes.close();
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
        try {
          await this.#collect(entry);
        } catch (err) {
          // A hook or a save failed: keep the loop alive; the entry (if still
          // listed) is retried on its schedule.
          log.error("container {id}: {error}", { id: entry.id, error: errorMessage(err) });
        }
      }
    } finally {
      this.#running = false;
      this.#schedule();
    }
  }

  async #collect(entry: GcEntry): Promise<void> {
    try {
      // The shim is killed first so it cannot restart anything. A start
      // time of 0 is unknown, and an unknown identity is never signalled.
      // A group shim serves others: killing the init below ends its run.
      const shim = { pid: entry.ppid, startTime: entry.pStartTime };
      if (shim.startTime > 0 && !isGroupShim(shim.pid)) signalProcess(shim, 9);
      const init = { pid: entry.pid, startTime: entry.startTime };
      if (init.startTime > 0 && isAlive(init) && !(await killAndWait(init, 3, 50))) {
        throw new Error(`container process ${entry.pid} does not die (stuck in D state or frozen)`);
      }
      await this.hooks.reclaim(entry);
    } catch (err) {
      const msg = errorMessage(err);
      const distinct = msg !== entry.lastError;
      entry.tries++;
      entry.lastError = msg;
      this.#due.set(entry.id, Date.now() + retryDelayMs(entry.tries));
      this.hooks.failed(entry, distinct);
      if (distinct) await this.#save();
      return;
    }
    this.#entries.delete(entry.id);
    this.#due.delete(entry.id);
    // A list that cannot be saved must not hold the container back: its
    // state says Exited once `finished` ran, and restore drops a listed
    // entry whose container is no longer in gc, so nothing runs twice.
    await this.#save().catch((err) =>
      log.error("saving {path} failed: {error}", { path: this.#path, error: errorMessage(err) })
    );
    await this.hooks.finished(entry);
  }
}
