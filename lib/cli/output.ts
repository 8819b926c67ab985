/**
 * Table and stream output for the CLI.
 * @module
 */
import { decodeFrames, STDERR } from "../api/mod.ts";

/** Print rows as left-aligned columns (docker's table style). */
export function printTable(header: string[], rows: string[][]): void {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (r: string[]) =>
    r.map((v, i) => i === r.length - 1 ? v : v.padEnd(widths[i] + 3)).join("").trimEnd();
  console.log([line(header), ...rows.map(line)].join("\n"));
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
