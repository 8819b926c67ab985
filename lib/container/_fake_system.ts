/**
 * A fake system and the service on it, for the core's unit tests: runs are
 * pids in a table, `runc start` and the shim's create succeed or fail as the
 * test says, and an exit is delivered as the supervisor would deliver it.
 * @module
 */
import { VolumeStore } from "../volume/mod.ts";
import type { EventLog } from "../events/mod.ts";
import type { Image, ImageStore } from "../image/mod.ts";
import type { PidInfo } from "../supervisor/mod.ts";
import { DEFAULT_BACKOFF } from "../restart/mod.ts";
import { ContainerService } from "./service.ts";
import type { ContainerSystem } from "./system.ts";

/** The image every fake container runs. */
export const FAKE_IMAGE: Image = {
  Id: "sha256:" + "0".repeat(64),
  RepoTags: ["busybox:latest"],
  Created: "2024-01-01T00:00:00Z",
  Size: 0,
  Layers: [],
  Config: { Cmd: ["sh"], Env: [] },
} as unknown as Image;

/** A system that only records and answers as told. */
export class FakeSystem implements ContainerSystem {
  readonly calls: string[] = [];
  /** Live processes by pid. */
  readonly alive = new Set<number>();
  /** Exit files by container id. */
  readonly exitFiles = new Map<string, { exitCode: number; finishedAt: string }>();
  createError: Error | null = null;
  startError: Error | null = null;
  cleanupError: Error | null = null;
  /** The persisted state, read at the moment `runc start` is called. */
  stateAtStart: unknown = null;
  #nextPid = 1000;
  readonly #runs = new Map<string, PidInfo>();

  constructor(
    readonly onExit: (id: string, pids: PidInfo) => void,
    readonly stateFile: (id: string) => string,
  ) {}

  create(c: { id: string }): Promise<{ fifoFd: number; pids: PidInfo }> {
    this.calls.push("create");
    if (this.createError) return Promise.reject(this.createError);
    const pids = { pid: this.#nextPid++, startTime: 1, ppid: this.#nextPid++, pStartTime: 1 };
    this.alive.add(pids.pid).add(pids.ppid);
    this.#runs.set(c.id, pids);
    return Promise.resolve({ fifoFd: 3, pids });
  }

  async start(id: string): Promise<void> {
    this.calls.push("start");
    this.stateAtStart = JSON.parse(await Deno.readTextFile(this.stateFile(id)));
    if (this.startError) throw this.startError;
  }

  /** The container's run ends with `exitCode`: its shim writes the exit file and goes. */
  exit(id: string, exitCode: number): void {
    const pids = this.#runs.get(id);
    if (!pids) throw new Error(`no run of ${id}`);
    this.exitFiles.set(id, { exitCode, finishedAt: new Date().toISOString() });
    this.alive.delete(pids.pid);
    this.alive.delete(pids.ppid);
    this.#runs.delete(id);
    queueMicrotask(() => this.onExit(id, pids));
  }

  watchExit(): void {
    this.calls.push("watch");
  }
  openExitFifo(): number | null {
    return null;
  }
  closeExitFifo(): void {}
  runcStatus(): Promise<string | null> {
    return Promise.resolve(null);
  }
  signal(p: { pid: number }, sig: number): void {
    this.calls.push(`signal ${sig}`);
    if (sig === 9) this.#killed(p.pid);
  }
  readExitFile(id: string): Promise<{ exitCode: number; finishedAt: string } | null> {
    return Promise.resolve(this.exitFiles.get(id) ?? null);
  }
  isAlive(p: { pid: number }): boolean {
    return this.alive.has(p.pid);
  }
  killAndWait(p: { pid: number }): Promise<boolean> {
    this.calls.push("killAndWait");
    this.#killed(p.pid);
    return Promise.resolve(true);
  }
  oomKilled(): boolean {
    return false;
  }
  cleanup(): Promise<void> {
    this.calls.push("cleanup");
    return this.cleanupError ? Promise.reject(this.cleanupError) : Promise.resolve();
  }
  reclaim(): Promise<void> {
    return this.cleanup();
  }
  update(): Promise<void> {
    return Promise.resolve();
  }
  hasStateDir(): boolean {
    return false;
  }
  adopt(): void {}

  /** A SIGKILLed init: its shim reports the exit (137) as the real one would. */
  #killed(pid: number): void {
    for (const [id, pids] of this.#runs) if (pids.pid === pid) this.exit(id, 137);
  }
}

/** Events, recorded. */
export function fakeEvents(): EventLog & { actions: string[] } {
  const actions: string[] = [];
  const log = { actions, emit: (_t: string, action: string) => void actions.push(action) };
  return log as unknown as EventLog & { actions: string[] };
}

/** A service on a fake system, with its own temporary root. */
export async function fakeService(): Promise<
  { svc: ContainerService; sys: FakeSystem; events: ReturnType<typeof fakeEvents>; root: string }
> {
  const root = await Deno.makeTempDir({ prefix: "corral-unit-" });
  const events = fakeEvents();
  const images = {
    find: () => FAKE_IMAGE,
    resolve: () => FAKE_IMAGE,
  } as unknown as ImageStore;
  let sys!: FakeSystem;
  const svc = new ContainerService(
    {
      root,
      stateRoot: `${root}/state`,
      runtime: "runc",
      cgroupParent: "corral-unit",
      backoff: { ...DEFAULT_BACKOFF, initialMs: 10 },
      images,
      volumes: new VolumeStore(root),
      events,
      logMaxSize: 1 << 20,
      logMaxFiles: 1,
      createTimeoutMs: 1000,
    },
    (disk, onExit) => sys = new FakeSystem(onExit, (id) => `${disk.dir(id)}/state.json`),
  );
  return { svc, sys, events, root };
}
