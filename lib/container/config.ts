/**
 * A container's configuration at create and update: the request merged over
 * the image's defaults, Docker style, and every value checked for type and
 * range here, so that user input is a 400 with Docker's message, never a 500
 * (or a runc failure) later.
 * @module
 */
import { invalid } from "../errdefs/mod.ts";
import type { Image } from "../image/mod.ts";
import { parsePortKey } from "../network/mod.ts";
import { checkHostOptions, type LiveLimits, memorySwapOf, parseBind } from "../runtime/mod.ts";
import type { ContainerConfig, HealthConfig, HostConfig } from "./model.ts";

const DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/**
 * What execve takes at most for argv and environment together, counting each
 * string, its NUL and its pointer: a quarter of the default 8 MiB stack.
 */
export const MAX_EXEC_BYTES = 2 * 1024 * 1024;
/** The kernel's limit on one argument or environment string (MAX_ARG_STRLEN). */
const MAX_ARG_STRLEN = 128 * 1024;
/** Docker's shortest health-check interval, timeout and start period (1 ms, in ns). */
const MIN_HEALTH_DURATION_NS = 1_000_000;
/** The largest uid or gid (2^32 - 2: -1 means "unchanged" to the kernel). */
const MAX_ID = 2 ** 32 - 2;
/** Docker's smallest memory limit and reservation (6 MiB). */
const MIN_MEMORY = 6 * 1024 * 1024;

/**
 * Merge the request's config over the image's defaults, Docker style, after
 * checking every field of the request.
 *
 * @example
 * ```ts
 * import type { Image } from "../image/mod.ts";
import { parsePortKey } from "../network/mod.ts";
 * declare const image: Image;
 * const cfg = buildConfig({ Image: "busybox", Cmd: ["true"], Env: ["A=1"] }, image);
 * cfg.Env; // the image's env, then A=1 (a key set twice keeps the last value)
 * ```
 */
export function buildConfig(
  cfg: Partial<ContainerConfig> & { Image: string },
  image: Image,
): ContainerConfig {
  validateConfig(cfg);
  const ic = image.Config;
  const entrypoint = cfg.Entrypoint !== undefined && cfg.Entrypoint !== null
    ? cfg.Entrypoint
    : ic.Entrypoint;
  const cmd = cfg.Cmd?.length ? cfg.Cmd : (cfg.Entrypoint?.length ? [] : ic.Cmd ?? []);
  const config: ContainerConfig = {
    Image: cfg.Image,
    Cmd: cmd,
    Entrypoint: entrypoint && entrypoint.length ? entrypoint : null,
    Env: mergeEnv(ic.Env ?? [], cfg.Env ?? []),
    WorkingDir: cfg.WorkingDir || ic.WorkingDir || "",
    User: cfg.User || ic.User || "",
    Hostname: cfg.Hostname || "",
    Labels: { ...(ic.Labels ?? {}), ...(cfg.Labels ?? {}) },
    StopSignal: cfg.StopSignal || ic.StopSignal || "SIGTERM",
    StopTimeout: cfg.StopTimeout,
    Healthcheck: mergeHealthcheck(cfg.Healthcheck, ic.Healthcheck),
    Tty: Boolean(cfg.Tty),
    OpenStdin: Boolean(cfg.OpenStdin),
    StdinOnce: Boolean(cfg.StdinOnce),
  };
  const volumes = { ...(ic.Volumes ?? {}), ...(cfg.Volumes ?? {}) };
  if (Object.keys(volumes).length) config.Volumes = volumes;
  const exposed = { ...ic.ExposedPorts, ...exposedPorts(cfg.ExposedPorts) };
  if (Object.keys(exposed).length > 0) config.ExposedPorts = exposed;
  checkExecSize([...(config.Entrypoint ?? []), ...config.Cmd], config.Env);
  return config;
}

/** A request's `ExposedPorts` (`--expose`, `-p`): `{"80/tcp": {}}`, keys checked. */
function exposedPorts(v: unknown): Record<string, Record<string, never>> {
  if (v === null || v === undefined) return {};
  if (!isObject(v)) throw invalid("ExposedPorts must be an object whose keys are ports");
  const out: Record<string, Record<string, never>> = {};
  for (const key of Object.keys(v)) {
    const { port, protocol } = parsePortKey(key);
    out[`${port}/${protocol}`] = {};
  }
  return out;
}

/**
 * The image's environment with the request's over it, in one pass: a key
 * keeps its first position and its last value; Docker's default PATH when
 * neither sets one.
 *
 * @example
 * ```ts
 * mergeEnv(["PATH=/bin", "A=1"], ["A=2", "B=3"]); // ["PATH=/bin", "A=2", "B=3"]
 * ```
 */
export function mergeEnv(imageEnv: string[], own: string[]): string[] {
  const byKey = new Map<string, string>();
  const key = (e: string) => e.split("=", 1)[0];
  if (!imageEnv.some((e) => e.startsWith("PATH="))) byKey.set("PATH", `PATH=${DEFAULT_PATH}`);
  for (const e of imageEnv) byKey.set(key(e), e);
  for (const e of own) {
    if (!e.includes("=") || e.startsWith("=")) {
      throw invalid(`invalid environment variable "${e.slice(0, 100)}": expected KEY=VALUE`);
    }
    byKey.set(key(e), e);
  }
  return [...byKey.values()];
}

/** Refuse what execve would refuse at start: too large an argv and environment. */
function checkExecSize(argv: string[], env: string[]): void {
  let total = 0;
  for (const s of [...argv, ...env]) {
    // UTF-16 length × 3 bounds the UTF-8 length without encoding every string.
    const bytes = s.length * 3 < MAX_ARG_STRLEN ? s.length : new TextEncoder().encode(s).length;
    if (bytes >= MAX_ARG_STRLEN) {
      throw invalid(`argument or environment variable too long: ${bytes} bytes (limit 128 KiB)`);
    }
    total += bytes + 1 + 8;
  }
  if (total > MAX_EXEC_BYTES) {
    throw invalid(
      `command and environment too large: ${total} bytes (${argv.length} arguments, ${env.length} ` +
        `variables); the kernel's limit is ${MAX_EXEC_BYTES / 1024 / 1024} MiB`,
    );
  }
}

/** Check the types and ranges of a create request's `Config`. */
function validateConfig(cfg: Partial<ContainerConfig>): void {
  for (const k of ["Cmd", "Env", "Entrypoint"] as const) {
    if (!isNullish(cfg[k]) && !isStringArray(cfg[k])) {
      throw invalid(`${k} must be an array of strings`);
    }
  }
  for (const k of ["WorkingDir", "User", "Hostname", "StopSignal"] as const) {
    if (!isNullish(cfg[k]) && typeof cfg[k] !== "string") throw invalid(`${k} must be a string`);
  }
  for (const k of ["Tty", "OpenStdin", "StdinOnce"] as const) {
    if (!isNullish(cfg[k]) && typeof cfg[k] !== "boolean") throw invalid(`${k} must be a boolean`);
  }
  if (cfg.WorkingDir && !cfg.WorkingDir.startsWith("/")) {
    throw invalid(
      `the working directory '${cfg.WorkingDir}' is invalid, it needs to be an absolute path`,
    );
  }
  if (cfg.User) validateUser(cfg.User);
  const labels = cfg.Labels as unknown;
  if (
    !isNullish(labels) &&
    (typeof labels !== "object" || Array.isArray(labels) ||
      Object.values(labels as object).some((v) => typeof v !== "string"))
  ) {
    throw invalid("Labels must be an object of string values");
  }
  if (!isNullish(cfg.StopTimeout) && !isIntegerIn(cfg.StopTimeout, -1, Number.MAX_SAFE_INTEGER)) {
    throw invalid(`invalid StopTimeout: ${cfg.StopTimeout} (whole seconds, -1 to wait forever)`);
  }
  if (!isNullish(cfg.Healthcheck)) validateHealthcheck(cfg.Healthcheck);
  if (!isNullish(cfg.Volumes) && !isObject(cfg.Volumes)) {
    throw invalid("Volumes must be an object whose keys are paths");
  }
}

/** A numeric uid or gid must fit the kernel's; a name is looked up at start. */
function validateUser(user: string): void {
  for (const part of user.split(":")) {
    if (/^\d+$/.test(part) && Number(part) > MAX_ID) {
      throw invalid(`invalid user "${user}": uids and gids go from 0 to ${MAX_ID}`);
    }
  }
}

/** Docker's checks of `Config.Healthcheck`. */
function validateHealthcheck(h: HealthConfig): void {
  if (typeof h !== "object" || Array.isArray(h)) throw invalid("Healthcheck must be an object");
  if (!isNullish(h.Test) && !isStringArray(h.Test)) {
    throw invalid("Healthcheck.Test must be an array of strings");
  }
  for (const k of ["Interval", "Timeout", "StartPeriod"] as const) {
    const v = h[k];
    if (isNullish(v) || v === 0) continue;
    if (!Number.isSafeInteger(v)) throw invalid(`${k} in Healthcheck must be whole nanoseconds`);
    if (v < MIN_HEALTH_DURATION_NS) throw invalid(`${k} in Healthcheck cannot be less than 1ms`);
  }
  if (!isNullish(h.Retries) && !isIntegerIn(h.Retries, 0, Number.MAX_SAFE_INTEGER)) {
    throw invalid("Retries in Healthcheck cannot be negative");
  }
}

/**
 * The container's health check over the image's, as Docker merges them: a
 * check of its own (or `NONE`) wins; one with timings but no test takes the
 * image's test, and the image's timings where its own are unset.
 */
function mergeHealthcheck(
  own: HealthConfig | undefined,
  image: HealthConfig | undefined,
): HealthConfig | undefined {
  if (!image || own?.Test?.length) return own;
  if (!own) return image;
  return {
    Test: image.Test,
    Interval: own.Interval || image.Interval,
    Timeout: own.Timeout || image.Timeout,
    StartPeriod: own.StartPeriod || image.StartPeriod,
    Retries: own.Retries || image.Retries,
  };
}

/**
 * The cgroup limits that differ between two host configs, or null. Memory
 * and swap go together: the swap limit follows the memory limit unless
 * `MemorySwap` is set.
 *
 * @example
 * ```ts
 * import { defaultHostConfig } from "./model.ts";
 * changedLimits(defaultHostConfig(), { ...defaultHostConfig(), Memory: 64 << 20 });
 * // { memory: 67108864, memorySwap: 67108864 }
 * ```
 */
export function changedLimits(before: HostConfig, after: HostConfig): LiveLimits | null {
  const limits: LiveLimits = {};
  const differ = (k: keyof HostConfig) => (after[k] ?? 0) !== (before[k] ?? 0);
  if (differ("Memory") || differ("MemorySwap")) {
    limits.memory = after.Memory;
    limits.memorySwap = memorySwapOf(after) ?? -1;
  }
  if (differ("MemoryReservation")) limits.memoryReservation = after.MemoryReservation;
  if (differ("NanoCpus")) limits.nanoCpus = after.NanoCpus;
  if (differ("CpuShares")) limits.cpuShares = after.CpuShares;
  if (differ("CpusetCpus")) limits.cpusetCpus = after.CpusetCpus;
  if (differ("PidsLimit")) limits.pidsLimit = after.PidsLimit;
  return Object.keys(limits).length ? limits : null;
}

/** setTimeout's longest delay; a longer one fires at once. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/** Bounds of the numeric host config fields (inclusive). */
const HOST_NUMBERS = {
  Memory: [0, Number.MAX_SAFE_INTEGER],
  MemoryReservation: [0, Number.MAX_SAFE_INTEGER],
  // -1: unlimited swap.
  MemorySwap: [-1, Number.MAX_SAFE_INTEGER],
  NanoCpus: [0, Number.MAX_SAFE_INTEGER],
  // The kernel's range of cpu.shares (0: the default, 1024).
  CpuShares: [0, 262144],
  PidsLimit: [-1, Number.MAX_SAFE_INTEGER],
  ShmSize: [0, Number.MAX_SAFE_INTEGER],
  OomScoreAdj: [-1000, 1000],
  // Milliseconds a timer can wait (setTimeout's limit).
  RestartDelay: [0, MAX_TIMER_MS],
  RestartMaxDelay: [0, MAX_TIMER_MS],
} as const;

/** The shapes of the other host config fields: a client sending another shape gets a 400. */
const HOST_SHAPES: Record<string, [(v: unknown) => boolean, string]> = {
  ExtraHosts: [isStringArray, "an array of strings"],
  Dns: [isStringArray, "an array of strings"],
  DnsSearch: [isStringArray, "an array of strings"],
  DnsOptions: [isStringArray, "an array of strings"],
  CapAdd: [isStringArray, "an array of strings"],
  CapDrop: [isStringArray, "an array of strings"],
  SecurityOpt: [isStringArray, "an array of strings"],
  GroupAdd: [isStringArray, "an array of strings"],
  Init: [isBoolean, "a boolean"],
  ReadonlyRootfs: [isBoolean, "a boolean"],
  Privileged: [isBoolean, "a boolean"],
  CpusetCpus: [isString, "a string"],
  Tmpfs: [isStringRecord, "an object of string values"],
  Sysctls: [isStringRecord, "an object of string values"],
  Ulimits: [
    arrayOf({ Name: isString, Soft: isNumber, Hard: isNumber }),
    "an array of {Name, Soft, Hard}",
  ],
  Devices: [
    arrayOf({
      PathOnHost: isString,
      PathInContainer: optional(isString),
      CgroupPermissions: optional(isString),
    }),
    "an array of {PathOnHost, PathInContainer, CgroupPermissions}",
  ],
  Mounts: [
    arrayOf({
      Type: isString,
      Source: optional(isString),
      Target: optional(isString),
      ReadOnly: optional(isBoolean),
      BindOptions: optional(isObject),
      TmpfsOptions: optional(isObject),
      VolumeOptions: optional(isObject),
    }),
    "an array of {Type, Source, Target, ReadOnly, BindOptions, TmpfsOptions, VolumeOptions}",
  ],
  VolumesFrom: [isStringArray, "an array of strings"],
};

/**
 * Check a host config at create and update, with Docker's messages where
 * Docker has one.
 *
 * @example
 * ```ts
 * import { defaultHostConfig } from "./model.ts";
 * validateHostConfig({ ...defaultHostConfig(), Memory: 64 << 20 });
 * ```
 *
 * `volumes` are the destinations of the container's volumes (none may be a
 * bind's or a tmpfs's too).
 */
export function validateHostConfig(hc: HostConfig, volumes: string[] = []): void {
  for (const [k, [valid, what]] of Object.entries(HOST_SHAPES)) {
    const v = hc[k as keyof HostConfig];
    if (!isNullish(v) && !valid(v)) throw invalid(`${k} must be ${what}`);
  }
  // Docker's messages for these two ranges.
  if (typeof hc.ShmSize === "number" && hc.ShmSize < 0) {
    throw invalid("SHM size can not be less than 0");
  }
  if (typeof hc.OomScoreAdj === "number" && Math.abs(hc.OomScoreAdj) > 1000) {
    throw invalid(`Invalid value ${hc.OomScoreAdj}, range for oom score adj is [-1000, 1000]`);
  }
  const size = hc.ConsoleSize as unknown;
  if (
    !isNullish(size) &&
    !(Array.isArray(size) && size.length === 2 && size.every((n) => isIntegerIn(n, 0, 65535)))
  ) {
    throw invalid("ConsoleSize must be [height, width], whole numbers from 0 to 65535");
  }
  const cpus = navigator.hardwareConcurrency;
  // 0.01 CPU is the smallest quota runc takes (1 ms per 100 ms period).
  if (
    typeof hc.NanoCpus === "number" && hc.NanoCpus &&
    !(hc.NanoCpus >= 1e7 && hc.NanoCpus <= cpus * 1e9)
  ) {
    throw invalid(
      `Range of CPUs is from 0.01 to ${cpus}.00, as there are only ${cpus} CPUs available`,
    );
  }
  for (const [k, [min, max]] of Object.entries(HOST_NUMBERS)) {
    const v = hc[k as keyof typeof HOST_NUMBERS];
    if (v !== undefined && v !== null && !isIntegerIn(v, min, max)) {
      throw invalid(`invalid ${k}: ${JSON.stringify(v)} (a whole number from ${min} to ${max})`);
    }
  }
  if (hc.CpuShares === 1) throw invalid("invalid CpuShares: 1 (the smallest CPU weight is 2)");
  validateMemory(hc);
  if (hc.RestartDelay && hc.RestartMaxDelay && hc.RestartDelay > hc.RestartMaxDelay) {
    throw invalid("restart delay must not exceed the maximum restart delay");
  }
  for (const g of hc.GroupAdd ?? []) {
    if (g === "" || (/^\d+$/.test(g) && Number(g) > MAX_ID)) {
      throw invalid(`invalid group "${g}" for --group-add: a gid from 0 to ${MAX_ID} or a name`);
    }
  }
  if (!Array.isArray(hc.Binds ?? [])) throw invalid("Binds must be an array");
  for (const b of hc.Binds ?? []) {
    if (typeof b !== "string") throw invalid("Binds must be an array of strings");
    const bind = parseBind(b);
    if (bind.kind !== "bind") continue;
    const { source } = bind;
    try {
      Deno.statSync(source);
    } catch {
      throw invalid(`invalid bind mount "${b}": source path ${source} does not exist`);
    }
  }
  if (hc.HealthOnFailure && !["none", "kill", "restart", "stop"].includes(hc.HealthOnFailure)) {
    throw invalid(
      `invalid health-on-failure action "${hc.HealthOnFailure}": none, kill, restart or stop`,
    );
  }
  // What the OCI spec makes of the options, built now so a bad one never reaches runc.
  checkHostOptions(hc, volumes);
}

/** Docker's checks of the memory limit, swap and reservation together. */
function validateMemory(hc: HostConfig): void {
  const swap = hc.MemorySwap ?? 0;
  const reservation = hc.MemoryReservation ?? 0;
  if (hc.Memory > 0 && hc.Memory < MIN_MEMORY) {
    throw invalid("minimum memory limit allowed is 6MB");
  }
  if (hc.Memory > 0 && swap > 0 && swap < hc.Memory) {
    throw invalid("Minimum memoryswap limit should be larger than memory limit, see usage");
  }
  if (!(hc.Memory > 0) && swap > 0) {
    throw invalid("You should always set the Memory limit when using Memoryswap limit, see usage");
  }
  if (reservation > 0 && reservation < MIN_MEMORY) {
    throw invalid("Minimum memory reservation allowed is 6MB");
  }
  if (hc.Memory > 0 && reservation > hc.Memory) {
    throw invalid(
      "Minimum memory limit can not be less than memory reservation limit, see usage",
    );
  }
}

function isNullish(v: unknown): v is null | undefined {
  return v === undefined || v === null;
}

function isStringArray(v: unknown): v is string[] {
  return Array.isArray(v) && v.every((x) => typeof x === "string");
}

function isString(v: unknown): v is string {
  return typeof v === "string";
}

function isNumber(v: unknown): v is number {
  return typeof v === "number";
}

function isBoolean(v: unknown): v is boolean {
  return typeof v === "boolean";
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function isStringRecord(v: unknown): v is Record<string, string> {
  return isObject(v) && Object.values(v).every(isString);
}

/** A test that also passes null and absence. */
function optional(test: (v: unknown) => boolean): (v: unknown) => boolean {
  return (v) => isNullish(v) || test(v);
}

/** A test of an array of objects whose fields pass the given tests. */
function arrayOf(fields: Record<string, (v: unknown) => boolean>): (v: unknown) => boolean {
  return (v) =>
    Array.isArray(v) &&
    v.every((o) => isObject(o) && Object.entries(fields).every(([k, test]) => test(o[k])));
}

function isIntegerIn(v: unknown, min: number, max: number): boolean {
  return typeof v === "number" && Number.isSafeInteger(v) && v >= min && v <= max;
}
