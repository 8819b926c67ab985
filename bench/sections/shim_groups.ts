/**
 * Shim groups: memory per running container at `--density` running with
 * `--shim-group-size` N in {1, 8, 16, 50}, beside conmon in the same run; the
 * measurement the default group size is chosen by.
 * @module
 */
import type { BenchContext, Section, SectionOutput } from "../context.ts";
import { removeAllContainers } from "../corral.ts";
import { sleep } from "../exec.ts";
import { conmonMemory, runSleepers, shimMemory } from "../memory.ts";
import { mib } from "../procmem.ts";
import { fmt, ratio } from "../stats.ts";

/** The group sizes measured. */
export const GROUP_SIZES = [1, 8, 16, 50];

/** Memory per running container for each group size, and conmon's. */
export const shimGroupsSection: Section = {
  name: "groups",
  title: "Shim groups: memory per running container by group size",
  async run(ctx: BenchContext): Promise<SectionOutput> {
    const { daemon: d, podman, opts } = ctx;
    const rows: string[][] = [];
    const perSize = new Map<number, number>();
    for (const size of GROUP_SIZES) {
      const m = await measureGroups(ctx, size, opts.density);
      perSize.set(size, m.pss);
      rows.push(m.row);
    }
    // Groups as large as the many-container count: how the cost falls beyond 50.
    const large = opts.many > opts.density ? await measureGroups(ctx, opts.many, opts.many) : null;
    if (large) rows.push(large.row);
    await d.stop();
    await d.start();

    const conmon = podman
      ? (await conmonMemory(podman, opts.density, opts.settle * 1000)).pss
      : null;
    const met = (size: number) => conmon !== null && perSize.get(size)! <= conmon;
    const smallestMet = GROUP_SIZES.find(met);
    return {
      summary: [{
        figure: `memory per running container by shim group size N (${opts.density} running; PSS)`,
        corral: GROUP_SIZES.map((n) => `N=${n}: ${fmt(mib(perSize.get(n)!), 2)} MiB`).join(", "),
        peers: conmon !== null ? `conmon ${fmt(mib(conmon), 2)} MiB` : "podman not run",
        ratio: conmon !== null
          ? GROUP_SIZES.map((n) => `N=${n}: ${ratio(perSize.get(n)!, conmon!)}`).join(", ")
          : "n/a",
        goal: "≤ 1× conmon",
        met: conmon === null ? null : smallestMet !== undefined,
        why: "a group shim is one Deno process (~10 MiB anonymous whatever it serves): " +
          "per container it costs that divided by the containers it serves.",
      }],
      tables: [{
        title: `group shims at ${opts.density} running (KiB from /proc/PID/smaps_rollup)`,
        header: [
          "group size N",
          "shims",
          "PSS per container MiB",
          "of which anonymous MiB",
          "PSS per shim MiB",
        ],
        rows,
      }],
      notes: [
        ...(large
          ? [
            `With N=${opts.many} and ${opts.many} running: ${
              fmt(mib(large.pss), 2)
            } MiB per container${
              conmon !== null ? ` (${ratio(large.pss, conmon)} conmon)` : ""
            }: a shim's own cost is shared by more containers.`,
          ]
          : []),
        `Smallest N within conmon's PSS here: ${smallestMet ?? "none"}. A group shim's crash ` +
        "ends every container it serves (each with exit code 137, then its restart policy): " +
        "N is also the blast radius.",
      ],
    };
  },
};

/**
 * A daemon with group size `size` running `count` sleeping containers: their
 * shims' PSS per container, and its table row.
 */
async function measureGroups(
  ctx: BenchContext,
  size: number,
  count: number,
): Promise<{ pss: number; row: string[] }> {
  const { daemon: d, opts } = ctx;
  await removeAllContainers(d.api);
  await d.stop();
  await d.start(["--shim-group-size", String(size)]);
  const ids = await runSleepers(d, count);
  ctx.log(`groups: N=${size}, ${count} running, ${opts.settle} s to settle`);
  await sleep(opts.settle * 1000);
  const { shims, perContainer, perShim } = await shimMemory(d, ids);
  const pss = perContainer.pss;
  await removeAllContainers(d.api);
  return {
    pss,
    row: [
      `${size} (${count} running)`,
      String(shims.length),
      fmt(mib(pss), 2),
      fmt(mib(perContainer.pssAnon), 2),
      fmt(mib(perShim.pss), 1),
    ],
  };
}
