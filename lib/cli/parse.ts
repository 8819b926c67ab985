/**
 * Parsers for CLI values: durations, byte sizes, key=value lists.
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
  const re = /(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/g;
  let total = 0;
  let consumed = 0;
  for (const m of text.matchAll(re)) {
    if (m.index !== consumed) break;
    total += Number(m[1]) * DURATION_UNITS[m[2]];
    consumed += m[0].length;
  }
  if (consumed === 0 || consumed !== text.length) {
    throw invalid(`invalid duration "${text}": use a number with a unit, e.g. 500ms, 2s, 1m`);
  }
  return total;
}

const SIZE_UNITS: Record<string, number> = { "": 1, b: 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 };

/**
 * Parse a byte size ("8m", "512k", "1g", "1024").
 *
 * @example
 * ```ts
 * parseBytes("8m"); // 8388608
 * ```
 */
export function parseBytes(text: string): number {
  const m = text.trim().toLowerCase().match(/^(\d+(?:\.\d+)?)\s*([bkmg]?)b?$/);
  if (!m) throw invalid(`invalid size "${text}": use a number with an optional unit b, k, m, g`);
  return Math.round(Number(m[1]) * SIZE_UNITS[m[2]]);
}

/** Parse a non-negative integer option. */
export function parseCount(name: string) {
  return (text: string): number => {
    if (!/^\d+$/.test(text)) {
      throw invalid(`invalid ${name} "${text}": expected a non-negative integer`);
    }
    return Number(text);
  };
}

/** Collect a repeatable option. */
export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}
