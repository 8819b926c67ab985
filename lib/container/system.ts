/**
 * The system the container core acts on, as one small interface: the start
 * path, the exit path and restore call only this, so their unit tests run on
 * a fake while the integration tests run on runc. `RuncSystem` is the real
 * one: bundles under the state dir, exit fifos under the supervisor's epoll,
 * shims launching runc, cgroups under the cgroup parent.
 * @module
 */
import { existsSync } from "node:fs";
import type { Image, ImageStore } from "../image/mod.ts";
import {
  buildSpec,
  type Bundle,
  cgroupPids,
  cleanupContainer,
  type ContainerResources,
  launchShim,
  type LiveLimits,
  oomKillCount,
  Runc,
  type SpecNetwork,
  StateDir,
  thawCgroup,
  type VolumeBind,
} from "../runtime/mod.ts";
import { readExitFile } from "../shim/mod.ts";
import { type ExitSystem, type PidInfo, Supervisor } from "../supervisor/mod.ts";
import {
  isAlive,
  killAndWait,
  mountOverlay,
  signalProcess,
  signals,
  sleep,
  writeFileAtomic,
} from "../sys/mod.ts";
import type { Container } from "./container.ts";
import { etcFilesInput, resolvConf } from "./etc_files.ts";
import type { ContainerNetworking } from "./networking.ts";
import type { ContainerDisk } from "./persist.ts";
import { takeVolumes } from "./volumes.ts";
import type { VolumeStore } from "../volume/mod.ts";

/** What the core needs from the system (a fake in unit tests). */
export interface ContainerSystem extends ExitSystem {
  /**
   * Set up a run (state dir, open exit fifo, rootfs mount, OCI spec) and
   * launch its shim, which runs `runc create`. On failure what was set up is
   * left for `cleanup`, and the exit fifo is closed.
   */
  create(c: Container, image: Image): Promise<{ fifoFd: number; pids: PidInfo }>;
  /** `runc start`; throws with runc's message. */
  start(id: string): Promise<void>;
  /** Watch a run's open exit fifo (the supervisor's epoll). */
  watchExit(fd: number, id: string, pids: PidInfo): void;
  /** Open an existing run's exit fifo (restore); null when it is gone. */
  openExitFifo(id: string): number | null;
  /** Close an exit fifo that will not be watched. */
  closeExitFifo(fd: number): void;
  /** runc's status of a container, or null when runc does not know it. */
  runcStatus(id: string): Promise<string | null>;
  /** Signal a process by pid and start time (a reused pid is never hit). */
  signal(p: { pid: number; startTime: number }, sig: number): void;
  /** Thaw, kill what is left in the cgroups, then clean up (the gc's and restore's reclaim). */
  reclaim(id: string): Promise<void>;
  /** Apply new cgroup limits to a running container. */
  update(id: string, limits: LiveLimits): Promise<void>;
  /** Whether the container's state dir exists (a run, or a cleanup not finished). */
  hasStateDir(id: string): boolean;
  /** Restore of a live run: hold again what it holds outside its state dir (host ports). */
  adopt(c: Container): void;
}

/** Daemon settings the real system needs. */
export interface RuncSystemOptions {
  stateRoot: string;
  runtime: string;
  cgroupParent: string;
  logMaxSize: number;
  logMaxFiles: number;
  createTimeoutMs: number;
  /** The volumes runs take at start and release at cleanup. */
  volumes: VolumeStore;
}

/**
 * The real system: runc through a shim per container.
 *
 * @example
 * ```ts
 * import type { ImageStore } from "../image/mod.ts";
 * import type { ContainerDisk } from "./persist.ts";
 * declare const images: ImageStore;
 * declare const disk: ContainerDisk;
 * import type { ContainerNetworking } from "./networking.ts";
 * import type { PidInfo } from "../supervisor/mod.ts";
 * declare const networking: ContainerNetworking;
 * declare const opts: RuncSystemOptions;
 * const onExit = (id: string, pids: PidInfo) => console.log(id, "exited", pids.pid);
 * const sys = new RuncSystem(opts, images, disk, networking, onExit);
 * ```
 */
export class RuncSystem implements ContainerSystem {
  readonly #stateDir: StateDir;
  readonly runc: Runc;
  readonly supervisor: Supervisor;

  constructor(
    readonly opts: RuncSystemOptions,
    readonly images: ImageStore,
    readonly disk: ContainerDisk,
    readonly networking: ContainerNetworking,
    onExit: (id: string, pids: PidInfo) => void,
  ) {
    this.#stateDir = new StateDir(opts.stateRoot);
    this.runc = new Runc(opts.runtime, this.#stateDir.runcRoot);
    this.supervisor = new Supervisor(onExit);
  }

  /** The volume store. */
  get volumes(): VolumeStore {
    return this.opts.volumes;
  }

  /** The state (bundle) dir of a container. */
  bundle(id: string): Bundle {
    return this.#stateDir.bundle(id);
  }

  /** What identifies a container's resources for the cleanup. */
  resources(id: string): ContainerResources {
    return {
      id,
      bundle: this.bundle(id),
      cgroupsPath: `/${this.opts.cgroupParent}/${id}`,
      release: () => this.volumes.release(id),
    };
  }

  async create(c: Container, image: Image): Promise<{ fifoFd: number; pids: PidInfo }> {
    const res = this.resources(c.id);
    await res.bundle.create();
    const fd = this.supervisor.openExitFifo(this.supervisor.createExitFifo(res.bundle.dir));
    try {
      await this.#mountRootfs(c, image, res.bundle);
      // After the rootfs: the image's content at a volume's path is copied from it.
      const volumes = await takeVolumes(this.volumes, c.rec, res.bundle.rootfs);
      const { network, ports } = await this.networking.setUp(c.rec);
      c.portsHeld(ports);
      await this.#writeSpec(c, res, network, volumes);
      const shim = await launchShim({
        id: c.id,
        bundle: res.bundle.dir,
        runtime: this.opts.runtime,
        runtimeRoot: this.runc.root,
        logPath: this.disk.logPath(c.id),
        logMaxSize: this.opts.logMaxSize,
        logMaxFiles: this.opts.logMaxFiles,
        createTimeoutMs: this.opts.createTimeoutMs,
        tty: Boolean(c.rec.Config.Tty),
        openStdin: Boolean(c.rec.Config.OpenStdin),
        stdinOnce: Boolean(c.rec.Config.StdinOnce),
      });
      const pids = {
        pid: shim.pid,
        startTime: shim.startTime,
        ppid: shim.shimPid,
        pStartTime: shim.shimStartTime,
      };
      return { fifoFd: fd, pids };
    } catch (err) {
      this.supervisor.removeExitMonitor(fd);
      throw err;
    }
  }

  async #mountRootfs(c: Container, image: Image, bundle: Bundle): Promise<void> {
    const upper = await mkdirp(this.disk.upperDir(c.id));
    // The upper dir's root is the container's "/": a non-root User must traverse it.
    await Deno.chmod(upper, 0o755);
    const work = await mkdirp(this.disk.workDir(c.id));
    mountOverlay(this.images.layerDirs(image), upper, work, bundle.rootfs);
  }

  /**
   * Write /etc/hostname, /etc/hosts and /etc/resolv.conf for a run, then
   * tell the members of its networks it is there; returns their binds.
   */
  async #writeEtcFiles(c: Container): Promise<{ source: string; destination: string }[]> {
    const paths = this.disk.etcFiles(c.id);
    const input = etcFilesInput(c.rec);
    const hostResolv = await Deno.readTextFile("/etc/resolv.conf").catch(() => "");
    // Made anew at every start from the persisted record: a crash that tears
    // one is repaired by the next start, so no fsync on the start path.
    const write = (path: string, text: string) => Deno.writeTextFile(path, text, { mode: 0o644 });
    await Promise.all([
      write(paths.hostname, `${input.hostname}\n`),
      this.networking.writeHosts(c.rec),
      write(paths.resolvConf, resolvConf(hostResolv, input)),
    ]);
    await this.networking.refreshMembers(Object.keys(c.rec.Networks ?? {}), c.id);
    return [
      { source: paths.hostname, destination: "/etc/hostname" },
      { source: paths.hosts, destination: "/etc/hosts" },
      { source: paths.resolvConf, destination: "/etc/resolv.conf" },
    ];
  }

  async #writeSpec(
    c: Container,
    res: ContainerResources,
    network: SpecNetwork | undefined,
    volumes: VolumeBind[],
  ): Promise<void> {
    const cfg = c.rec.Config;
    const files = await this.#writeEtcFiles(c);
    const spec = buildSpec({
      id: c.id,
      // Never empty: create refused a config without a command.
      args: [...(cfg.Entrypoint ?? []), ...(cfg.Cmd ?? [])],
      env: [...cfg.Env],
      cwd: cfg.WorkingDir || "/",
      user: cfg.User,
      hostname: etcFilesInput(c.rec).hostname,
      rootfs: res.bundle.rootfs,
      cgroupsPath: res.cgroupsPath,
      // The persisted host config: every option holds again at each start.
      host: c.rec.HostConfig,
      tty: cfg.Tty,
      consoleSize: c.rec.HostConfig.ConsoleSize,
      files,
      volumes,
      network,
    });
    await writeFileAtomic(res.bundle.spec, JSON.stringify(spec));
  }

  start(id: string): Promise<void> {
    return this.runc.start(id);
  }

  watchExit(fd: number, id: string, pids: PidInfo): void {
    this.supervisor.addExitMonitor(fd, id, pids);
  }

  openExitFifo(id: string): number | null {
    const fifo = this.bundle(id).exitFifo;
    return existsSync(fifo) ? this.supervisor.openExitFifo(fifo) : null;
  }

  closeExitFifo(fd: number): void {
    this.supervisor.removeExitMonitor(fd);
  }

  async runcStatus(id: string): Promise<string | null> {
    return (await this.runc.state(id))?.status ?? null;
  }

  readExitFile(id: string): Promise<{ exitCode: number; finishedAt: string } | null> {
    return readExitFile(this.bundle(id).dir);
  }

  isAlive(p: { pid: number; startTime: number }): boolean {
    return isAlive(p);
  }

  killAndWait(p: { pid: number; startTime: number }): Promise<boolean> {
    return killAndWait(p);
  }

  signal(p: { pid: number; startTime: number }, sig: number): void {
    signalProcess(p, sig);
  }

  oomKilled(id: string): boolean {
    return oomKillCount(this.resources(id).cgroupsPath) > 0;
  }

  /**
   * The exit cleanup: the network torn down (CNI DEL, namespace, ports),
   * then the run's own resources; both are tried, the first failure thrown.
   */
  async cleanup(id: string): Promise<void> {
    const network = await this.networking.tearDown(id).then(() => null, (err) => err);
    await cleanupContainer(this.runc, this.resources(id));
    if (network) throw network;
  }

  async reclaim(id: string): Promise<void> {
    const { cgroupsPath } = this.resources(id);
    thawCgroup(cgroupsPath);
    const left = cgroupPids(cgroupsPath);
    for (const pid of left) signalProcess({ pid, startTime: 0 }, signals.KILL);
    // A killed task leaves its cgroup only once it is reaped: wait a little
    // so the rmdir below does not fail on a task that is already dying.
    for (let i = 0; i < 50 && left.length > 0 && cgroupPids(cgroupsPath).length > 0; i++) {
      await sleep(10);
    }
    await this.cleanup(id);
  }

  update(id: string, limits: LiveLimits): Promise<void> {
    return this.runc.update(id, limits);
  }

  hasStateDir(id: string): boolean {
    return existsSync(this.bundle(id).dir);
  }

  adopt(c: Container): void {
    this.networking.adopt(c.rec);
  }
}

async function mkdirp(path: string): Promise<string> {
  await Deno.mkdir(path, { recursive: true, mode: 0o700 });
  return path;
}
