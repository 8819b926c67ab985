/**
 * A small run of the benchmark script (bench/run.ts), so it cannot rot: every
 * section runs with tiny counts and the report keeps its shape. The figures
 * themselves are not judged here (that is what BENCHMARKS.md is for).
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { SECTIONS } from "../bench/run.ts";
import { SUMMARY_HEADER } from "../bench/report.ts";
import { DENO, REPO, RUN_ARGS } from "./harness.ts";

/** The cells of a Markdown table row. */
function cells(line: string): string[] {
  return line.replace(/^\|\s?/, "").replace(/\s?\|$/, "").split(/\s\|\s/);
}

Deno.test("the benchmark script runs every section and writes the report", async () => {
  const dir = await Deno.makeTempDir({ prefix: "corral-bench-smoke-" });
  try {
    const out = join(dir, "BENCHMARKS.md");
    const run = await new Deno.Command(DENO, {
      args: [
        ...RUN_ARGS,
        join(REPO, "bench/run.ts"),
        "--iterations",
        "2",
        "--density",
        "3",
        "--many",
        "3",
        "--restore",
        "3",
        "--churn",
        "3",
        "--shim-copies",
        "1",
        "--settle",
        "1",
        "--no-podman",
        "--out",
        out,
      ],
      env: { RUST_BACKTRACE: "0" },
      stdin: "null",
    }).output();
    const stderr = new TextDecoder().decode(run.stderr);
    assert.equal(run.code, 0, `bench/run.ts exited ${run.code}:\n${stderr}`);
    const md = await Deno.readTextFile(out);
    for (const heading of ["# Benchmarks", "## Machine", "## Summary"]) {
      assert.ok(md.includes(`\n${heading}\n`) || md.startsWith(`${heading}\n`), heading);
    }
    for (const s of SECTIONS) assert.ok(md.includes(`\n## ${s.title}\n`), `section "${s.title}"`);
    assert.doesNotMatch(md, /failed:/);
    assert.match(md, /- versions: deno `[^`]+`, .*runc `[^`]+`/);

    const lines = md.split("\n");
    const head = lines.indexOf(`| ${SUMMARY_HEADER.join(" | ")} |`);
    assert.ok(head > 0, "the summary table's header");
    const rows = lines.slice(head + 2).filter((_, i, all) =>
      all.slice(0, i + 1).every((l) => l.startsWith("|"))
    );
    // The figures the issues ask for, each a row: start-up, exit, restart, memory, RSS, restore,
    // churn, networking's cost, published-port speed and churn, and a pull and a re-pull.
    for (
      const figure of [
        "run --rm busybox true",
        "run -d` to running",
        "exit detection",
        "restart latency",
        "memory per running container",
        "daemon RSS",
        "restore time",
        "churn:",
        "networking's cost",
        "published port: connections/s",
        "published port: throughput",
        "with -p: network objects left",
        "image (random content, gzip) from a local registry",
        "re-pull of the same image, every layer present",
      ]
    ) assert.ok(rows.some((r) => r.includes(figure)), `a summary row for ${figure}`);
    for (const row of rows) {
      const c = cells(row);
      assert.equal(c.length, SUMMARY_HEADER.length, row);
      assert.match(c[1], /\d/, `corral's figure in: ${row}`);
      assert.match(c[5], /^(yes|no|n\/a)$/, row);
    }
    // The shim comparison measured every variant and each kept its duties.
    const shim = md.slice(md.indexOf("## Shim footprint"));
    const variants = shim.split("\n").filter((l) =>
      /^\| (whole program|shim entry|bundle)/.test(l)
    );
    assert.ok(variants.length >= 9, shim);
    for (const v of variants) assert.equal(cells(v)[4], "yes", v);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
