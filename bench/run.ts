/**
 * corral's benchmarks side by side with bare runc and podman, written to
 * BENCHMARKS.md. Starts its own daemon (own root, state dir, socket and cgroup
 * parent), so it runs beside anything else on the machine.
 *
 * ```sh
 * ./node_modules/deno/deno run -A bench/run.ts [--peers] [--iterations N] [--out BENCHMARKS.md]
 * ```
 *
 * `--peers` installs podman from Debian when it is missing; without it podman
 * is measured only if installed (`--no-podman` skips it). Counts: `--density`
 * (running containers for memory per container, 50), `--many` (daemon RSS,
 * 200), `--restore` (comma-separated sizes, 200,1000), `--churn` (run/rm
 * cycles, 1000), `--shim-copies` (shims per footprint variant, 10), `--settle`
 * (seconds before the memory of fresh shims is read, 45: V8 collects its
 * start-up garbage only after about half a minute), `--shim-group-size`
 * (the daemon's, for every section but "groups"; default the daemon's own); `--only`
 * runs some sections (cli, run-rm, run-d, exit, restart, density, groups, restore,
 * churn, shim, network, pull).
 * @module
 */
import { join } from "node:path";
import { parseArgs } from "node:util";
import { ImageStore } from "../lib/image/mod.ts";
import { mountsUnder } from "../lib/sys/mod.ts";
import { TestDaemon } from "../tests/harness.ts";
import type { BenchContext, BenchOptions, Section } from "./context.ts";
import { exec } from "./exec.ts";
import { loadAverage, machineInfo } from "./machine.ts";
import { Podman } from "./podman.ts";
import { renderReport, type SectionResult } from "./report.ts";
import { RuncPeer } from "./runc.ts";
import { churnSection } from "./sections/churn.ts";
import { cliStartSection } from "./sections/cli_start.ts";
import { densitySection } from "./sections/density.ts";
import { exitSection, restartSection } from "./sections/exit.ts";
import { networkSection } from "./sections/network.ts";
import { pullSection } from "./sections/pull.ts";
import { restoreSection } from "./sections/restore.ts";
import { shimFootprintSection } from "./sections/shim_footprint.ts";
import { shimGroupsSection } from "./sections/shim_groups.ts";
import { runDetachedSection, runRmSection } from "./sections/startup.ts";

/** Every section, in the order of the report. */
export const SECTIONS: Section[] = [
  cliStartSection,
  runRmSection,
  runDetachedSection,
  exitSection,
  restartSection,
  densitySection,
  shimGroupsSection,
  restoreSection,
  churnSection,
  shimFootprintSection,
  networkSection,
  pullSection,
];

const REPO = new URL("..", import.meta.url).pathname.replace(/\/$/, "");

/**
 * Parse the flags (see the module doc); throws on a bad one.
 *
 * @example
 * ```ts
 * parseOptions(["--iterations", "5", "--no-podman"]).iterations; // 5
 * ```
 */
export function parseOptions(args: string[]): BenchOptions {
  const { values } = parseArgs({
    args,
    options: {
      iterations: { type: "string", default: "50" },
      density: { type: "string", default: "50" },
      many: { type: "string", default: "200" },
      restore: { type: "string", default: "200,1000" },
      churn: { type: "string", default: "1000" },
      "shim-copies": { type: "string", default: "10" },
      "shim-group-size": { type: "string" },
      settle: { type: "string", default: "45" },
      peers: { type: "boolean", default: false },
      "no-podman": { type: "boolean", default: false },
      only: { type: "string" },
      out: { type: "string", default: join(REPO, "BENCHMARKS.md") },
    },
    strict: true,
  });
  const count = (name: string, v: string) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 1) {
      throw new Error(`--${name} wants a positive integer, got "${v}"`);
    }
    return n;
  };
  const only = values.only ? values.only.split(",").map((s) => s.trim()) : null;
  for (const name of only ?? []) {
    if (!SECTIONS.some((s) => s.name === name)) {
      throw new Error(
        `--only: unknown section "${name}" (${SECTIONS.map((s) => s.name).join(", ")})`,
      );
    }
  }
  if (values.peers && values["no-podman"]) {
    throw new Error("--peers and --no-podman contradict each other");
  }
  return {
    iterations: count("iterations", values.iterations),
    density: count("density", values.density),
    many: count("many", values.many),
    restoreSizes: values.restore.split(",").map((v) => count("restore", v.trim())),
    churn: count("churn", values.churn),
    shimCopies: count("shim-copies", values["shim-copies"]),
    settle: count("settle", values.settle),
    shimGroupSize: values["shim-group-size"] === undefined
      ? null
      : count("shim-group-size", values["shim-group-size"]),
    podman: values["no-podman"] ? "off" : values.peers ? "install" : "auto",
    only,
    out: values.out,
  };
}

function log(msg: string): void {
  console.error(`[bench ${new Date().toISOString().slice(11, 19)}] ${msg}`);
}

/** Run the benchmarks; returns the process exit code (1 if a section failed). */
export async function main(args: string[]): Promise<number> {
  let opts: BenchOptions;
  try {
    opts = parseOptions(args);
  } catch (err) {
    console.error(`bench: ${(err as Error).message}`);
    return 2;
  }
  const started = performance.now();
  const machine = await machineInfo();
  const dirs: string[] = [];
  const tempDir = async (prefix: string) => {
    const d = await Deno.makeTempDir({ prefix });
    dirs.push(d);
    return d;
  };
  let podman: Podman | null = null;
  if (opts.podman === "install") await Podman.install(log);
  if (opts.podman !== "off" && await Podman.installed()) {
    podman = new Podman(await tempDir("corral-bench-podman-"));
    machine.versions.podman ??= (await exec(["podman", "--version"])).stdout.trim();
  }
  const scratch = await tempDir("corral-bench-");
  const daemon = new TestDaemon(
    await tempDir("corral-bench-daemon-"),
    opts.shimGroupSize === null ? [] : ["--shim-group-size", String(opts.shimGroupSize)],
  );
  const runc = new RuncPeer(await tempDir("corral-bench-runc-"));
  const results: SectionResult[] = [];
  const cleanupProblems: string[] = [];
  let setupError: unknown = null;
  try {
    log(`starting corral's daemon in ${daemon.dir}`);
    await daemon.start();
    machine.versions.corral =
      (await daemon.api.json<{ Version: string }>("GET", "/version")).Version;
    const images = new ImageStore(join(scratch, "images"));
    await images.load();
    const rootfs = images.layerDirs(await images.ensureBusybox())[0];
    await runc.prepare(rootfs, ["true"]);
    if (podman) {
      log("importing the busybox rootfs into podman");
      await podman.importRootfs(rootfs);
    }
    const ctx: BenchContext = { opts, daemon, podman, runc, dir: scratch, rootfs, log };
    for (const section of SECTIONS) {
      if (opts.only && !opts.only.includes(section.name)) continue;
      log(`section ${section.name}: ${section.title}`);
      const t0 = performance.now();
      const base = { name: section.name, title: section.title, loadBefore: loadAverage() };
      try {
        const out = await section.run(ctx);
        results.push({ ...base, ...out, seconds: (performance.now() - t0) / 1000 });
      } catch (err) {
        let error = err instanceof Error ? err.message : String(err);
        if (!isRunning(daemon.proc?.pid)) {
          const tail = (await daemon.log()).trimEnd().split("\n").slice(-15).join("\n");
          error += `\n(corral's daemon is not running; the end of its log:)\n${tail}`;
          daemon.proc = null;
        }
        log(`section ${section.name} failed: ${error}`);
        results.push({
          ...base,
          summary: [],
          tables: [],
          notes: [],
          error,
          seconds: (performance.now() - t0) / 1000,
        });
        // A crashed daemon or left-over containers must not spoil the next sections.
        if (!daemon.proc) await daemon.start().catch(() => {});
        await podman?.removeAll();
      }
    }
  } catch (err) {
    setupError = err;
  } finally {
    log("cleaning up");
    await daemon.cleanup().catch((err) =>
      cleanupProblems.push(`corral: ${(err as Error).message}`)
    );
    await podman?.destroy().catch((err) =>
      cleanupProblems.push(`podman: ${(err as Error).message}`)
    );
    runc.cleanup();
    for (const d of dirs) {
      for (const m of mountsUnder(d).reverse()) await exec(["umount", "-l", m]);
      await Deno.remove(d, { recursive: true }).catch(() => {});
    }
  }
  if (setupError) {
    console.error(`bench: set-up failed: ${(setupError as Error).message ?? setupError}`);
    return 1;
  }
  const command = ["./node_modules/deno/deno run -A bench/run.ts", ...args].join(" ");
  const report = renderReport(machine, {
    command,
    seconds: (performance.now() - started) / 1000,
    loadAtEnd: loadAverage(),
  }, results);
  const withCleanup = cleanupProblems.length
    ? report + `\n## Cleanup\n\n${cleanupProblems.map((p) => `- ${p}`).join("\n")}\n`
    : report;
  await Deno.writeTextFile(opts.out, withCleanup);
  log(`wrote ${opts.out}`);
  return results.some((r) => r.error) || cleanupProblems.length ? 1 : 0;
}

/** Whether `pid` is a live (not zombie) process. */
function isRunning(pid: number | undefined): boolean {
  if (pid === undefined) return false;
  try {
    return !/^\d+ \(.*\) Z/.test(Deno.readTextFileSync(`/proc/${pid}/stat`));
  } catch {
    return false;
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args));
