/**
 * Refusing what corral does not do. Docker clients send every field of a
 * create body, mostly zero-valued; a field that is set to something corral
 * would not honour is a 400 with a message naming the docker flag, never a
 * silently ignored option.
 * @module
 */
import { invalid } from "../../errdefs/mod.ts";

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
  // What the client attaches to: only meaningful to the client.
  "AttachStdout",
  "AttachStderr",
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
]);

/** Why a field is refused, in the docker CLI's words. */
const REASONS: Record<string, string> = {
  Tty: "a TTY (-t) is not supported by corral: containers run without a terminal",
  OpenStdin: "stdin (-i) is not supported by corral",
  AttachStdin: "stdin (-i) is not supported by corral",
  StdinOnce: "stdin (-i) is not supported by corral",
  Volumes: "anonymous volumes (-v /path) are not supported by corral: " +
    "use a bind mount (-v /host/path:/path)",
  ExposedPorts: "ports (--expose, -p) are not supported by corral: containers have no network",
  PortBindings: "publishing ports (-p) is not supported by corral: containers have no network",
  PublishAllPorts: "publishing ports (-P) is not supported by corral: containers have no network",
  NetworkMode: "networks (--network) are not supported by corral: " +
    "containers have no network (only --network none)",
  VolumesFrom: "--volumes-from is not supported by corral",
};

/**
 * Refuse a create body that sets anything corral would ignore.
 *
 * @example
 * ```ts
 * checkCreateBody({ Image: "busybox", Cmd: ["true"], Tty: false }, { NetworkMode: "default" });
 * checkCreateBody({ Image: "busybox", Tty: true }, {}); // throws invalid
 * ```
 */
export function checkCreateBody(
  config: Record<string, unknown>,
  hostConfig: Record<string, unknown>,
): void {
  checkHostConfig(hostConfig);
  for (const [k, v] of Object.entries(config)) {
    if (!SUPPORTED_CONFIG.has(k) && !isZero(v)) refuse("Config", k);
  }
}

/**
 * Refuse a host config (create, or update with the fields it may change:
 * `honoured`) that sets an unsupported field.
 *
 * @example
 * ```ts
 * checkHostConfig({ Memory: 64 << 20, MemorySwappiness: -1 });
 * checkHostConfig({ PortBindings: { "80/tcp": [{ HostPort: "80" }] } }); // throws invalid
 * checkHostConfig({ Privileged: true }, new Set(["Memory"])); // throws invalid: set at create
 * ```
 */
export function checkHostConfig(
  hc: Record<string, unknown>,
  honoured: ReadonlySet<string> = SUPPORTED_HOST,
): void {
  for (const [k, v] of Object.entries(hc)) {
    if (honoured.has(k) || isZero(v) || isDefaultHostValue(k, v)) continue;
    if (SUPPORTED_HOST.has(k)) throw invalid(`${k} is set at create: update cannot change it`);
    refuse("HostConfig", k);
  }
}

function refuse(where: string, key: string): never {
  throw invalid(REASONS[key] ?? `${where}.${key} is not supported by corral`);
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
    case "NetworkMode":
      return v === "default" || v === "none";
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

/**
 * Docker endpoints corral does not serve, answered with a 400 that says so
 * rather than a bare 404: `[method, path, message]`.
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
  ["PUT", "/containers/{id}/archive", "copying files (docker cp) is not supported by corral"],
  ["GET", "/containers/{id}/changes", "docker diff is not supported by corral"],
  ["GET", "/containers/{id}/export", "docker export is not supported by corral"],
  ["POST", "/containers/{id}/resize", REASONS.Tty],
  ["POST", "/commit", "docker commit is not supported by corral"],
  ["POST", "/build", "building images (docker build) is not supported by corral"],
  ["GET", "/system/df", "docker system df is not supported by corral"],
  ["GET", "/networks", "networks are not supported by corral: containers have no network"],
  [
    "GET",
    "/volumes",
    "volumes are not supported by corral: use a bind mount (-v /host/path:/path)",
  ],
];
