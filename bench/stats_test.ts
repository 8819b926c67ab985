import assert from "node:assert/strict";
import { fmt, mean, percentile, ratio, summarize } from "./stats.ts";
import { parseOptions } from "./run.ts";

Deno.test("summarize: median of odd and even counts, p99 by nearest rank", () => {
  assert.deepEqual(summarize([3, 1, 2]), { n: 3, median: 2, p99: 3, min: 1, max: 3 });
  assert.equal(summarize([4, 1, 3, 2]).median, 2.5);
  const hundred = Array.from({ length: 100 }, (_, i) => i + 1);
  assert.equal(percentile(hundred, 99), 99);
  assert.equal(percentile(hundred, 50), 50);
  assert.ok(Number.isNaN(summarize([]).median));
});

Deno.test("mean, fmt and ratio show missing figures as n/a", () => {
  assert.equal(mean([1, 2, 3]), 2);
  assert.equal(fmt(NaN), "n/a");
  assert.equal(fmt(1.25, 1), "1.3");
  assert.equal(ratio(50, 25), "2.00×");
  assert.equal(ratio(1, 0), "n/a");
});

Deno.test("parseOptions: defaults, counts and contradictions", () => {
  const d = parseOptions([]);
  assert.equal(d.iterations, 50);
  assert.deepEqual(d.restoreSizes, [200, 1000]);
  assert.equal(d.podman, "auto");
  assert.equal(parseOptions(["--peers"]).podman, "install");
  assert.deepEqual(parseOptions(["--only", "exit,churn"]).only, ["exit", "churn"]);
  assert.throws(() => parseOptions(["--iterations", "0"]), /positive integer/);
  assert.throws(() => parseOptions(["--only", "nope"]), /unknown section/);
  assert.throws(() => parseOptions(["--peers", "--no-podman"]), /contradict/);
  assert.throws(() => parseOptions(["--bogus"]));
});
