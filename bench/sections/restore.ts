/**
 * Restore after a daemon crash: containers are created (half running, half
 * exited), the daemon is SIGKILLed, and its restart is timed until the API
 * answers with every container restored.
 * @module
 */
import type { BenchContext, Section, SectionOutput } from "../context.ts";
import {
  containerCount,
  createContainer,
  removeAllContainers,
  runDetached,
  startContainer,
} from "../corral.ts";
import { inPool, range } from "../pool.ts";
import { mib, vmRss } from "../procmem.ts";
import { fmt } from "../stats.ts";

/** Requests in flight while setting containers up and removing them. */
const CONCURRENCY = 6;
/** Poll interval of the daemon's socket while it restores. */
const POLL_MS = 2;

/** Restore time and RSS for each of `--restore` sizes. */
export const restoreSection: Section = {
  name: "restore",
  title: "Restore after a daemon SIGKILL",
  async run(ctx: BenchContext): Promise<SectionOutput> {
    const d = ctx.daemon;
    const rows: string[][] = [];
    const results: { n: number; ms: number; internalMs: number; rss: number }[] = [];
    for (const n of ctx.opts.restoreSizes) {
      await removeAllContainers(d.api, CONCURRENCY);
      const running = Math.ceil(n / 2);
      ctx.log(`restore: creating ${running} running and ${n - running} exited containers`);
      await inPool(range(running), CONCURRENCY, () => runDetached(d.api, ["sleep", "100000"]));
      await inPool(range(n - running), CONCURRENCY, async () => {
        const id = await createContainer(d.api, ["true"]);
        const wait = await d.api.call("POST", `/containers/${id}/wait?condition=next-exit`);
        await startContainer(d.api, id);
        await wait.text();
      });
      const rssBefore = vmRss(d.pid);
      await d.kill9();
      const t0 = performance.now();
      await d.start([], POLL_MS);
      const socketMs = performance.now() - t0;
      const count = await containerCount(d.api);
      const allMs = performance.now() - t0;
      if (count !== n) throw new Error(`restored ${count} containers of ${n}`);
      const runningAfter = (await d.api.json<unknown[]>("GET", "/containers/json")).length;
      if (runningAfter !== running) {
        throw new Error(`${runningAfter} running after restore, expected ${running}`);
      }
      const rssAfter = vmRss(d.pid);
      const internalMs = lastRestoreMs(await d.log());
      results.push({ n, ms: allMs, internalMs, rss: rssAfter });
      rows.push([
        `${n} (${running} running)`,
        fmt(allMs, 0),
        fmt(socketMs, 0),
        fmt(internalMs, 0),
        fmt(mib(rssBefore)),
        fmt(mib(rssAfter)),
      ]);
      await removeAllContainers(d.api, CONCURRENCY);
    }
    const largest = results.at(-1)!;
    return {
      summary: results.map((r) => ({
        figure: `restore time, ${r.n} containers (half running): daemon start → API lists all`,
        corral: `${fmt(r.ms, 0)} ms (restore itself ${fmt(r.internalMs, 0)} ms), RSS after ${
          fmt(mib(r.rss))
        } MiB`,
        peers: "podman has no daemon to restore",
        ratio: "n/a",
        goal: r === largest && r.n >= 1000 ? "≤ 1 s (1000 containers)" : "",
        met: r === largest && r.n >= 1000 ? r.ms <= 1000 : null,
        why: `restoreContainers itself took ${fmt(r.internalMs, 0)} ms; the other ${
          fmt(r.ms - r.internalMs, 0)
        } ms are the daemon process starting (Deno, module loading, set-up) and the first \`ps -a\` answer.`,
      })),
      tables: [{
        title: "daemon SIGKILLed with the containers in place, then started again",
        header: [
          "containers",
          "start → API lists all, ms",
          "start → socket answers, ms",
          "restoreContainers (daemon log), ms",
          "RSS before kill MiB",
          "RSS after restore MiB",
        ],
        rows,
      }],
      notes: [
        '"start" is the spawn of the daemon process, so the figure includes Deno\'s start-up and module loading; the socket is only created once restore has finished.',
        "The exited containers were already Exited before the kill; the running ones are found alive through their exit fifo and (pid, start time).",
      ],
    };
  },
};

/** The duration of the last "restored N containers … in X ms" line of the daemon log. */
function lastRestoreMs(log: string): number {
  const all = [...log.matchAll(/restored \d+ containers .* in (\d+) ms/g)];
  return all.length ? Number(all.at(-1)![1]) : NaN;
}
