/**
 * `corral daemon`: flags → DaemonOptions, logging set-up, run until stopped.
 * The daemon and the logger are loaded only here, so that every other CLI
 * call starts without them (about 70 ms).
 * @module
 */
import type { Command } from "./args.ts";
import type { LogLevel } from "@logtape/logtape";
import { invalid } from "../errdefs/mod.ts";
import { parseDuration } from "../api/mod.ts";
import type { Opts } from "./command.ts";
import { collect, parseBytes, parseCount, parseKeyValues } from "./parse.ts";

/** `--default-address-pool base=10.10.0.0/16,size=24` values. */
function addressPools(values: string[]): { base: string; size: number }[] {
  return values.map((v) => {
    const { base, size } = parseKeyValues(v.split(","));
    if (!base || !/^\d+$/.test(size ?? "")) {
      throw invalid(`invalid --default-address-pool "${v}": base=CIDR,size=N expected`);
    }
    return { base, size: Number(size) };
  });
}

/** Register `daemon`, whose `--host` defaults to the program's `-H`. */
export function addDaemonCommand(program: Command): void {
  program.command("daemon").description("run the corral daemon")
    .option("--root <dir>", "persistent state", "/var/lib/corral")
    .option("--state <dir>", "runtime state (fifos, bundles)", "/run/corral")
    .option("--host <unix://PATH>", "socket to serve")
    .option("--runtime <path>", "OCI runtime binary", "runc")
    .option("--cgroup-parent <name>", "parent cgroup of every container", "corral")
    .option("--restart-delay <duration>", "first restart backoff delay", "100ms")
    .option("--restart-max-delay <duration>", "restart backoff cap", "60s")
    .option("--restart-reset-after <duration>", "running this long resets the backoff", "10s")
    .option("--no-default-image", "do not create the embedded busybox image")
    .option("--max-image-size <size>", "cap on an import or load, uncompressed (default 32g)")
    .option("--shim-group-size <n>", "containers per shim, 1 for a shim each (default 50)")
    .option("--shim-idle-time <duration>", "how long an empty group shim stays (default 5s)")
    .option(
      "--insecure-registry <host[:port]>",
      "reach this registry over plain HTTP (loopback always is); repeatable",
      (v: string, all: string[]) => [...all, v],
      [] as string[],
    )
    .option("--log-level <level>", "debug, info, warning, error", "info")
    .option("-b, --bridge <name>", "the default network's bridge, or none", "corral0")
    .option("--bip <CIDR>", "the default network's gateway and prefix, e.g. 172.17.0.1/16")
    .option(
      "--default-address-pool <base=CIDR,size=N>",
      "where networks get their subnets (repeatable)",
      collect,
    )
    .option("--cni-path <dir>", "where the CNI plugins are", "/usr/lib/cni")
    .action(async (o: Opts) =>
      await runDaemonCommand({ ...o, host: o.host ?? program.opts().host })
    );
}

/** Parse the daemon's flags and run it until SIGTERM/SIGINT. */
async function runDaemonCommand(o: Opts): Promise<void> {
  const level = String(o.logLevel ?? "info") as LogLevel;
  if (!["debug", "info", "warning", "error"].includes(level)) {
    throw invalid(`invalid --log-level "${level}"`);
  }
  const { configure, getConsoleSink, getTextFormatter } = await import("@logtape/logtape");
  const { DEFAULT_DAEMON_OPTIONS, startDaemon } = await import("../daemon/mod.ts");
  await configure({
    // Plain text with bare values: ids and messages unquoted, one line each.
    sinks: { console: getConsoleSink({ formatter: getTextFormatter({ value: "bare" }) }) },
    loggers: [
      { category: ["corral"], lowestLevel: level, sinks: ["console"] },
      { category: ["logtape", "meta"], lowestLevel: "warning", sinks: ["console"] },
    ],
  });
  const backoff = {
    initialMs: parseDuration(String(o.restartDelay)),
    maxMs: parseDuration(String(o.restartMaxDelay)),
    resetAfterMs: parseDuration(String(o.restartResetAfter)),
  };
  if (backoff.initialMs <= 0 || backoff.maxMs < backoff.initialMs) {
    throw invalid("invalid restart backoff: need 0 < --restart-delay <= --restart-max-delay");
  }
  const maxImageSize = o.maxImageSize === undefined
    ? DEFAULT_DAEMON_OPTIONS.maxImageSize
    : parseBytes(String(o.maxImageSize));
  if (maxImageSize <= 0) throw invalid("invalid --max-image-size: must be more than 0");
  const shimGroupSize = o.shimGroupSize === undefined
    ? DEFAULT_DAEMON_OPTIONS.shimGroupSize
    : parseCount("shim group size")(String(o.shimGroupSize));
  if (shimGroupSize < 1) throw invalid("invalid --shim-group-size: must be at least 1");
  const shimIdleMs = o.shimIdleTime === undefined
    ? DEFAULT_DAEMON_OPTIONS.shimIdleMs
    : parseDuration(String(o.shimIdleTime));
  const daemon = await startDaemon({
    ...DEFAULT_DAEMON_OPTIONS,
    root: String(o.root),
    state: String(o.state),
    host: String(o.host ?? DEFAULT_DAEMON_OPTIONS.host),
    runtime: String(o.runtime),
    cgroupParent: String(o.cgroupParent),
    backoff,
    defaultImage: o.defaultImage !== false,
    maxImageSize,
    shimGroupSize,
    shimIdleMs,
    insecureRegistries: o.insecureRegistry as string[],
    bridge: String(o.bridge),
    ...(o.bip === undefined ? {} : { bip: String(o.bip) }),
    ...(o.defaultAddressPool
      ? { addressPools: addressPools(o.defaultAddressPool as string[]) }
      : {}),
    cniPath: String(o.cniPath),
  });
  await daemon.finished;
}
