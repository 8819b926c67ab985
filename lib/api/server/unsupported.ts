/**
 * Refusing what corral does not do. Docker clients send every field of a
 * create body, mostly zero-valued; a field of Docker's that is set to
 * something corral would not honour is a 400 with a message naming the docker
 * flag, never a silently ignored option. A key Docker does not have (such as
 * the `name` dockerode leaves in the body) is ignored, as Docker ignores it.
 * @module
 */
import { invalid } from "../../errdefs/mod.ts";

/** The keys of Docker's container `Config` (API 1.43): what Docker reads from a create body. */
const DOCKER_CONFIG = new Set([
  "Hostname",
  "Domainname",
  "User",
  "AttachStdin",
  "AttachStdout",
  "AttachStderr",
  "ExposedPorts",
  "Tty",
  "OpenStdin",
  "StdinOnce",
  "Env",
  "Cmd",
  "Healthcheck",
  "ArgsEscaped",
  "Image",
  "Volumes",
  "WorkingDir",
  "Entrypoint",
  "NetworkDisabled",
  "MacAddress",
  "OnBuild",
  "Labels",
  "StopSignal",
  "StopTimeout",
  "Shell",
]);

/** The keys of Docker's `HostConfig`, its `Resources` included (API 1.43). */
const DOCKER_HOST = new Set([
  "Binds",
  "ContainerIDFile",
  "LogConfig",
  "NetworkMode",
  "PortBindings",
  "RestartPolicy",
  "AutoRemove",
  "VolumeDriver",
  "VolumesFrom",
  "ConsoleSize",
  "Annotations",
  "CapAdd",
  "CapDrop",
  "CgroupnsMode",
  "Dns",
  "DnsOptions",
  "DnsSearch",
  "ExtraHosts",
  "GroupAdd",
  "IpcMode",
  "Cgroup",
  "Links",
  "OomScoreAdj",
  "PidMode",
  "Privileged",
  "PublishAllPorts",
  "ReadonlyRootfs",
  "SecurityOpt",
  "StorageOpt",
  "Tmpfs",
  "UTSMode",
  "UsernsMode",
  "ShmSize",
  "Sysctls",
  "Runtime",
  "Isolation",
  "CpuShares",
  "Memory",
  "NanoCpus",
  "CgroupParent",
  "BlkioWeight",
  "BlkioWeightDevice",
  "BlkioDeviceReadBps",
  "BlkioDeviceWriteBps",
  "BlkioDeviceReadIOps",
  "BlkioDeviceWriteIOps",
  "CpuPeriod",
  "CpuQuota",
  "CpuRealtimePeriod",
  "CpuRealtimeRuntime",
  "CpusetCpus",
  "CpusetMems",
  "Devices",
  "DeviceCgroupRules",
  "DeviceRequests",
  "KernelMemory",
  "KernelMemoryTCP",
  "MemoryReservation",
  "MemorySwap",
  "MemorySwappiness",
  "OomKillDisable",
  "PidsLimit",
  "Ulimits",
  "CpuCount",
  "CpuPercent",
  "IOMaximumIOps",
  "IOMaximumBandwidth",
  "Mounts",
  "MaskedPaths",
  "ReadonlyPaths",
  "Init",
]);

/** Container `Config` fields corral honours. */
const SUPPORTED_CONFIG = new Set([
  "Image",
  "Cmd",
  "Entrypoint",
  "Env",
  "WorkingDir",
  "User",
  "Hostname",
  "Labels",
  "StopSignal",
  "StopTimeout",
  "Healthcheck",
  "Tty",
  "OpenStdin",
  "StdinOnce",
  // Anonymous volumes (lib/container/volumes.ts).
  "Volumes",
  "ExposedPorts",
  // What the client attaches to: only meaningful to the client.
  "AttachStdin",
  "AttachStdout",
  "AttachStderr",
  // Read by builds only: Docker stores them and nothing reads them at run.
  "ArgsEscaped",
  "OnBuild",
  "Shell",
  // Routed by the API, not part of the container's config.
  "NetworkingConfig",
]);

/** `HostConfig` fields corral honours. */
const SUPPORTED_HOST = new Set([
  "RestartPolicy",
  "AutoRemove",
  "Binds",
  "Memory",
  "NanoCpus",
  "PidsLimit",
  "RestartDelay",
  "RestartMaxDelay",
  "HealthOnFailure",
  "ExtraHosts",
  "Dns",
  "DnsSearch",
  "DnsOptions",
  "NetworkMode",
  "PortBindings",
  "PublishAllPorts",
  // What the OCI spec is built from (lib/runtime/spec.ts).
  "Init",
  "ReadonlyRootfs",
  "Tmpfs",
  "ShmSize",
  "CapAdd",
  "CapDrop",
  "Privileged",
  "SecurityOpt",
  "Ulimits",
  "Devices",
  "Sysctls",
  "OomScoreAdj",
  "GroupAdd",
  "Mounts",
  "CpuShares",
  "CpusetCpus",
  "MemoryReservation",
  "MemorySwap",
  "VolumesFrom",
  // The terminal's first size (-t).
  "ConsoleSize",
]);

/**
 * Refuse a create body that sets anything corral would ignore; keys Docker
 * does not have are ignored.
 *
 * @example
 * ```ts
 * checkCreateBody({ Image: "busybox", Cmd: ["true"], Tty: true }, { NetworkMode: "default" });
 * checkCreateBody({ Image: "busybox", name: "web" }, {}); // dockerode's name: ignored
 * checkCreateBody({ Image: "busybox", Volumes: { "/x": {} } }, { Binds: ["/srv:/x:ro"] });
 * checkCreateBody({ Image: "busybox", ExposedPorts: { "80/tcp": {} } }, {}); // throws invalid
 * ```
 */
export function checkCreateBody(
  config: Record<string, unknown>,
  hostConfig: Record<string, unknown>,
): void {
  checkHostConfig(hostConfig);
  for (const [k, v] of Object.entries(config)) {
    if (DOCKER_CONFIG.has(k) && !SUPPORTED_CONFIG.has(k) && !isZero(v)) refuse("Config", k);
  }
}

/**
 * Refuse a host config (create, or update with the fields it may change:
 * `honoured`) that sets a Docker field corral does not honour; keys Docker
 * does not have are ignored.
 *
 * @example
 * ```ts
 * checkHostConfig({ Memory: 64 << 20, MemorySwappiness: -1 });
 * checkHostConfig({ Links: ["db:db"] }); // throws invalid
 * checkHostConfig({ Privileged: true }, new Set(["Memory"])); // throws invalid: set at create
 * ```
 */
export function checkHostConfig(
  hc: Record<string, unknown>,
  honoured: ReadonlySet<string> = SUPPORTED_HOST,
): void {
  for (const [k, v] of Object.entries(hc)) {
    if (!DOCKER_HOST.has(k) || honoured.has(k) || isZero(v) || isDefaultHostValue(k, v)) continue;
    if (SUPPORTED_HOST.has(k)) throw invalid(`${k} is set at create: update cannot change it`);
    refuse("HostConfig", k);
  }
}

function refuse(where: string, key: string): never {
  throw invalid(`${where}.${key} is not supported by corral`);
}

/** The zero values a Go client sends for fields that were not set. */
function isZero(v: unknown): boolean {
  return v === null || v === undefined || v === false || v === 0 || v === "" ||
    (Array.isArray(v) && v.length === 0) ||
    (typeof v === "object" && v !== null && Object.keys(v).length === 0);
}

/** Values the docker CLI always sends that mean "the default". */
function isDefaultHostValue(k: string, v: unknown): boolean {
  switch (k) {
    case "LogConfig": {
      const { Type, Config } = v as { Type?: string; Config?: Record<string, unknown> };
      return (Type === "" || Type === "json-file") && isZero(Config);
    }
    case "CgroupnsMode":
    case "IpcMode":
    case "PidMode":
    case "UTSMode":
      return v === "private";
    case "MemorySwappiness":
      return v === -1;
    case "ConsoleSize":
      return Array.isArray(v) && v.every((n) => n === 0);
    default:
      return false;
  }
}

/** What is said of every route of a resource corral has none of (method `*`: any method). */
function wholeResource(path: string, message: string): [string, string, string][] {
  return [["*", path, message], ["*", `${path}/{rest*}`, message]];
}

/** The swarm-mode resources and the docker command of each. */
const SWARM_COMMANDS = [
  ["/swarm", "docker swarm"],
  ["/nodes", "docker node"],
  ["/services", "docker service"],
  ["/tasks", "docker service ps"],
  ["/secrets", "docker secret"],
  ["/configs", "docker config"],
] as const;

/**
 * Docker endpoints corral does not serve, answered with a 400 that names the
 * docker command rather than a bare 404 or 405: `[method, path, message]`.
 *
 * @example
 * ```ts
 * for (const [method, path, message] of UNSUPPORTED_ENDPOINTS) console.log(method, path, message);
 * ```
 */
export const UNSUPPORTED_ENDPOINTS: readonly [string, string, string][] = [
  [
    "POST",
    "/containers/{id}/pause",
    "pausing containers (docker pause) is not supported by corral",
  ],
  [
    "POST",
    "/containers/{id}/unpause",
    "pausing containers (docker unpause) is not supported by corral",
  ],
  ["GET", "/containers/{id}/archive", "copying files (docker cp) is not supported by corral"],
  ["HEAD", "/containers/{id}/archive", "copying files (docker cp) is not supported by corral"],
  ["PUT", "/containers/{id}/archive", "copying files (docker cp) is not supported by corral"],
  [
    "GET",
    "/containers/{id}/attach/ws",
    "docker attach over a websocket is not supported by corral: attach over HTTP",
  ],
  ["GET", "/containers/{id}/changes", "docker diff is not supported by corral"],
  ["GET", "/containers/{id}/export", "docker export is not supported by corral"],
  ["POST", "/commit", "docker commit is not supported by corral"],
  ["POST", "/build", "building images (docker build) is not supported by corral"],
  ["POST", "/session", "building images (docker build) is not supported by corral"],
  [
    "GET",
    "/images/search",
    "searching a registry (docker search) is not supported by corral",
  ],
  [
    "GET",
    "/distribution/{name*}/json",
    "reading a manifest (docker manifest inspect) is not supported by corral: use docker pull",
  ],
  ...wholeResource("/plugins", "docker plugin is not supported by corral"),
  ...SWARM_COMMANDS.flatMap(([path, command]) =>
    wholeResource(path, `${command} is not supported by corral: it has no swarm mode`)
  ),
];
