/**
 * Churn: many run/rm cycles, then what is left behind: mounts, cgroup dirs,
 * runc state, fds of the daemon, and how much its RSS grew.
 * @module
 */
import { fdCount } from "../../tests/harness.ts";
import type { BenchContext, Section, SectionOutput } from "../context.ts";
import { containerCount, createContainer, removeForce, startContainer } from "../corral.ts";
import { sleep } from "../exec.ts";
import { mib, vmRss } from "../procmem.ts";
import { fmt } from "../stats.ts";

/** Cycles before the baseline is taken: the daemon's caches and JIT warm up first. */
const WARMUP = 20;

/** One run/rm cycle through the API (create, start, wait for the exit, remove). */
async function cycle(ctx: BenchContext): Promise<void> {
  const api = ctx.daemon.api;
  const id = await createContainer(api, ["true"]);
  const wait = await api.call("POST", `/containers/${id}/wait?condition=next-exit`);
  await startContainer(api, id);
  await wait.text();
  await removeForce(api, id);
}

/** Leaks and RSS growth over `--churn` cycles. */
export const churnSection: Section = {
  name: "churn",
  title: "Churn: run/rm cycles",
  async run(ctx: BenchContext): Promise<SectionOutput> {
    const d = ctx.daemon;
    const n = ctx.opts.churn;
    const failures: string[] = [];
    // A failed cycle is a finding, not the end of the run: count it and go on.
    const tryCycle = () => cycle(ctx).catch((err) => failures.push((err as Error).message));
    for (let i = 0; i < Math.min(WARMUP, n); i++) await tryCycle();
    await sleep(500);
    const before = { rss: vmRss(d.pid), fds: fdCount(d.pid), leaks: d.leaks().length };
    const warmupFailures = failures.length;
    const t0 = performance.now();
    for (let i = 0; i < n; i++) {
      await tryCycle();
      if ((i + 1) % 200 === 0) ctx.log(`churn: ${i + 1}/${n}`);
    }
    const seconds = (performance.now() - t0) / 1000;
    await sleep(500);
    const leftovers = await containerCount(d.api);
    const leaks = d.leaks();
    const after = { rss: vmRss(d.pid), fds: fdCount(d.pid) };
    const count = (kind: string) => leaks.filter((l) => l.startsWith(kind)).length;
    const growth = (after.rss - before.rss) / before.rss * 100;
    const fdLeak = after.fds - before.fds;
    const failed = failures.length - warmupFailures;
    return {
      summary: [{
        figure: `churn: ${n} run/rm cycles: leaked mounts, cgroups, fds; daemon RSS growth`,
        corral: `${count("mount")}, ${count("cgroup")}, ${fdLeak}; ${fmt(growth)} %` +
          (failed ? ` (${failed} cycles failed)` : ""),
        peers: "",
        ratio: "n/a",
        goal: "0, 0, 0, ≤ 10 %",
        met: count("mount") === 0 && count("cgroup") === 0 && fdLeak <= 0 && growth <= 10 &&
          leaks.length === 0 && failures.length === 0 && leftovers === 0,
      }],
      tables: [{
        title: `${n} cycles of create + start + wait + rm of \`true\` through the API (${
          fmt(seconds)
        } s, ${fmt(seconds * 1000 / n)} ms a cycle)`,
        header: ["what", "before", "after"],
        rows: [
          ["mounts under the daemon's dirs", "", String(count("mount"))],
          ["cgroup dirs under its parent", "", String(count("cgroup"))],
          ["runc state dirs", "", String(count("runc state"))],
          ["leftover processes", "", String(count("process"))],
          ["daemon fds", String(before.fds), String(after.fds)],
          ["daemon VmRSS MiB", fmt(mib(before.rss)), fmt(mib(after.rss))],
          [
            "leaks found by the test harness (all kinds)",
            String(before.leaks),
            String(leaks.length),
          ],
          ["failed cycles (warm-up / measured)", "", `${warmupFailures} / ${failed}`],
          ["containers left in the daemon", "", String(leftovers)],
        ],
      }],
      notes: [
        `The baseline is taken after ${WARMUP} warm-up cycles.`,
        ...leaks.slice(0, 5).map((l) => `leak: ${l}`),
        ...[...new Set(failures)].slice(0, 3).map((f) => `failed cycle: ${f}`),
      ],
    };
  },
};
