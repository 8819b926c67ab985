/**
 * The OCI runtime spec (`config.json`) of a container, built at each start
 * from its Docker host options; its concerns are spec_security.ts
 * (capabilities, no-new-privileges, sysctls, masked paths), spec_mounts.ts,
 * spec_resources.ts (cgroup limits, rlimits) and spec_devices.ts.
 * @module
 */
import { invalid } from "../errdefs/mod.ts";
import { devicesOf } from "./spec_devices.ts";
import { INIT_IN_CONTAINER, mountsOf, type VolumeBind } from "./spec_mounts.ts";
import { oomScoreAdjOf, resourcesOf, rlimitsOf } from "./spec_resources.ts";
import {
  capabilitiesOf,
  MASKED_PATHS,
  noNewPrivileges,
  READONLY_PATHS,
  sysctlsOf,
} from "./spec_security.ts";

export { INIT_BINARY, INIT_IN_CONTAINER, parseBind } from "./spec_mounts.ts";
export type { BindSpec, VolumeBind, VolumeBindSpec } from "./spec_mounts.ts";
export { cpuQuota, memorySwapOf } from "./spec_resources.ts";

/** One `--ulimit` (Docker's `HostConfig.Ulimits` entry; -1 is unlimited). */
export interface Ulimit {
  Name: string;
  Soft: number;
  Hard: number;
}

/** One `--device` (Docker's `HostConfig.Devices` entry). */
export interface DeviceMapping {
  PathOnHost: string;
  /** Defaults to `PathOnHost`. */
  PathInContainer?: string;
  /** Some of "rwm" (the default). */
  CgroupPermissions?: string;
}

/** One `--mount` (Docker's `HostConfig.Mounts` entry): a bind or a tmpfs. */
export interface MountSpec {
  Type: string;
  Source?: string;
  Target: string;
  ReadOnly?: boolean;
  /** Meaningless on Linux, as in Docker. */
  Consistency?: string;
  BindOptions?: { Propagation?: string; NonRecursive?: boolean; [other: string]: unknown } | null;
  TmpfsOptions?: { SizeBytes?: number; Mode?: number; [other: string]: unknown } | null;
  /** A volume's options (`type=volume`): `volume-nocopy`, labels and driver options of a new volume. */
  VolumeOptions?: {
    NoCopy?: boolean;
    Labels?: Record<string, string> | null;
    DriverConfig?: { Name?: string; Options?: Record<string, string> | null } | null;
  } | null;
}

/**
 * The Docker host options the spec is built from, in Docker's names, shapes
 * and units (the container's `HostConfig` has them all).
 */
export interface HostOptions {
  /** `-v /host:/ctr[:ro]`. */
  Binds?: string[] | null;
  /** Bytes; 0 = unlimited. */
  Memory?: number;
  /** Memory plus swap, bytes; -1 = unlimited swap, 0 = no swap beyond Memory. */
  MemorySwap?: number;
  /** Soft limit, bytes. */
  MemoryReservation?: number;
  /** CPUs × 1e9; 0 = unlimited. */
  NanoCpus?: number;
  /** Relative CPU weight (2 to 262144; 1024 is a container's default). */
  CpuShares?: number;
  /** CPUs the container may run on ("0-2,5"). */
  CpusetCpus?: string;
  /** Max pids; 0 or less = unlimited. */
  PidsLimit?: number;
  /** Run an init (tini) as pid 1. */
  Init?: boolean | null;
  ReadonlyRootfs?: boolean;
  /** Destination → tmpfs mount options. */
  Tmpfs?: Record<string, string> | null;
  /** /dev/shm's size in bytes (0: 64 MiB). */
  ShmSize?: number;
  Mounts?: MountSpec[] | null;
  Privileged?: boolean;
  CapAdd?: string[] | null;
  CapDrop?: string[] | null;
  SecurityOpt?: string[] | null;
  Ulimits?: Ulimit[] | null;
  Devices?: DeviceMapping[] | null;
  Sysctls?: Record<string, string> | null;
  /** -1000 to 1000. */
  OomScoreAdj?: number;
  /** Extra groups of the process: gids, or names of the image's /etc/group. */
  GroupAdd?: string[] | null;
}

/** What the spec is made from. */
export interface SpecInput {
  id: string;
  args: string[];
  env: string[];
  cwd: string;
  /** "uid[:gid]" or a user name from the image's /etc/passwd; "" is root. */
  user: string;
  hostname: string;
  /** Absolute path of the mounted rootfs: the container's root, where user names resolve. */
  rootfs: string;
  cgroupsPath: string;
  /** The container's host options. */
  host: HostOptions;
  /** The init runs on a terminal (runc sends its master to the shim). */
  tty?: boolean;
  /** The terminal's size at start, `[height, width]`; 24×80 when unset or 0. */
  consoleSize?: [number, number] | null;
  /** Files the engine wrote for the container, bound over the image's (/etc/hosts, ...). */
  files: { source: string; destination: string }[];
  /** The container's volumes, mounted on the host (none when absent). */
  volumes?: VolumeBind[];
  /**
   * The network namespace: a new one with only a loopback when absent, one
   * the engine set up or another container's (`path`), or the host's.
   */
  network?: SpecNetwork;
}

/** Where a container's network lives (see `SpecInput.network`). */
export type SpecNetwork = { path: string } | { host: true };

/** The fields of the image's /etc/passwd or /etc/group entry named `name`. */
function etcEntry(rootfs: string, file: "passwd" | "group", name: string): string[] | undefined {
  try {
    return Deno.readTextFileSync(`${rootfs}/etc/${file}`).split("\n").map((l) => l.split(":"))
      .find((f) => f[0] === name);
  } catch {
    return undefined;
  }
}

/** A group's gid: a number, or a name looked up in the image's /etc/group. */
function groupId(group: string, rootfs: string): number {
  if (/^\d+$/.test(group)) return Number(group);
  const entry = etcEntry(rootfs, "group", group);
  if (!entry) throw invalid(`unable to find group ${group}: no matching entries in group file`);
  return Number(entry[2]);
}

/** The process's uid, gid and `--group-add` gids, names resolved in the image. */
function resolveUser(
  user: string,
  groupAdd: string[],
  rootfs: string,
): { uid: number; gid: number; additionalGids?: number[] } {
  const [u, g] = user ? user.split(":") : ["0"];
  let uid: number, gid: number;
  if (/^\d+$/.test(u)) {
    uid = Number(u);
    gid = 0;
  } else {
    const pw = etcEntry(rootfs, "passwd", u);
    if (!pw) throw invalid(`unable to find user ${u}: no matching entries in passwd file`);
    uid = Number(pw[2]);
    gid = Number(pw[3]);
  }
  if (g !== undefined) gid = groupId(g, rootfs);
  if (!groupAdd.length) return { uid, gid };
  return { uid, gid, additionalGids: groupAdd.map((group) => groupId(group, rootfs)) };
}

/** The namespaces of a container: all its own, but the network one as `network` says. */
function namespacesOf(network: SpecNetwork | undefined): { type: string; path?: string }[] {
  const own = ["pid", "ipc", "uts", "mount"].map((type) => ({ type }));
  if (network === undefined) return [...own, { type: "network" }];
  if ("host" in network) return own;
  return [...own, { type: "network", path: network.path }];
}

/**
 * What the host options make of the spec, built at each start and, to check
 * the options, at create: what cannot be honoured throws `invalid` (400).
 */
function hostParts(host: HostOptions, files: SpecInput["files"], volumes: VolumeBind[]) {
  const capabilities = capabilitiesOf(host);
  const { devices, rules } = devicesOf(host);
  return {
    capabilities: { bounding: capabilities, effective: capabilities, permitted: capabilities },
    rlimits: rlimitsOf(host.Ulimits ?? []),
    // Off unless asked for, as in Docker: setuid programs work in the container.
    noNewPrivileges: noNewPrivileges(host.SecurityOpt ?? []),
    oomScoreAdj: oomScoreAdjOf(host.OomScoreAdj),
    mounts: mountsOf(host, files, volumes),
    devices,
    resources: resourcesOf(host, rules),
    sysctl: sysctlsOf(host.Sysctls ?? {}),
  };
}

/**
 * Check host options as the spec will use them at start: unknown
 * capabilities, missing devices, bad mounts, ulimits, sysctls and cpusets
 * are refused (`invalid`) at create rather than failing runc later.
 *
 * @example
 * ```ts
 * checkHostOptions({ CapAdd: ["NET_ADMIN"], Tmpfs: { "/run": "size=1m" } });
 * checkHostOptions({ Ulimits: [{ Name: "nofiles", Soft: 1, Hard: 1 }] }); // throws invalid
 * ```
 *
 * `volumes` are the container's volume destinations (a volume and a bind
 * mount on one path are refused).
 */
export function checkHostOptions(host: HostOptions, volumes: string[] = []): void {
  hostParts(host, [], volumes.map((destination) => ({ source: "", destination, readonly: false })));
}

/** A terminal's first size: the client's, else what a terminal has by default. */
function consoleSizeOf(
  size: [number, number] | null | undefined,
): { height: number; width: number } {
  const [height, width] = size ?? [0, 0];
  return height > 0 && width > 0 ? { height, width } : { height: 24, width: 80 };
}

/** Build the OCI spec. */
export function buildSpec(input: SpecInput): Record<string, unknown> {
  const { host } = input;
  const parts = hostParts(host, input.files, input.volumes ?? []);
  return {
    ociVersion: "1.0.2",
    process: {
      terminal: Boolean(input.tty),
      ...(input.tty ? { consoleSize: consoleSizeOf(input.consoleSize) } : {}),
      user: resolveUser(input.user, host.GroupAdd ?? [], input.rootfs),
      args: host.Init ? [INIT_IN_CONTAINER, "--", ...input.args] : input.args,
      env: input.env,
      cwd: input.cwd || "/",
      capabilities: parts.capabilities,
      rlimits: parts.rlimits,
      noNewPrivileges: parts.noNewPrivileges,
      oomScoreAdj: parts.oomScoreAdj,
    },
    // Absolute, so that only the bundle (bundle.ts) spells where its rootfs is.
    root: { path: input.rootfs, readonly: Boolean(host.ReadonlyRootfs) },
    hostname: input.hostname,
    mounts: parts.mounts,
    linux: {
      cgroupsPath: input.cgroupsPath,
      resources: parts.resources,
      namespaces: namespacesOf(input.network),
      devices: parts.devices,
      sysctl: parts.sysctl,
      // A privileged container sees and writes all of /proc, as in Docker.
      maskedPaths: host.Privileged ? [] : MASKED_PATHS,
      readonlyPaths: host.Privileged ? [] : READONLY_PATHS,
    },
  };
}
