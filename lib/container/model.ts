/**
 * The container model: Docker-shaped config, host config and state, as
 * persisted under `--root` and shown by inspect.
 * @module
 */
import type { RestartPolicy } from "../restart/mod.ts";
import type { PortMap, PortMapping } from "../network/mod.ts";
import type { HostOptions } from "../runtime/mod.ts";
export type { RestartPolicy, RestartPolicyName } from "../restart/mod.ts";
export type { DeviceMapping, HostOptions, MountSpec, Ulimit } from "../runtime/mod.ts";

/** Zero time, as Docker prints it. */
export const ZERO_TIME = "0001-01-01T00:00:00Z";

/** Health check settings (Docker's `Config.Healthcheck`; durations in ns). */
export interface HealthConfig {
  /** `["CMD-SHELL", cmd]`, `["CMD", ...argv]` or `["NONE"]`. */
  Test?: string[];
  /** Nanoseconds between checks. */
  Interval?: number;
  /** Nanoseconds before a check is killed. */
  Timeout?: number;
  /** Failures in a row before unhealthy. */
  Retries?: number;
  /** Nanoseconds during which failures do not count. */
  StartPeriod?: number;
}

/**
 * The argv of a health test (`CMD-SHELL cmd` runs `sh -c cmd`); null when the
 * container has no check to run (no test, or `NONE`).
 *
 * @example
 * ```ts
 * healthArgv(["CMD-SHELL", "test -f /ready"]); // ["sh", "-c", "test -f /ready"]
 * healthArgv(["NONE"]); // null
 * ```
 */
export function healthArgv(test: string[] | undefined): string[] | null {
  if (!test?.length || test[0] === "NONE") return null;
  if (test[0] === "CMD-SHELL") return ["sh", "-c", test.slice(1).join(" ")];
  if (test[0] === "CMD") return test.slice(1);
  return ["sh", "-c", test.join(" ")];
}

/** What the container runs (Docker's `Config`). */
export interface ContainerConfig {
  Image: string;
  Cmd: string[];
  Entrypoint: string[] | null;
  Env: string[];
  WorkingDir: string;
  User: string;
  Hostname: string;
  Labels: Record<string, string>;
  StopSignal: string;
  StopTimeout?: number;
  Healthcheck?: HealthConfig;
  /** `-t`: the init runs on a terminal its shim holds. */
  Tty?: boolean;
  /** `-i`: the init's stdin stays open, held by its shim. */
  OpenStdin?: boolean;
  /** Close stdin when the first attached client's stdin ends (`docker run -i`). */
  StdinOnce?: boolean;
  /** Paths that get an anonymous volume unless mounted otherwise: the image's and the request's. */
  Volumes?: Record<string, Record<string, never>> | null;
  /** The image's `EXPOSE` ports and `--expose`: `{"80/tcp": {}}`. */
  ExposedPorts?: Record<string, Record<string, never>>;
}

/**
 * Docker's `HostConfig`, with corral's restart backoff and health action;
 * the options the OCI spec is built from (capabilities, mounts, limits,
 * devices, ...) are `HostOptions`, in Docker's names and shapes.
 */
export interface HostConfig extends HostOptions {
  RestartPolicy: RestartPolicy;
  AutoRemove: boolean;
  Binds: string[];
  Memory: number;
  NanoCpus: number;
  PidsLimit: number;
  /** First restart delay in ms (0: daemon default). */
  RestartDelay?: number;
  /** Restart delay cap in ms (0: daemon default). */
  RestartMaxDelay?: number;
  /** What to do when the health check says unhealthy. */
  HealthOnFailure?: "none" | "kill" | "restart" | "stop";
  /** `--volumes-from CONTAINER[:ro|rw]`: that container's volumes (and binds) too. */
  VolumesFrom?: string[] | null;
  /** `--add-host name:ip` entries of /etc/hosts. */
  ExtraHosts?: string[] | null;
  /** `--dns`, `--dns-search`, `--dns-option` of /etc/resolv.conf. */
  Dns?: string[] | null;
  DnsSearch?: string[] | null;
  DnsOptions?: string[] | null;
  /** The terminal's size at start, `[height, width]` (`-t`; the client resizes it after). */
  ConsoleSize?: [number, number] | null;
  /**
   * `none`, `host`, `bridge` (the default network), a user-defined network's
   * name, or `container:ID`; decided at create (Docker's `default` resolved).
   */
  NetworkMode?: string;
  /** `-p`: container port → host bindings. */
  PortBindings?: PortMap | null;
  /** `-P`: every exposed port on an ephemeral host port. */
  PublishAllPorts?: boolean;
}

/** What a container asks of one network (Docker's `EndpointsConfig[name]`). */
export interface EndpointRequest {
  /** `--network-alias`. */
  Aliases?: string[] | null;
  /** `--ip`. */
  IPAMConfig?: { IPv4Address?: string } | null;
}

/** One health check run. */
export interface HealthLogEntry {
  Start: string;
  End: string;
  ExitCode: number;
  Output: string;
}

/** `State.Health`. */
export interface HealthState {
  Status: "starting" | "healthy" | "unhealthy";
  FailingStreak: number;
  Log: HealthLogEntry[];
}

/** Docker's status words, plus `gc` for a container whose cleanup is being retried. */
export type ContainerStatus =
  | "created"
  | "running"
  | "paused"
  | "restarting"
  | "removing"
  | "exited"
  | "dead"
  | "gc";

/** The persisted state (Docker's `State` plus the seed's pid/ppid identity). */
export interface ContainerState {
  Status: ContainerStatus;
  Running: boolean;
  Paused: boolean;
  Restarting: boolean;
  OOMKilled: boolean;
  Dead: boolean;
  Pid: number;
  /** Start time of the init (field 22 of /proc/PID/stat). */
  StartTime: number;
  /** The shim's pid. */
  PPid: number;
  /** The shim's start time. */
  PStartTime: number;
  ExitCode: number;
  Error: string;
  StartedAt: string;
  FinishedAt: string;
  HasBeenManuallyStopped: boolean;
  /** Failed exits in a row that the restart policy restarted. */
  FailureCount: number;
  /** The restart backoff's last delay (0: none yet, or reset by a long run). */
  LastRestartDelayMs: number;
  Health?: HealthState;
  /** Set while the gc retries the cleanup. */
  GC?: { LastError: string; Tries: number };
  /**
   * The host ports of the last run, every part decided: held again at
   * restore, asked for again by the next start (a restart keeps its ports).
   */
  Ports?: PortMapping[];
}

/** Everything persisted about one container. */
export interface ContainerRecord {
  Id: string;
  Name: string;
  Created: string;
  /** The image reference as the user gave it. */
  Image: string;
  ImageID: string;
  Config: ContainerConfig;
  HostConfig: HostConfig;
  State: ContainerState;
  RestartCount: number;
  /** The volumes mounted in the container, resolved at create (absent: none). */
  MountPoints?: VolumeMount[];
  /** The networks the container is on, by name, with what it asks of each. */
  Networks?: Record<string, EndpointRequest>;
}

/** A volume mounted in a container (Docker's mount point of type volume). */
export interface VolumeMount {
  /** The volume's name. */
  Name: string;
  Destination: string;
  RW: boolean;
  /** The mode as given with `-v` ("" for `--mount` and the image's volumes). */
  Mode: string;
  /** Do not copy the image's content into an empty volume. */
  NoCopy: boolean;
  /** Created for this container: `rm -v` and `--rm` remove it with the container. */
  Anonymous: boolean;
}

/** A fresh state for a container that was never started. */
export function newState(): ContainerState {
  return {
    Status: "created",
    Running: false,
    Paused: false,
    Restarting: false,
    OOMKilled: false,
    Dead: false,
    Pid: 0,
    StartTime: 0,
    PPid: 0,
    PStartTime: 0,
    ExitCode: 0,
    Error: "",
    StartedAt: ZERO_TIME,
    FinishedAt: ZERO_TIME,
    HasBeenManuallyStopped: false,
    FailureCount: 0,
    LastRestartDelayMs: 0,
  };
}

/**
 * A config with nothing set but what is given: the placeholder of a container
 * whose config cannot be loaded, and the base of test records.
 *
 * @example
 * ```ts
 * emptyConfig({ Image: "busybox", Cmd: ["true"] }).StopSignal; // "SIGTERM"
 * ```
 */
export function emptyConfig(over: Partial<ContainerConfig> = {}): ContainerConfig {
  return {
    Image: "",
    Cmd: [],
    Entrypoint: null,
    Env: [],
    WorkingDir: "",
    User: "",
    Hostname: "",
    Labels: {},
    StopSignal: "SIGTERM",
    ...over,
  };
}

/** Default host config. */
export function defaultHostConfig(): HostConfig {
  return {
    RestartPolicy: { Name: "no", MaximumRetryCount: 0 },
    AutoRemove: false,
    Binds: [],
    Memory: 0,
    NanoCpus: 0,
    PidsLimit: 0,
  };
}

/** Set the status word and the booleans that go with it. */
export function setStatus(state: ContainerState, status: ContainerStatus): void {
  state.Status = status;
  state.Running = status === "running" || status === "paused";
  state.Paused = status === "paused";
  state.Restarting = status === "restarting";
  state.Dead = status === "dead";
}

/** Docker's `ps` status column, e.g. "Up 3 seconds (healthy)", "Exited (3) 2 minutes ago". */
export function describeStatus(rec: ContainerRecord, now = Date.now()): string {
  const s = rec.State;
  const ago = (t: string) => humanDuration(now - Date.parse(t));
  switch (s.Status) {
    case "running": {
      const health = s.Health
        ? ` (${s.Health.Status === "starting" ? "health: starting" : s.Health.Status})`
        : "";
      return `Up ${ago(s.StartedAt)}${health}`;
    }
    case "paused":
      return `Up ${ago(s.StartedAt)} (Paused)`;
    case "restarting":
      return `Restarting (${s.ExitCode}) ${ago(s.FinishedAt)} ago`;
    case "exited":
      return `Exited (${s.ExitCode}) ${ago(s.FinishedAt)} ago`;
    case "gc":
      return `GC (${s.ExitCode}): ${s.GC?.LastError ?? "cleaning up"}`;
    case "dead":
      return "Dead";
    case "removing":
      return "Removal In Progress";
    default:
      return "Created";
  }
}

/** "3 seconds", "2 minutes", "About an hour"; coarse like Docker's. */
export function humanDuration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 1) return "Less than a second";
  if (s < 60) return `${s} second${s === 1 ? "" : "s"}`;
  const m = Math.round(s / 60);
  if (m < 60) return `${m} minute${m === 1 ? "" : "s"}`;
  const h = Math.round(m / 60);
  if (h < 48) return `${h} hour${h === 1 ? "" : "s"}`;
  return `${Math.round(h / 24)} days`;
}
