/**
 * Density: the memory each running container costs (its shim, plus what the
 * daemon grows by), beside conmon under podman; the daemon's RSS idle and
 * with many running containers.
 * @module
 */
import type { BenchContext, Section, SectionOutput } from "../context.ts";
import { removeAllContainers } from "../corral.ts";
import { sleep } from "../exec.ts";
import { conmonMemory, runSleepers, shimMemory } from "../memory.ts";
import { mib, smapsRollup, vmRss } from "../procmem.ts";
import { fmt, ratio } from "../stats.ts";

/** Time for process start-up garbage to settle before memory is read. */
const SETTLE_MS = 1000;

/** Memory per running container and the daemon's RSS. */
export const densitySection: Section = {
  name: "density",
  title: "Memory per running container, daemon RSS",
  async run(ctx: BenchContext): Promise<SectionOutput> {
    const { daemon: d, podman, opts } = ctx;
    await removeAllContainers(d.api);
    // Idle means a daemon that has done nothing yet: the sections before grew its heap.
    await d.stop();
    await d.start();
    await sleep(opts.settle * 1000);
    const idleRss = vmRss(d.pid);
    const idleRollup = smapsRollup(d.pid);
    const ids = await runSleepers(d, opts.density);
    // A fresh shim carries its start-up garbage until V8 collects it, about half a minute on.
    ctx.log(`density: ${opts.density} running, ${opts.settle} s to settle`);
    await sleep(opts.settle * 1000);
    // A group shim serves several containers: each shim counts once, shared by its containers.
    const { shims, perContainer: shim } = await shimMemory(d, ids);
    const shimPss = shim.pss, shimAnon = shim.pssAnon, shimRss = shim.rss;
    const shimCommand = Deno.readTextFileSync(`/proc/${shims[0]}/cmdline`).split("\0")
      .join(" ").replace(/ shim --.*/, " shim …");
    const rssWithDensity = vmRss(d.pid);
    const daemonPerContainer = (rssWithDensity - idleRss) / opts.density;
    const more = Math.max(0, opts.many - opts.density);
    await runSleepers(d, more);
    await sleep(SETTLE_MS);
    const rssWithMany = vmRss(d.pid);
    await removeAllContainers(d.api);

    const conmon = podman ? await conmonMemory(podman, opts.density, opts.settle * 1000) : null;
    const perContainer = shimPss + Math.max(0, daemonPerContainer);
    return {
      summary: [
        {
          figure: `memory per running container (${opts.density} running; PSS)`,
          corral: `${fmt(mib(perContainer))} MiB (shim ${fmt(mib(shimPss))} + daemon ${
            fmt(mib(daemonPerContainer), 2)
          })`,
          peers: conmon ? `conmon ${fmt(mib(conmon.pss))} MiB` : "podman not run",
          ratio: conmon ? ratio(perContainer, conmon.pss) : "n/a",
          goal: "≤ 1× conmon",
          met: conmon ? perContainer <= conmon.pss : null,
          why:
            `${shims.length} Deno shim(s) serve the ${ids.length} containers, and an idle Deno process alone holds about 10 MiB of anonymous memory (see "Shim footprint", "Shim groups"); conmon is a small C program.`,
        },
        {
          figure: `daemon RSS idle / with ${opts.many} running containers`,
          corral: `${fmt(mib(idleRss))} / ${fmt(mib(rssWithMany))} MiB`,
          peers: "podman has no daemon",
          ratio: "n/a",
          goal: "≤ 60 MiB / ≤ 120 MiB",
          met: mib(idleRss) <= 60 && mib(rssWithMany) <= 120,
          why:
            `the idle daemon is a Deno process with corral's modules and their npm dependencies loaded: ${
              fmt(mib(idleRollup.pssAnon))
            } MiB of its RSS is anonymous (V8 heap, node compat), the rest the Deno binary's own pages (${
              fmt(mib(idleRollup.rss - idleRollup.pssAnon))
            } MiB, shared with the shims).`,
        },
      ],
      tables: [{
        title: `per running container, mean over ${opts.density} (KiB from /proc/PID/smaps_rollup)`,
        header: ["what", "PSS MiB", "of which anonymous MiB", "RSS MiB"],
        rows: [
          [
            `corral shims (${shims.length} for ${ids.length} containers, each counted once)`,
            fmt(mib(shimPss), 2),
            fmt(mib(shimAnon), 2),
            fmt(mib(shimRss), 2),
          ],
          ["corral daemon growth per container (VmRSS)", fmt(mib(daemonPerContainer), 3), "", ""],
          ...(conmon
            ? [[
              "conmon (podman's per-container monitor)",
              fmt(mib(conmon.pss), 2),
              fmt(mib(conmon.pssAnon), 2),
              fmt(mib(conmon.rss), 2),
            ]]
            : []),
        ],
      }, {
        title: "corral daemon VmRSS",
        header: ["containers running", "VmRSS MiB"],
        rows: [
          ["0 (idle: freshly started)", fmt(mib(idleRss))],
          [String(opts.density), fmt(mib(rssWithDensity))],
          [String(Math.max(opts.many, opts.density)), fmt(mib(rssWithMany))],
        ],
      }],
      notes: [
        `The engine foundation's interim goal, shim PSS ≤ 12 MiB per container: ${
          mib(shimPss) <= 12 ? "met" : "not met"
        } (${fmt(mib(shimPss), 2)} MiB).`,
        `The daemon starts each shim as \`${shimCommand}\`.`,
        "PSS shares a file page between the processes that map it, so the Deno binary's pages count once across all shims (and the daemon): the anonymous part is what each further container really adds.",
        "runc leaves no process behind once a container runs (its init execs the container's command), so the runtime residue is the shim plus the daemon's growth.",
      ],
    };
  },
};
