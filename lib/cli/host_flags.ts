/**
 * The `run`/`create` flags that become the OCI spec's host options, with the
 * docker CLI's names and value syntax (`--ulimit nofile=1024:2048`,
 * `--device /dev/fuse:/dev/fuse:rwm`, `--mount type=tmpfs,target=/run`),
 * and the `/etc` flags (`--add-host`, `--dns*`). The daemon checks the
 * values; these parsers only give them Docker's API shapes.
 * @module
 */
import type { Command } from "commander";
import type { DeviceMapping, HostConfig, MountSpec, Ulimit } from "../container/mod.ts";
import { invalid } from "../errdefs/mod.ts";
import type { Opts } from "./command.ts";
import { collect, parseBytes, parseCount } from "./parse.ts";

/** Add the host option flags to `run` or `create`. */
export function addHostFlags(cmd: Command): Command {
  return cmd
    .option("--init", "run an init (tini) as pid 1 that forwards signals and reaps zombies")
    .option("--read-only", "mount the container's root filesystem read-only")
    .option("--tmpfs <PATH[:OPTIONS]>", "mount a tmpfs (repeatable)", collect)
    .option(
      "--mount <type=bind|tmpfs,...>",
      "bind or tmpfs mount, docker's syntax (repeatable)",
      collect,
    )
    .option("--shm-size <bytes>", "size of /dev/shm (default 64m)")
    .option("--cap-add <cap>", "add a capability, or ALL (repeatable)", collect)
    .option("--cap-drop <cap>", "drop a capability, or ALL (repeatable)", collect)
    .option("--privileged", "all capabilities and host devices, no masked paths")
    .option("--security-opt <opt>", "no-new-privileges[=true|false] (repeatable)", collect)
    .option(
      "--ulimit <NAME=SOFT[:HARD]>",
      "resource limit, e.g. nofile=1024:2048 (repeatable)",
      collect,
    )
    .option("--device <HOST[:CTR][:rwm]>", "add a host device (repeatable)", collect)
    .option("--sysctl <KEY=VALUE>", "namespaced kernel parameter (repeatable)", collect)
    .option("--oom-score-adj <n>", "OOM score adjustment, -1000 to 1000")
    .option("--group-add <group>", "additional group, gid or name (repeatable)", collect)
    .option("-c, --cpu-shares <n>", "relative CPU weight (default 1024)", parseCount("cpu shares"))
    .option("--cpuset-cpus <list>", "CPUs the container may use, e.g. 0-2,5")
    .option("--memory-reservation <bytes>", "memory soft limit")
    .option("--memory-swap <bytes>", "memory plus swap limit, -1 for unlimited swap")
    .option("--add-host <NAME:IP>", "add an /etc/hosts entry (repeatable)", collect)
    .option("--dns <ip>", "DNS server (repeatable)", collect)
    .option("--dns-search <domain>", "DNS search domain (repeatable)", collect)
    .option("--dns-option <option>", "DNS option (repeatable)", collect);
}

/**
 * The host config fields the flags give (those not given are left out).
 *
 * @example
 * ```ts
 * hostFlagsBody({ readOnly: true, ulimit: ["nofile=512"], memorySwap: "-1" });
 * // { ReadonlyRootfs: true, Ulimits: [{ Name: "nofile", Soft: 512, Hard: 512 }], MemorySwap: -1 }
 * ```
 */
export function hostFlagsBody(o: Opts): Partial<HostConfig> {
  const list = (v: unknown) => v as string[] | undefined;
  const hc: Partial<HostConfig> = {
    Init: o.init ? true : undefined,
    ReadonlyRootfs: o.readOnly ? true : undefined,
    Privileged: o.privileged ? true : undefined,
    Tmpfs: list(o.tmpfs) && Object.fromEntries(list(o.tmpfs)!.map(parseTmpfs)),
    Mounts: list(o.mount)?.map(parseMount),
    ShmSize: o.shmSize === undefined ? undefined : parseBytes(String(o.shmSize)),
    CapAdd: list(o.capAdd),
    CapDrop: list(o.capDrop),
    SecurityOpt: list(o.securityOpt),
    Ulimits: list(o.ulimit)?.map(parseUlimit),
    Devices: list(o.device)?.map(parseDevice),
    Sysctls: list(o.sysctl) && Object.fromEntries(list(o.sysctl)!.map(parseSysctl)),
    OomScoreAdj: o.oomScoreAdj === undefined
      ? undefined
      : parseInteger("--oom-score-adj", o.oomScoreAdj),
    GroupAdd: list(o.groupAdd),
    CpuShares: o.cpuShares as number | undefined,
    CpusetCpus: o.cpusetCpus as string | undefined,
    MemoryReservation: o.memoryReservation === undefined
      ? undefined
      : parseBytes(String(o.memoryReservation)),
    MemorySwap: o.memorySwap === undefined ? undefined : parseMemorySwap(String(o.memorySwap)),
    ExtraHosts: list(o.addHost),
    Dns: list(o.dns),
    DnsSearch: list(o.dnsSearch),
    DnsOptions: list(o.dnsOption),
  };
  return Object.fromEntries(Object.entries(hc).filter(([, v]) => v !== undefined));
}

/** A whole number flag, negative ones included. */
function parseInteger(flag: string, value: unknown): number {
  if (!/^-?\d+$/.test(String(value))) {
    throw invalid(`invalid ${flag} "${value}": expected an integer`);
  }
  return Number(value);
}

/**
 * `--memory-swap`: a size, or -1 for unlimited swap.
 *
 * @example
 * ```ts
 * parseMemorySwap("1g"); // 1073741824
 * ```
 */
export function parseMemorySwap(value: string): number {
  return value === "-1" ? -1 : parseBytes(value);
}

/** `--tmpfs /run[:size=64m,...]`. */
function parseTmpfs(value: string): [string, string] {
  const i = value.indexOf(":");
  return i < 0 ? [value, ""] : [value.slice(0, i), value.slice(i + 1)];
}

/** `--sysctl key=value`. */
function parseSysctl(value: string): [string, string] {
  const i = value.indexOf("=");
  if (i <= 0) throw invalid(`sysctl '${value}' is not allowed`);
  return [value.slice(0, i), value.slice(i + 1)];
}

/** `--ulimit name=soft[:hard]` (hard defaults to soft; -1 is unlimited). */
function parseUlimit(value: string): Ulimit {
  const m = value.match(/^([a-z]+)=(-?\d+)(?::(-?\d+))?$/);
  if (!m) throw invalid(`invalid ulimit argument: ${value} (expected NAME=SOFT[:HARD])`);
  return { Name: m[1], Soft: Number(m[2]), Hard: Number(m[3] ?? m[2]) };
}

/** `--device /dev/host[:/dev/ctr][:rwm]`, the docker CLI's way. */
function parseDevice(value: string): DeviceMapping {
  const parts = value.split(":");
  if (parts.length > 3) throw invalid(`invalid device specification: ${value}`);
  const [host, second, third] = parts;
  const isMode = (s: string | undefined) => s !== undefined && /^[rwm]{1,3}$/.test(s);
  const inContainer = second !== undefined && !isMode(second) ? second : host;
  const perms = third ?? (isMode(second) ? second : "rwm");
  return { PathOnHost: host, PathInContainer: inContainer, CgroupPermissions: perms };
}

/** Go's strconv.ParseBool, as the docker CLI reads `readonly=...`. */
function parseFlagBool(key: string, value: string | undefined): boolean {
  if (value === undefined || ["1", "t", "T", "true", "TRUE", "True"].includes(value)) return true;
  if (["0", "f", "F", "false", "FALSE", "False"].includes(value)) return false;
  throw invalid(`invalid value for ${key}: ${value}`);
}

/** `k=v` of a `volume-opt` or `volume-label` (a value may hold `=`: `o=size=64m`). */
function splitKeyValue(kv: string, what: string): [string, string] {
  const i = kv.indexOf("=");
  if (i <= 0) throw invalid(`invalid ${what}: expected key=value`);
  return [kv.slice(0, i), kv.slice(i + 1)];
}

/**
 * `--mount type=bind,source=/a,target=/b[,readonly][,bind-propagation=...]`
 * or `type=tmpfs,target=/t[,tmpfs-size=64m][,tmpfs-mode=1777]` or
 * `type=volume,src=NAME,dst=/d[,volume-nocopy][,volume-opt=k=v][,volume-label=k=v]`;
 * the type defaults to volume, as with docker.
 */
function parseMount(value: string): MountSpec {
  const m: MountSpec = { Type: "volume", Target: "" };
  for (const field of value.split(",")) {
    const [key, val] = field.includes("=")
      ? [field.slice(0, field.indexOf("=")), field.slice(field.indexOf("=") + 1)]
      : [field, undefined];
    switch (key) {
      case "type":
        m.Type = val ?? "";
        break;
      case "source":
      case "src":
        m.Source = val;
        break;
      case "target":
      case "destination":
      case "dst":
        m.Target = val ?? "";
        break;
      case "readonly":
      case "ro":
        m.ReadOnly = parseFlagBool(key, val);
        break;
      case "bind-propagation":
        m.BindOptions = { ...m.BindOptions, Propagation: val };
        break;
      case "bind-nonrecursive":
        m.BindOptions = { ...m.BindOptions, NonRecursive: parseFlagBool(key, val) };
        break;
      case "volume-nocopy":
        m.VolumeOptions = { ...m.VolumeOptions, NoCopy: parseFlagBool(key, val) };
        break;
      case "volume-driver":
        m.VolumeOptions = {
          ...m.VolumeOptions,
          DriverConfig: { ...m.VolumeOptions?.DriverConfig, Name: val ?? "" },
        };
        break;
      case "volume-opt":
      case "volume-label": {
        const [k, v] = splitKeyValue(val ?? "", `${key}=${val ?? ""}`);
        const vo = m.VolumeOptions ?? {};
        m.VolumeOptions = key === "volume-label" ? { ...vo, Labels: { ...vo.Labels, [k]: v } } : {
          ...vo,
          DriverConfig: {
            ...vo.DriverConfig,
            Options: { ...vo.DriverConfig?.Options, [k]: v },
          },
        };
        break;
      }
      case "tmpfs-size":
        m.TmpfsOptions = { ...m.TmpfsOptions, SizeBytes: parseBytes(val ?? "") };
        break;
      case "tmpfs-mode":
        if (!/^[0-7]+$/.test(val ?? "")) throw invalid(`invalid value for ${key}: ${val}`);
        m.TmpfsOptions = { ...m.TmpfsOptions, Mode: parseInt(val!, 8) };
        break;
      default:
        throw invalid(`unexpected key '${key}' in '${value}'`);
    }
  }
  return m;
}
