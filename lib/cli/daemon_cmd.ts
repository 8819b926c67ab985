/**
 * `corral daemon`: flags → DaemonOptions, logging set-up, run until stopped.
 * @module
 */
import { configure, getConsoleSink, getTextFormatter, type LogLevel } from "@logtape/logtape";
import { DEFAULT_DAEMON_OPTIONS, startDaemon } from "../daemon/mod.ts";
import { invalid } from "../errdefs/mod.ts";
import { parseDuration } from "./parse.ts";

/** Parse the daemon's flags and run it until SIGTERM/SIGINT. */
export async function runDaemonCommand(o: Record<string, unknown>): Promise<void> {
  const level = String(o.logLevel ?? "info") as LogLevel;
  if (!["debug", "info", "warning", "error"].includes(level)) {
    throw invalid(`invalid --log-level "${level}"`);
  }
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
  const daemon = await startDaemon({
    ...DEFAULT_DAEMON_OPTIONS,
    root: String(o.root),
    state: String(o.state),
    host: String(o.host ?? DEFAULT_DAEMON_OPTIONS.host),
    runtime: String(o.runtime),
    cgroupParent: String(o.cgroupParent),
    backoff,
    defaultImage: o.defaultImage !== false,
  });
  await daemon.finished;
}
