/**
 * Start-up cost: `run --rm busybox true` end to end, and `run -d` to running
 * then `rm -f`, for corral (CLI and API) beside bare runc and podman.
 * @module
 */
import type { BenchContext, Section, SectionOutput } from "../context.ts";
import { createContainer, IMAGE, removeForce, startContainer } from "../corral.ts";
import { exec, execOk, timed } from "../exec.ts";
import { PODMAN_IMAGE, PODMAN_RUN_FLAGS } from "../podman.ts";
import { LATENCY_HEADER, latencyRow } from "../report.ts";
import { fmt, ratio, summarize } from "../stats.ts";

/** Unmeasured runs first: caches, JIT and page cache warm up. */
const WARMUP = 2;

/** `run --rm busybox true`: corral CLI vs `runc run` vs `podman run --rm`. */
export const runRmSection: Section = {
  name: "run-rm",
  title: "run --rm busybox true, end to end",
  async run(ctx: BenchContext): Promise<SectionOutput> {
    const { podman, runc } = ctx;
    const samples: Record<string, number[]> = { corral: [], runc: [], podman: [] };
    const engines: [string, () => Promise<number>][] = [
      ["corral", async () => {
        const r = await exec([...cliArgv(ctx), "run", "--rm", IMAGE, "true"]);
        if (r.code !== 0) throw new Error(`corral run --rm exited ${r.code}: ${r.stderr}`);
        return r.ms;
      }],
      ["runc", async () => {
        const r = await runc.run(`bench-${crypto.randomUUID().slice(0, 8)}`);
        if (r.code !== 0) throw new Error(`runc run exited ${r.code}: ${r.stderr}`);
        return r.ms;
      }],
    ];
    if (podman) {
      engines.push(["podman", async () => {
        const r = await execOk(
          podman.argv("run", "--rm", ...PODMAN_RUN_FLAGS, PODMAN_IMAGE, "true"),
        );
        return r.ms;
      }]);
    }
    for (const [, once] of engines) for (let i = 0; i < WARMUP; i++) await once();
    // Interleaved, so a burst of load elsewhere hits every engine alike.
    for (let i = 0; i < ctx.opts.iterations; i++) {
      for (const [name, once] of engines) samples[name].push(await once());
    }
    const s = Object.fromEntries(Object.entries(samples).map(([k, v]) => [k, summarize(v)]));
    const peers = [`runc ${fmt(s.runc.median)} ms`];
    if (podman) peers.push(`podman ${fmt(s.podman.median)} ms`);
    return {
      summary: [
        {
          figure: "`run --rm busybox true` (median)",
          corral: `${fmt(s.corral.median)} ms (CLI)`,
          peers: peers.join(", "),
          ratio: [
            `${ratio(s.corral.median, s.runc.median)} runc`,
            podman ? `${ratio(s.corral.median, s.podman.median)} podman` : "",
          ]
            .filter(Boolean).join(", "),
          goal: "≤ 2× runc, ≤ 0.3× podman",
          met: s.corral.median <= 2 * s.runc.median &&
            (!podman || s.corral.median <= 0.3 * s.podman.median),
        },
      ],
      tables: [{
        title: "run --rm busybox true (wall time of the whole command)",
        header: LATENCY_HEADER,
        rows: [
          latencyRow("corral CLI `corral run --rm busybox true`", s.corral),
          latencyRow("runc `runc run` (same spec and rootfs)", s.runc),
          ...(podman ? [latencyRow("podman `podman run --rm --network none`", s.podman)] : []),
        ],
      }],
      notes: [
        "corral's figure includes the CLI's own start (a Deno process running main.ts) and the daemon's work: overlay mount, shim start, `runc create` + `runc start`, exit detection, cleanup and removal.",
        "runc runs the same OCI spec corral writes, on a copy of the same rootfs (no overlay mount), in the foreground.",
      ],
    };
  },
};

/** `run -d` until running, then `rm -f`: corral CLI and API vs podman. */
export const runDetachedSection: Section = {
  name: "run-d",
  title: "run -d to running, then rm -f",
  async run(ctx: BenchContext): Promise<SectionOutput> {
    const { daemon: d, podman } = ctx;
    const cmd = ["sleep", "100000"];
    const phases: Record<string, { up: number[]; rm: number[] }> = {
      cli: { up: [], rm: [] },
      api: { up: [], rm: [] },
      podman: { up: [], rm: [] },
    };
    const engines: [string, () => Promise<[number, number]>][] = [
      ["cli", async () => {
        const up = await exec([...cliArgv(ctx), "run", "-d", IMAGE, ...cmd]);
        if (up.code !== 0) throw new Error(`corral run -d exited ${up.code}: ${up.stderr}`);
        const rm = await exec([...cliArgv(ctx), "rm", "-f", up.stdout.trim()]);
        if (rm.code !== 0) throw new Error(`corral rm -f exited ${rm.code}: ${rm.stderr}`);
        return [up.ms, rm.ms];
      }],
      ["api", async () => {
        let id = "";
        const up = await timed(async () => {
          id = await createContainer(d.api, cmd);
          await startContainer(d.api, id);
        });
        return [up, await timed(() => removeForce(d.api, id))];
      }],
    ];
    if (podman) {
      engines.push(["podman", async () => {
        const up = await execOk(
          podman.argv("run", "-d", ...PODMAN_RUN_FLAGS, PODMAN_IMAGE, ...cmd),
        );
        const rm = await execOk(podman.argv("rm", "-f", "-t", "0", up.stdout.trim()));
        return [up.ms, rm.ms];
      }]);
    }
    for (const [, once] of engines) for (let i = 0; i < WARMUP; i++) await once();
    for (let i = 0; i < ctx.opts.iterations; i++) {
      for (const [name, once] of engines) {
        const [up, rm] = await once();
        phases[name].up.push(up);
        phases[name].rm.push(rm);
      }
    }
    const total = (name: string) =>
      summarize(phases[name].up.map((u, i) => u + phases[name].rm[i]));
    const cli = total("cli"), api = total("api"), pm = total("podman");
    const rows = (label: string, name: string) => [
      latencyRow(`${label}: run -d → running`, summarize(phases[name].up)),
      latencyRow(`${label}: rm -f`, summarize(phases[name].rm)),
      latencyRow(`${label}: both`, total(name)),
    ];
    return {
      summary: [{
        figure: "`run -d` to running, then `rm -f` (median)",
        corral: `${fmt(cli.median)} ms CLI, ${fmt(api.median)} ms API`,
        peers: podman ? `podman ${fmt(pm.median)} ms` : "podman not run",
        ratio: podman
          ? `${ratio(cli.median, pm.median)} (CLI), ${ratio(api.median, pm.median)} (API)`
          : "n/a",
        goal: "≤ 0.3× podman",
        met: podman ? cli.median <= 0.3 * pm.median : null,
      }],
      tables: [{
        title: "run -d busybox sleep, then rm -f (SIGKILL at once: podman with -t 0)",
        header: LATENCY_HEADER,
        rows: [
          ...rows("corral CLI", "cli"),
          ...rows("corral API", "api"),
          ...(podman ? rows("podman", "podman") : []),
        ],
      }],
      notes: [
        "corral's API figures are the daemon's own cost (create + start, then DELETE ?force=1) with no CLI start-up.",
      ],
    };
  },
};

/** The corral CLI's argv against the benchmark daemon. */
function cliArgv(ctx: BenchContext): string[] {
  return [...ctx.daemon.program, "-H", ctx.daemon.host];
}
