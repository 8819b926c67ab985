/**
 * The result model of the benchmark sections and its Markdown rendering
 * (BENCHMARKS.md).
 * @module
 */
import type { MachineInfo } from "./machine.ts";
import { fmt, type Summary } from "./stats.ts";

/** One line of the summary table: a figure, corral's value, its peers', the goal. */
export interface SummaryRow {
  figure: string;
  corral: string;
  peers: string;
  ratio: string;
  goal: string;
  /** Whether the goal is met; null when it cannot be judged in this run. */
  met: boolean | null;
  /** Why a goal is not met, where the run shows it (one line). */
  why?: string;
}

/** A detail table. */
export interface Table {
  title: string;
  header: string[];
  rows: string[][];
}

/** What a benchmark section produced. */
export interface SectionResult {
  name: string;
  title: string;
  summary: SummaryRow[];
  tables: Table[];
  notes: string[];
  /** Set when the section failed; the rest of the run goes on. */
  error?: string;
  seconds: number;
  /** The 1-minute load average when the section started (others may share the machine). */
  loadBefore: number;
}

/** How the run was made. */
export interface RunInfo {
  command: string;
  seconds: number;
  loadAtEnd: number;
}

/**
 * Render a table as Markdown.
 *
 * @example
 * ```ts
 * markdownTable(["a", "b"], [["1", "2"]]); // "| a | b |\n| --- | --- |\n| 1 | 2 |"
 * ```
 */
export function markdownTable(header: string[], rows: string[][]): string {
  const line = (cells: string[]) => `| ${cells.map((c) => c.replaceAll("|", "\\|")).join(" | ")} |`;
  return [line(header), line(header.map(() => "---")), ...rows.map(line)].join("\n");
}

/** The columns of the summary table. */
export const SUMMARY_HEADER = ["figure", "corral", "peers in the same run", "ratio", "goal", "met"];

/**
 * The whole BENCHMARKS.md.
 *
 * @example
 * ```ts
 * const md = renderReport(await machineInfo(), run, sections);
 * ```
 */
export function renderReport(m: MachineInfo, run: RunInfo, sections: SectionResult[]): string {
  const out: string[] = [];
  out.push("# Benchmarks");
  out.push("");
  out.push(
    `Written by \`${run.command}\` on ${m.date} (${Math.round(run.seconds)} s). ` +
      "Every figure of a row is measured in the same run; medians and p99 (nearest rank) in " +
      "milliseconds unless a unit is given.",
  );
  out.push("");
  out.push("## Machine");
  out.push("");
  out.push(`- ${m.cpu}, ${m.nproc} CPUs, ${m.memoryGiB.toFixed(1)} GiB memory`);
  out.push(`- ${m.os}, kernel ${m.kernel}`);
  out.push(
    `- load average (1 min): ${m.loadAtStart.toFixed(2)} at the start, ${
      run.loadAtEnd.toFixed(2)
    } at the end`,
  );
  out.push(
    `- versions: ${Object.entries(m.versions).map(([k, v]) => `${k} \`${v}\``).join(", ")}`,
  );
  out.push("");
  out.push("## Summary");
  out.push("");
  const rows = sections.flatMap((s) =>
    s.error
      ? [[s.title, `failed: ${s.error.split("\n")[0]}`, "", "", "", "no"]]
      : s.summary.map((r) => [
        r.figure,
        r.corral,
        r.peers,
        r.ratio,
        r.goal,
        r.met === null ? "n/a" : r.met ? "yes" : "no",
      ])
  );
  out.push(markdownTable(SUMMARY_HEADER, rows));
  const unmet = sections.flatMap((s) => s.summary.filter((r) => r.met === false));
  if (unmet.length) {
    out.push("");
    out.push("Goals not met, and why:");
    out.push("");
    for (const r of unmet) out.push(`- ${r.figure}: ${r.why ?? "no cause measured in this run"}`);
  }
  for (const s of sections) {
    out.push("");
    out.push(`## ${s.title}`);
    out.push("");
    if (s.error) {
      out.push("Failed:");
      out.push("");
      out.push("```");
      out.push(s.error);
      out.push("```");
    }
    for (const t of s.tables) {
      out.push(`**${t.title}**`);
      out.push("");
      out.push(markdownTable(t.header, t.rows));
      out.push("");
    }
    for (const n of s.notes) out.push(`- ${n}`);
    if (s.notes.length) out.push("");
    out.push(
      `_(section took ${Math.round(s.seconds)} s; load average ${
        s.loadBefore.toFixed(2)
      } when it started)_`,
    );
  }
  out.push("");
  return out.join("\n");
}

/** Columns of a latency table (milliseconds). */
export const LATENCY_HEADER = ["what", "n", "median ms", "p99 ms", "min ms", "max ms"];

/**
 * A row of a latency table.
 *
 * @example
 * ```ts
 * latencyRow("corral", summarize([1, 2, 3])); // ["corral", "3", "2.0", "3.0", "1.0", "3.0"]
 * ```
 */
export function latencyRow(what: string, s: Summary): string[] {
  return [what, String(s.n), fmt(s.median), fmt(s.p99), fmt(s.min), fmt(s.max)];
}
