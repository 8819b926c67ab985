/**
 * `corral daemon`: wires the modules in the order of seed 000/002 (gc list
 * loaded, supervisor started, containers restored, gc loop started) and then
 * serves the API on the unix socket.
 * @module
 */
import { join } from "node:path";
import { existsSync } from "node:fs";
import { getLogger } from "@logtape/logtape";
import { type ApiContext, createHandler, serveUnix } from "../api/server/mod.ts";
import { ContainerService, ExecManager } from "../container/mod.ts";
import { conflict, errorMessage, invalid } from "../errdefs/mod.ts";
import { EventLog } from "../events/mod.ts";
import { GcHandler } from "../gc/mod.ts";
import { DEFAULT_MAX_IMAGE_SIZE, ImageStore } from "../image/mod.ts";
import { RegistryService } from "../registry/mod.ts";
import { gcEntriesFromStates, restoreContainers } from "../restore/mod.ts";
import { type Backoff, DEFAULT_BACKOFF } from "../restart/mod.ts";
import { DEFAULT_SHIM_GROUP_SIZE, DEFAULT_SHIM_IDLE_MS } from "../runtime/mod.ts";
import {
  childrenSpawned,
  closeFd,
  releaseMemory,
  removeStaleTemps,
  tryLockFile,
} from "../sys/mod.ts";
import { DEFAULT_HOST, socketPath } from "../api/mod.ts";
import { DEFAULT_ROTATION, runcVersionArgs } from "../shim/mod.ts";
import { HealthMonitor } from "../health/mod.ts";
import { VolumeStore } from "../volume/mod.ts";
import { type AddressPool, NetworkManager, parseBip } from "../network/mod.ts";

/** Daemon flags. */
export interface DaemonOptions {
  root: string;
  state: string;
  host: string;
  runtime: string;
  cgroupParent: string;
  backoff: Backoff;
  /** Create the embedded busybox image if missing. */
  defaultImage: boolean;
  logMaxSize: number;
  logMaxFiles: number;
  createTimeoutMs: number;
  /** Bytes one image import or load may decompress to. */
  maxImageSize: number;
  /** Containers per shim (`--shim-group-size`; 1: a shim per container). */
  shimGroupSize: number;
  /** How long a group shim with no container left stays (ms). */
  shimIdleMs: number;
  /** Registries reached over plain HTTP besides loopback. */
  insecureRegistries: string[];
  /** The default network's Linux bridge; `none`: no default network (Docker's `--bridge`). */
  bridge: string;
  /** The default network's gateway address and prefix, e.g. `172.17.0.1/16` (Docker's `--bip`). */
  bip?: string;
  /** Where networks without a subnet of their own get one (Docker's `--default-address-pool`). */
  addressPools?: AddressPool[];
  /** Where the CNI plugins are. */
  cniPath: string;
}

/** Defaults of the daemon flags. */
export const DEFAULT_DAEMON_OPTIONS: DaemonOptions = {
  root: "/var/lib/corral",
  state: "/run/corral",
  host: DEFAULT_HOST,
  runtime: "runc",
  cgroupParent: "corral",
  backoff: DEFAULT_BACKOFF,
  defaultImage: true,
  logMaxSize: DEFAULT_ROTATION.maxSize,
  logMaxFiles: DEFAULT_ROTATION.maxFiles,
  createTimeoutMs: 120_000,
  maxImageSize: DEFAULT_MAX_IMAGE_SIZE,
  shimGroupSize: DEFAULT_SHIM_GROUP_SIZE,
  shimIdleMs: DEFAULT_SHIM_IDLE_MS,
  insecureRegistries: [],
  bridge: "corral0",
  cniPath: "/usr/lib/cni",
};

/** A running daemon. */
export interface Daemon {
  /** Stop serving; containers keep running under their shims. */
  shutdown(): Promise<void>;
  /** Resolves when the daemon has shut down. */
  finished: Promise<void>;
}

const log = getLogger(["corral", "daemon"]);

/** How often the daemon gives freed native memory back to the system. */
const MEMORY_RELEASE_INTERVAL_MS = 30_000;

/**
 * Start the daemon and serve until SIGTERM/SIGINT.
 *
 * @example
 * ```ts
 * const d = await startDaemon({ ...DEFAULT_DAEMON_OPTIONS, root: "/tmp/r", state: "/tmp/s", host: "unix:///tmp/c.sock" });
 * await d.finished;
 * ```
 */
export async function startDaemon(o: DaemonOptions): Promise<Daemon> {
  const sock = socketPath(o.host);
  const lockFd = await claimDirs(o);
  // A promise rejected with nobody awaiting it is one failed operation, not a reason to stop.
  globalThis.addEventListener("unhandledrejection", (e) => {
    e.preventDefault();
    log.error("unhandled rejection: {error}", { error: errorMessage(e.reason) });
  });
  const images = await openImages(o);
  const volumes = await openVolumes(o.root);
  const events = await EventLog.open(o.root);
  const networks = await openNetworks(o);
  const { service, execs, health, gc } = await wireServices(o, images, volumes, events, networks);
  await restore(service, o.state);
  // Restore found the runs holding volumes: a mount no run holds is a crash's leftover.
  for (const problem of volumes.sweep()) log.error("after restore: {problem}", { problem });
  gc.start();
  const memoryRelease = releaseMemoryPeriodically();
  const registry = new RegistryService(images, { insecureRegistries: o.insecureRegistries });
  const ctx: ApiContext = {
    service,
    images,
    registry,
    volumes,
    events,
    gc,
    execs,
    networks,
    root: o.root,
  };
  const server = await listen(sock, ctx);
  log.info("corral daemon listening on unix://{sock} (root {root}, state {state})", {
    sock,
    root: o.root,
    state: o.state,
  });

  let resolveFinished!: () => void;
  const finished = new Promise<void>((r) => resolveFinished = r);
  let stopping = false;
  const shutdown = async () => {
    if (stopping) return finished;
    stopping = true;
    log.info("shutting down; containers keep running");
    clearInterval(memoryRelease);
    await server.close();
    health.close();
    await gc.stop();
    await service.close();
    await events.close();
    await Deno.remove(sock).catch(() => {});
    closeFd(lockFd);
    resolveFinished();
  };
  for (const sig of ["SIGTERM", "SIGINT"] as const) {
    Deno.addSignalListener(sig, () => void shutdown());
  }
  return { shutdown, finished };
}

/**
 * Check the runtime, make the root and state dirs, take the root's lock
 * (one daemon per root) and sweep what failed atomic writes left.
 */
async function claimDirs(o: DaemonOptions): Promise<number> {
  await checkRuntime(o.runtime);
  await Deno.mkdir(o.root, { recursive: true, mode: 0o700 });
  await Deno.mkdir(o.state, { recursive: true, mode: 0o700 });
  const lockFd = tryLockFile(join(o.root, "corral.lock"));
  if (lockFd === null) throw conflict(`another corral daemon is already using root ${o.root}`);
  // Each container dir is swept when it is loaded.
  for (const dir of [o.root, join(o.root, "images"), join(o.root, "images", "meta")]) {
    await removeStaleTemps(dir);
  }
  return lockFd;
}

/** The image store, with the embedded busybox image unless told not to. */
async function openImages(o: DaemonOptions): Promise<ImageStore> {
  const images = new ImageStore(o.root, { maxImageSize: o.maxImageSize });
  await images.load();
  if (o.defaultImage && existsSync("/bin/busybox") && !images.find("busybox")) {
    try {
      await images.ensureBusybox();
    } catch (err) {
      log.warn("could not build the embedded busybox image: {error}", { error: errorMessage(err) });
    }
  }
  return images;
}

/** The volume store, loaded; a volume that cannot be loaded is logged and left on disk. */
async function openVolumes(root: string): Promise<VolumeStore> {
  const volumes = new VolumeStore(root);
  for (const problem of await volumes.load()) log.error(problem);
  return volumes;
}

/**
 * The networks, loaded before restore: a default subnet that collides with
 * the host's routes, or CNI plugins missing, stop the daemon here.
 */
async function openNetworks(o: DaemonOptions): Promise<NetworkManager> {
  const bip = o.bip === undefined ? undefined : parseBip(o.bip);
  const networks = new NetworkManager(o.root, o.state, {
    cniPath: o.cniPath,
    defaultNetwork: o.bridge !== "none",
    bridgeName: o.bridge,
    ...(bip ? { defaultSubnet: bip.subnet, defaultGateway: bip.gateway } : {}),
    ...(o.addressPools ? { addressPools: o.addressPools } : {}),
  });
  await networks.load();
  return networks;
}

/** The container service with its health checks, exec manager and gc (list loaded). */
async function wireServices(
  o: DaemonOptions,
  images: ImageStore,
  volumes: VolumeStore,
  events: EventLog,
  networks: NetworkManager,
) {
  const service = new ContainerService({
    root: o.root,
    stateRoot: o.state,
    runtime: o.runtime,
    cgroupParent: o.cgroupParent,
    backoff: o.backoff,
    images,
    volumes,
    events,
    logMaxSize: o.logMaxSize,
    logMaxFiles: o.logMaxFiles,
    createTimeoutMs: o.createTimeoutMs,
    shimGroupSize: o.shimGroupSize,
    shimIdleMs: o.shimIdleMs,
    networks,
  });
  const execs = new ExecManager(service);
  const health = new HealthMonitor(service, execs);
  service.setHooks({ started: (c) => health.watch(c), stopped: (c) => health.unwatch(c.id) });
  const gc = new GcHandler(o.root, {
    // Thaw, kill what is left in the cgroups, clean up.
    reclaim: (e) => service.reclaimResources(e.id),
    finished: (e) => service.gcFinished(e),
    failed: (e, distinct) => service.gcFailed(e, distinct),
  });
  service.setGc(gc);
  // Loaded before restore (seed 000/001): restore leaves containers in gc to the gc.
  const gcLoad = await gc.load(() => gcEntriesFromStates(service.disk));
  if (gcLoad.error) log.error(gcLoad.error);
  return { service, execs, health, gc };
}

async function restore(service: ContainerService, state: string): Promise<void> {
  const t0 = performance.now();
  const report = await restoreContainers(service.restorePort(), state);
  log.info(
    "restored {restored} containers ({running} running, {exited} exited while down, {failed} failed) in {ms} ms",
    {
      restored: report.restored,
      running: report.running,
      exited: report.exitedWhileDown,
      failed: report.failed.length,
      ms: Math.round(performance.now() - t0),
    },
  );
}

/**
 * Garbage holding native memory and malloc's free pages stay resident
 * otherwise (lib/sys/heap.ts). Children are what leave that garbage: a daemon
 * that started none since the last time skips the full collection's pause.
 */
function releaseMemoryPeriodically(): ReturnType<typeof setInterval> {
  let spawnedBefore = -1;
  const timer = setInterval(() => {
    if (childrenSpawned() === spawnedBefore) return;
    spawnedBefore = childrenSpawned();
    releaseMemory();
  }, MEMORY_RELEASE_INTERVAL_MS);
  Deno.unrefTimer(timer);
  return timer;
}

/** Serve the API; the socket appears only once restore is done, so no request sees a half-restored daemon. */
async function listen(sock: string, ctx: ApiContext): Promise<{ close(): Promise<void> }> {
  await Deno.mkdir(join(sock, ".."), { recursive: true });
  try {
    await Deno.remove(sock);
  } catch {
    // No stale socket.
  }
  const server = await serveUnix(sock, createHandler(ctx));
  await Deno.chmod(sock, 0o660);
  return server;
}

/**
 * Refuse to start with a runtime that cannot run: every start would fail
 * later with a shim error and nothing to say why.
 */
async function checkRuntime(runtime: string): Promise<void> {
  let out: Deno.CommandOutput;
  try {
    out = await new Deno.Command(runtime, { args: runcVersionArgs(), stdin: "null" }).output();
  } catch (err) {
    throw invalid(`OCI runtime "${runtime}" cannot be run: ${errorMessage(err)}`);
  }
  if (!out.success) {
    const said = new TextDecoder().decode(out.stderr).trim().split("\n").at(-1) ?? "";
    throw invalid(
      `OCI runtime "${runtime}" failed "--version" (exit ${out.code})${said ? `: ${said}` : ""}`,
    );
  }
}
