/**
 * Docker's JSON progress messages, as `docker pull` and `docker push` draw
 * them: a status per layer id (Waiting, Downloading with current/total, …),
 * and lines of their own (the digest, the final status).
 * @module
 */

/** One message of the progress stream. */
export interface ProgressMessage {
  status?: string;
  /** The layer (12 hex of its blob digest) or the tag the status is about. */
  id?: string;
  progressDetail?: { current?: number; total?: number };
  /** The bar as Docker renders it, for clients that print it as is. */
  progress?: string;
  /** Push's result: tag, digest and manifest size. */
  aux?: Record<string, unknown>;
  error?: string;
  errorDetail?: { message: string };
}

/** Where progress goes. */
export type ProgressSink = (msg: ProgressMessage) => void;

/**
 * The short id Docker shows for a blob: 12 hex of its digest.
 *
 * @example
 * ```ts
 * shortId(`sha256:${"ab".repeat(32)}`); // "abababababab"
 * ```
 */
export function shortId(digest: string): string {
  return digest.replace(/^sha256:/, "").slice(0, 12);
}

/**
 * A layer status without numbers.
 *
 * @example
 * ```ts
 * layerStatus("abababababab", "Pull complete");
 * ```
 */
export function layerStatus(id: string, status: string): ProgressMessage {
  return { status, progressDetail: {}, id };
}

/**
 * A layer status with bytes done of total, and Docker's bar.
 *
 * @example
 * ```ts
 * layerProgress("abababababab", "Downloading", 512, 1024).progress; // "[=========================>                         ]     512B/1.024kB"
 * ```
 */
export function layerProgress(
  id: string,
  status: string,
  current: number,
  total: number,
): ProgressMessage {
  const width = 50;
  const filled = total > 0 ? Math.min(width, Math.floor(width * current / total)) : 0;
  const bar = "=".repeat(Math.max(0, filled - 1)) + (filled > 0 ? ">" : "") +
    " ".repeat(width - filled);
  const sizes = `${humanBytes(current)}/${humanBytes(total)}`;
  return {
    status,
    progressDetail: { current, total },
    progress: `[${bar}] ${sizes.padStart(18)}`,
    id,
  };
}

/**
 * Sizes as Docker's progress writes them (decimal units).
 *
 * @example
 * ```ts
 * humanBytes(1_500_000); // "1.5MB"
 * ```
 */
export function humanBytes(n: number): string {
  const units = ["B", "kB", "MB", "GB", "TB"];
  let i = 0;
  while (n >= 1000 && i < units.length - 1) [n, i] = [n / 1000, i + 1];
  return i === 0 ? `${n}B` : `${Number(n.toPrecision(4))}${units[i]}`;
}

/**
 * The error line that ends a stream once it has begun.
 *
 * @example
 * ```ts
 * errorLine("digest mismatch"); // { error, errorDetail: { message } }
 * ```
 */
export function errorLine(message: string): ProgressMessage {
  return { error: message, errorDetail: { message } };
}

/**
 * Call `fn` at most every `ms` (and always for the last call through `flush`).
 *
 * @example
 * ```ts
 * const t = throttle((n: number) => console.log(n), 100);
 * t(1); t(2); t.flush();
 * ```
 */
export function throttle<T>(
  fn: (v: T) => void,
  ms: number,
): ((v: T) => void) & { flush(): void } {
  let last = 0;
  let pending: { v: T } | null = null;
  const call = (v: T) => {
    const now = Date.now();
    if (now - last >= ms) {
      last = now;
      pending = null;
      fn(v);
    } else {
      pending = { v };
    }
  };
  return Object.assign(call, {
    flush() {
      if (pending) fn(pending.v);
      pending = null;
    },
  });
}
