/**
 * Parsers for CLI values: byte sizes, counts, delays, key=value lists (durations: lib/api).
 * @module
 */
import { parseDuration } from "../api/mod.ts";
import { invalid } from "../errdefs/mod.ts";

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

/**
 * A duration flag that must be more than 0, in milliseconds.
 *
 * @example
 * ```ts
 * positiveDuration("--restart-delay", "500ms"); // 500
 * ```
 */
export function positiveDuration(flag: string, text: string): number {
  const ms = parseDuration(text);
  if (ms <= 0) throw invalid(`invalid ${flag} "${text}": must be greater than 0`);
  return ms;
}

/**
 * `--restart-delay` and `--restart-max-delay`, as the host config fields (those given only).
 *
 * @example
 * ```ts
 * restartDelays({ restartDelay: "500ms" }); // { RestartDelay: 500 }
 * ```
 */
export function restartDelays(
  o: Record<string, unknown>,
): { RestartDelay?: number; RestartMaxDelay?: number } {
  return {
    ...o.restartDelay
      ? { RestartDelay: positiveDuration("--restart-delay", String(o.restartDelay)) }
      : {},
    ...o.restartMaxDelay
      ? { RestartMaxDelay: positiveDuration("--restart-max-delay", String(o.restartMaxDelay)) }
      : {},
  };
}

/**
 * Repeated `--filter key=value` flags as the API's `filters` object.
 *
 * @example
 * ```ts
 * parseFilterFlags(["status=exited", "label=a", "label=b"]);
 * // { status: ["exited"], label: ["a", "b"] }
 * ```
 */
export function parseFilterFlags(flags: string[] = []): Record<string, string[]> {
  const filters: Record<string, string[]> = {};
  for (const f of flags) {
    const i = f.indexOf("=");
    if (i < 0) throw invalid(`invalid filter "${f}": expected key=value`);
    (filters[f.slice(0, i)] ??= []).push(f.slice(i + 1));
  }
  return filters;
}

/**
 * `KEY=VALUE` flags (`--label`, `--opt`) as a record; a bare `KEY` is `""`.
 *
 * @example
 * ```ts
 * parseKeyValues(["a=1", "b"]); // { a: "1", b: "" }
 * ```
 */
export function parseKeyValues(list: string[] = []): Record<string, string> {
  const out: Record<string, string> = {};
  for (const kv of list) {
    const i = kv.indexOf("=");
    out[i < 0 ? kv : kv.slice(0, i)] = i < 0 ? "" : kv.slice(i + 1);
  }
  return out;
}

/** Collect a repeatable option. */
export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}
