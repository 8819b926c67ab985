/**
 * `corral daemon`: flags → DaemonOptions, logging set-up, run until stopped.
 * The daemon and the logger are loaded only here, so that every other CLI
 * call starts without them (about 70 ms).
 * @module
 */
import type { LogLevel } from "@logtape/logtape";
import { invalid } from "../errdefs/mod.ts";
import { parseDuration } from "../api/mod.ts";
import { parseBytes } from "./parse.ts";

/** Parse the daemon's flags and run it until SIGTERM/SIGINT. */
export async function runDaemonCommand(o: Record<string, unknown>): Promise<void> {
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
  });
  await daemon.finished;
}
