/**
 * Reading a request the Docker way: the JSON body (size-capped), boolean and
 * integer query values, `filters`, time values and the `platform` refusal.
 * @module
 */
import type { PruneFilter } from "../../container/mod.ts";
import { durationMs } from "../duration.ts";
import { errorMessage, invalid } from "../../errdefs/mod.ts";

// Room for a create body whose argv and environment reach execve's 2 MiB (JSON-escaped).
const MAX_BODY = 8 * 1024 * 1024;

/** An error answered with its own status (not one of the error kinds), e.g. 413. */
export class HttpError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

/**
 * The request's JSON object body (`{}` when empty); a body over 8 MiB is a
 * 413, one that is not a JSON object is invalid.
 *
 * @example
 * ```ts
 * declare const req: Request;
 * const { Name } = await readBody<{ Name?: string }>(req);
 * ```
 */
export async function readBody<T>(req: Request): Promise<T> {
  const len = Number(req.headers.get("content-length") ?? "0");
  if (len > MAX_BODY) throw new HttpError(413, `request body too large (max ${MAX_BODY} bytes)`);
  const buf = new Uint8Array(await req.arrayBuffer());
  if (buf.length > MAX_BODY) {
    throw new HttpError(413, `request body too large (max ${MAX_BODY} bytes)`);
  }
  if (buf.length === 0) return {} as T;
  try {
    const v = JSON.parse(new TextDecoder().decode(buf));
    if (v === null || typeof v !== "object") throw new Error("expected a JSON object");
    return v as T;
  } catch (err) {
    throw invalid(`invalid JSON body: ${errorMessage(err)}`);
  }
}

/**
 * A boolean query value as Docker clients send it (`1`, `true`, `True`); anything else is false.
 *
 * @example
 * ```ts
 * boolParam(new URL("http://corral/containers/json?all=1"), "all"); // true
 * ```
 */
export function boolParam(url: URL, name: string): boolean {
  const v = url.searchParams.get(name);
  return v === "1" || v === "true" || v === "True";
}

/**
 * An integer query value, undefined when absent or empty.
 *
 * @example
 * ```ts
 * intParam(new URL("http://corral/containers/web/stop?t=5"), "t"); // 5
 * ```
 */
export function intParam(url: URL, name: string): number | undefined {
  const v = url.searchParams.get(name);
  if (v === null || v === "") return undefined;
  if (!/^-?\d+$/.test(v)) throw invalid(`invalid value for ${name}: "${v}" is not an integer`);
  return Number(v);
}

/** Images are stored for this machine's platform only: `--platform` cannot be honoured. */
export function refusePlatform(url: URL, what: string): void {
  if (url.searchParams.get("platform")) {
    throw invalid(
      `${what} --platform is not supported by corral: images are for this machine only`,
    );
  }
}

/**
 * Parse Docker's `filters` query (`{"k":["v"]}` or `{"k":{"v":true}}`); a key
 * not in `allowed` is refused, naming the ones that are.
 *
 * @example
 * ```ts
 * parseFilters('{"status":{"exited":true}}', ["status", "name"]); // { status: ["exited"] }
 * ```
 */
export function parseFilters(raw: string | null, allowed: string[]): Record<string, string[]> {
  if (!raw) return {};
  let obj: unknown;
  try {
    obj = JSON.parse(raw);
  } catch {
    throw invalid(`invalid filters: ${raw}`);
  }
  const out: Record<string, string[]> = {};
  for (const [k, v] of Object.entries(obj as Record<string, unknown>)) {
    if (!allowed.includes(k)) {
      throw invalid(
        `invalid filter "${k}": use ${allowed.slice(0, -1).join(", ")} or ${allowed.at(-1)}`,
      );
    }
    out[k] = Array.isArray(v) ? v.map(String) : Object.keys(v as object);
  }
  return out;
}

/**
 * A boolean filter (`dangling`): true for `true` or `1`, false for `false` or
 * `0`, undefined when absent; anything else, or both, is invalid.
 *
 * @example
 * ```ts
 * boolFilter(parseFilters('{"dangling":["true"]}', ["dangling"]), "dangling"); // true
 * ```
 */
export function boolFilter(filters: Record<string, string[]>, key: string): boolean | undefined {
  const values = new Set(
    filters[key]?.map((v) => {
      const lower = v.toLowerCase();
      if (lower === "true" || lower === "1") return true;
      if (lower === "false" || lower === "0") return false;
      throw invalid(`invalid filter '${key}=${v}'`);
    }),
  );
  if (values.size > 1) throw invalid(`invalid filter '${key}': conflicting values`);
  return [...values][0];
}

/**
 * Docker's time values, in seconds: unix seconds, RFC 3339, or a duration back from now ("10m").
 *
 * @example
 * ```ts
 * parseTime("1700000000"); // 1700000000
 * parseTime("10m"); // ten minutes ago
 * ```
 */
export function parseTime(v: string | null): number | undefined {
  if (!v) return undefined;
  if (/^\d+(\.\d+)?$/.test(v)) return Number(v);
  const back = durationMs(v);
  if (back !== null) return (Date.now() - back) / 1000;
  const t = Date.parse(v);
  if (Number.isNaN(t)) throw invalid(`invalid time value: ${v}`);
  return t / 1000;
}

/**
 * The `until`, `label` and `label!` filters of a prune, as a {@link PruneFilter}.
 *
 * @example
 * ```ts
 * pruneFilter(parseFilters('{"until":["10m"]}', ["until"])); // { until: <ms ten minutes ago>, ... }
 * ```
 */
export function pruneFilter(f: Record<string, string[]>): PruneFilter {
  if ((f.until?.length ?? 0) > 1) throw invalid("only one until filter is allowed");
  const until = parseTime(f.until?.[0] ?? null);
  return {
    until: until === undefined ? undefined : until * 1000,
    labels: f.label,
    notLabels: f["label!"],
  };
}
