/**
 * Summaries of timing samples: median and p99 (nearest rank), and ratios.
 * @module
 */

/** A summary of samples (same unit as the samples). */
export interface Summary {
  n: number;
  median: number;
  p99: number;
  min: number;
  max: number;
}

/**
 * Summarize samples; an empty list gives NaN figures (shown as "n/a").
 *
 * @example
 * ```ts
 * summarize([3, 1, 2]).median; // 2
 * ```
 */
export function summarize(samples: number[]): Summary {
  const s = [...samples].sort((a, b) => a - b);
  if (s.length === 0) return { n: 0, median: NaN, p99: NaN, min: NaN, max: NaN };
  const mid = s.length >> 1;
  const median = s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
  return { n: s.length, median, p99: percentile(s, 99), min: s[0], max: s[s.length - 1] };
}

/**
 * The p-th percentile of sorted samples, nearest rank (so p99 of fewer than
 * 100 samples is the maximum).
 *
 * @example
 * ```ts
 * percentile([1, 2, 3, 4], 50); // 2
 * ```
 */
export function percentile(sorted: number[], p: number): number {
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[rank - 1];
}

/**
 * The mean of samples (NaN for none).
 *
 * @example
 * ```ts
 * mean([1, 2, 3]); // 2
 * ```
 */
export function mean(samples: number[]): number {
  return samples.length ? samples.reduce((a, b) => a + b, 0) / samples.length : NaN;
}

/**
 * Format a number with `digits` decimals, "n/a" when it is not finite.
 *
 * @example
 * ```ts
 * fmt(1.234, 1); // "1.2"
 * ```
 */
export function fmt(x: number, digits = 1): string {
  return Number.isFinite(x) ? x.toFixed(digits) : "n/a";
}

/**
 * "a / b" as a ratio like "0.42×", or "n/a" when either side is missing.
 *
 * @example
 * ```ts
 * ratio(50, 25); // "2.00×"
 * ```
 */
export function ratio(a: number, b: number): string {
  return Number.isFinite(a) && Number.isFinite(b) && b > 0 ? `${(a / b).toFixed(2)}×` : "n/a";
}

/**
 * "p50 / p99 ms" of a summary.
 *
 * @example
 * ```ts
 * p50p99(summarize([1, 2, 3])); // "2.0 / 3.0 ms"
 * ```
 */
export function p50p99(s: Summary): string {
  return `${fmt(s.median)} / ${fmt(s.p99)} ms`;
}
