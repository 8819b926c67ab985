/**
 * The CLI's own start: `corral --version` and `corral ps` against the
 * running daemon, beside a bare `deno run` of a one-line script, all
 * interleaved in the same run.
 * @module
 */
import { join } from "node:path";
import { DENO } from "../../tests/harness.ts";
import type { BenchContext, Section, SectionOutput } from "../context.ts";
import { execOk } from "../exec.ts";
import { LATENCY_HEADER, latencyRow } from "../report.ts";
import { fmt, p50p99, ratio, summarize } from "../stats.ts";

/** Unmeasured rounds first: page cache and Deno's module cache warm up. */
const WARMUP = 3;

/** The goal of issue 16: a CLI call within 1.5× a bare Deno start. */
const GOAL = 1.5;

/** `corral --version` and `corral ps` vs a bare `deno run`. */
export const cliStartSection: Section = {
  name: "cli",
  title: "CLI start",
  async run(ctx: BenchContext): Promise<SectionOutput> {
    const script = join(ctx.dir, "one_line.ts");
    await Deno.writeTextFile(script, 'console.log("1");\n');
    const cli = [...ctx.daemon.program, "-H", ctx.daemon.host];
    const runs: [string, string[]][] = [
      ["bare", [DENO, "run", "-A", "--no-prompt", script]],
      ["version", [...cli, "--version"]],
      ["ps", [...cli, "ps"]],
    ];
    const samples: Record<string, number[]> = { bare: [], version: [], ps: [] };
    for (let i = 0; i < WARMUP; i++) for (const [, argv] of runs) await execOk(argv);
    // Interleaved, so a burst of load elsewhere hits each alike.
    for (let i = 0; i < ctx.opts.iterations; i++) {
      for (const [name, argv] of runs) samples[name].push((await execOk(argv)).ms);
    }
    const s = Object.fromEntries(Object.entries(samples).map(([k, v]) => [k, summarize(v)]));
    const worst = Math.max(s.version.median, s.ps.median);
    return {
      summary: [{
        figure: "CLI start: `corral --version` / `corral ps` (p50 / p99)",
        corral: `${p50p99(s.version)} / ${p50p99(s.ps)}`,
        peers: `bare \`deno run\` of a one-line script ${p50p99(s.bare)}`,
        ratio: `${ratio(s.version.median, s.bare.median)} / ${
          ratio(s.ps.median, s.bare.median)
        } (p50)`,
        goal: `≤ ${GOAL}× a bare Deno start`,
        met: worst <= GOAL * s.bare.median,
        why:
          `beyond Deno's own start the CLI loads its command table, the API client and, for ps, one request (${
            fmt(worst - s.bare.median, 0)
          } ms p50 at most here).`,
      }],
      tables: [{
        title: "CLI start (wall time of the whole command)",
        header: LATENCY_HEADER,
        rows: [
          latencyRow('bare `deno run -A` of `console.log("1")`', s.bare),
          latencyRow("`corral --version`", s.version),
          latencyRow("`corral ps` (against the running daemon)", s.ps),
        ],
      }],
      notes: [
        "corral runs as `./corral` does (`deno run -A --config deno.json main.ts`); the CLI " +
        "loads no npm package and imports the daemon and the runtime modules only on the " +
        "paths that use them.",
      ],
    };
  },
};
