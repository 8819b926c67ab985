/**
 * What the daemon says about itself: `GET /version` and `GET /info`, with the
 * fields `docker version` and `docker info` print.
 * @module
 */
import { existsSync } from "node:fs";
import type { ContainerService } from "../../container/mod.ts";
import type { GcHandler } from "../../gc/mod.ts";
import { hostArchitecture, type ImageStore } from "../../image/mod.ts";
import { API_VERSION, CORRAL_VERSION, MIN_API_VERSION } from "../version.ts";

/** What the system endpoints read. */
export interface SystemSources {
  service: ContainerService;
  images: ImageStore;
  gc: GcHandler;
  root: string;
}

/**
 * The answers of `/version` and `/info`. The runtime's version is asked once
 * per daemon.
 *
 * @example
 * ```ts
 * declare const sources: SystemSources;
 * const system = new SystemInfo(sources);
 * const { Components } = await system.version();
 * ```
 */
export class SystemInfo {
  #runc: Promise<{ version: string; commit: string } | null> | null = null;

  constructor(readonly src: SystemSources) {}

  #host?: { os: Record<string, string>; memTotal: number; cgroupVersion: string };

  #runcVersion() {
    return this.#runc ??= this.src.service.runtime.runc.version();
  }

  /** `GET /version`. */
  async version(): Promise<Record<string, unknown>> {
    const engine = {
      ApiVersion: API_VERSION,
      MinAPIVersion: MIN_API_VERSION,
      GitCommit: "",
      GoVersion: `deno ${Deno.version.deno}`,
      Os: "linux",
      Arch: hostArchitecture(),
      KernelVersion: Deno.osRelease(),
      BuildTime: "",
      Experimental: "false",
    };
    const runc = await this.#runcVersion();
    return {
      Platform: { Name: "corral" },
      Version: CORRAL_VERSION,
      ...engine,
      // Top-level Experimental is a boolean, the component's detail a string.
      Experimental: false,
      Components: [
        { Name: "Engine", Version: CORRAL_VERSION, Details: engine },
        ...(runc
          ? [{ Name: "runc", Version: runc.version, Details: { GitCommit: runc.commit } }]
          : []),
      ],
    };
  }

  /** `GET /info`. */
  async info(): Promise<Record<string, unknown>> {
    const { service: svc, images, gc, root } = this.src;
    const list = svc.store.list();
    const count = (s: string) => list.filter((c) => c.rec.State.Status === s).length;
    // Host facts do not change while the daemon runs: read once.
    const host = this.#host ??= {
      os: osRelease(),
      memTotal: memTotal(),
      cgroupVersion: existsSync("/sys/fs/cgroup/cgroup.controllers") ? "2" : "1",
    };
    const os = host.os;
    const runc = await this.#runcVersion();
    return {
      ID: "corral",
      Containers: list.length,
      ContainersRunning: count("running"),
      ContainersPaused: count("paused"),
      ContainersStopped: list.length - count("running") - count("paused"),
      Images: images.list().length,
      Driver: "overlay",
      DriverStatus: [],
      Plugins: { Volume: ["local"], Network: ["none"], Authorization: null, Log: ["json-file"] },
      // What a container's HostConfig may set (Memory, MemorySwap, NanoCpus, PidsLimit,
      // CpuShares, CpusetCpus).
      MemoryLimit: true,
      SwapLimit: true,
      CpuCfsPeriod: true,
      CpuCfsQuota: true,
      PidsLimit: true,
      CPUShares: true,
      CPUSet: true,
      OomKillDisable: false,
      IPv4Forwarding: false,
      Debug: false,
      NFd: 0,
      NGoroutines: 0,
      SystemTime: new Date().toISOString(),
      LoggingDriver: "json-file",
      CgroupDriver: "cgroupfs",
      CgroupVersion: host.cgroupVersion,
      KernelVersion: Deno.osRelease(),
      OperatingSystem: os.PRETTY_NAME ?? "Linux",
      OSVersion: os.VERSION_ID ?? "",
      OSType: "linux",
      Architecture: Deno.build.arch,
      NCPU: navigator.hardwareConcurrency,
      MemTotal: host.memTotal,
      DockerRootDir: root,
      Name: Deno.hostname(),
      Labels: [],
      ExperimentalBuild: false,
      ServerVersion: CORRAL_VERSION,
      Runtimes: { runc: { path: svc.opts.runtime } },
      DefaultRuntime: "runc",
      Swarm: { LocalNodeState: "inactive", NodeID: "", NodeAddr: "", ControlAvailable: false },
      // Containers run under their own shims and survive daemon restarts.
      LiveRestoreEnabled: true,
      Isolation: "",
      InitBinary: "",
      ContainerdCommit: { ID: "", Expected: "" },
      RuncCommit: { ID: runc?.commit ?? "", Expected: runc?.commit ?? "" },
      InitCommit: { ID: "", Expected: "" },
      SecurityOptions: [],
      Warnings: [],
      GC: { Entries: gc.list().length },
    };
  }
}

function memTotal(): number {
  try {
    const kb = Deno.readTextFileSync("/proc/meminfo").match(/^MemTotal:\s+(\d+) kB/m)?.[1];
    return Number(kb ?? 0) * 1024;
  } catch {
    return 0;
  }
}

/** /etc/os-release as key → value (quotes removed). */
function osRelease(): Record<string, string> {
  const out: Record<string, string> = {};
  try {
    for (const line of Deno.readTextFileSync("/etc/os-release").split("\n")) {
      const m = line.match(/^(\w+)=("?)(.*)\2$/);
      if (m) out[m[1]] = m[3];
    }
  } catch {
    // Not there: the caller's defaults.
  }
  return out;
}
