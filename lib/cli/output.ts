/**
 * Table and stream output for the CLI.
 * @module
 */
import { decodeFrames, STDERR } from "../api/mod.ts";
import { parseTemplate } from "./template.ts";

/** Print rows as left-aligned columns (docker's table style). */
export function printTable(header: string[], rows: string[][]): void {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (r: string[]) =>
    r.map((v, i) => i === r.length - 1 ? v : v.padEnd(widths[i] + 3)).join("").trimEnd();
  console.log([line(header), ...rows.map(line)].join("\n"));
}

/**
 * Inspect's output: a JSON array, or with `--format` each object as a
 * template renders it (`json`: one compact JSON line each), as the docker CLI.
 */
export function printObjects(objects: unknown[], format?: string): void {
  if (!format) return console.log(JSON.stringify(objects, null, 2));
  const render = format === "json"
    ? (o: unknown) => JSON.stringify(o)
    : parseTemplate(format).render;
  for (const o of objects) console.log(render(o));
}

/**
 * List rows as `--format` shows them: `json` (one line each), `table` with a
 * template (a header made of `headers`, then columns split at tabs and
 * aligned; `table` alone is `defaultTable`), or a template per row. As the
 * docker CLI, a typed `\t` or `\n` (backslash and letter) is a tab or a newline.
 */
export function printRows(
  rows: Record<string, unknown>[],
  format: string,
  headers: Record<string, unknown>,
  defaultTable: string,
): void {
  if (format === "json") return rows.forEach((r) => console.log(JSON.stringify(r)));
  const text = (format.trim() === "table" ? defaultTable : format)
    .replaceAll("\\t", "\t").replaceAll("\\n", "\n");
  const table = text.startsWith("table");
  const t = parseTemplate(table ? text.slice(5).trimStart() : text);
  const lines = rows.map((r) => t.render(r));
  if (!table) return lines.forEach((l) => console.log(l));
  const cells = (l: string) => l.split("\t");
  printTable(cells(t.render(headers)), lines.map(cells));
}

/** Copy a multiplexed stream to this process's stdout and stderr. */
export async function pumpFrames(body: ReadableStream<Uint8Array>): Promise<void> {
  await decodeFrames(body, async (stream, payload) => {
    const out = stream === STDERR ? Deno.stderr : Deno.stdout;
    let off = 0;
    while (off < payload.length) off += await out.write(payload.subarray(off));
  });
}

/** "3 seconds ago" style age of an ISO time or unix seconds. */
export function ago(t: string | number): string {
  const ms = Date.now() - (typeof t === "number" ? t * 1000 : Date.parse(t));
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s} seconds ago`;
  if (s < 3600) return `${Math.round(s / 60)} minutes ago`;
  if (s < 172800) return `${Math.round(s / 3600)} hours ago`;
  return `${Math.round(s / 86400)} days ago`;
}

/** Human size (docker's 4.2MB style). */
export function humanSize(n: number): string {
  const units = ["B", "kB", "MB", "GB", "TB"];
  let i = 0;
  while (n >= 1000 && i < units.length - 1) {
    n /= 1000;
    i++;
  }
  return `${n < 10 && i > 0 ? n.toFixed(2) : n < 100 && i > 0 ? n.toFixed(1) : Math.round(n)}${
    units[i]
  }`;
}
