/**
 * Go-style durations, as Docker's API and CLI write them.
 * @module
 */
import { invalid } from "../errdefs/mod.ts";

const DURATION_UNITS: Record<string, number> = {
  ns: 1e-6,
  us: 1e-3,
  "µs": 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};

/**
 * Parse a Go-style duration ("100ms", "1.5s", "1m30s") into milliseconds.
 *
 * @example
 * ```ts
 * parseDuration("1m30s"); // 90000
 * ```
 */
export function parseDuration(text: string): number {
  const total = durationMs(text);
  if (total === null) {
    throw invalid(`invalid duration "${text}": use a number with a unit, e.g. 500ms, 2s, 1m`);
  }
  return total;
}

/**
 * A Go-style duration in milliseconds, or null when `text` is not one.
 *
 * @example
 * ```ts
 * durationMs("10m"); // 600000
 * durationMs("2024-01-01"); // null
 * ```
 */
export function durationMs(text: string): number | null {
  const re = /(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/g;
  let total = 0;
  let consumed = 0;
  for (const m of text.matchAll(re)) {
    if (m.index !== consumed) break;
    total += Number(m[1]) * DURATION_UNITS[m[2]];
    consumed += m[0].length;
  }
  return consumed === 0 || consumed !== text.length ? null : total;
}
