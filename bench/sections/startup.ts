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
import { fmt, p50p99, ratio, summarize } from "../stats.ts";

/** Unmeasured runs first: caches, JIT and page cache warm up. */
const WARMUP = 2;

/** `run --rm busybox true`: corral CLI vs `runc run` vs `podman run --rm`. */
export const runRmSection: Section = {
  name: "run-rm",
  title: "run --rm busybox true, end to end",
  async run(ctx: BenchContext): Promise<SectionOutput> {
    const { podman, runc } = ctx;
    const samples: Record<string, number[]> = { corral: [], runc: [], podman: [], cli: [] };
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
    // Not an engine: the part of corral's figure that is the CLI process itself.
    engines.push(["cli", async () => (await execOk([...cliArgv(ctx), "--version"])).ms]);
    for (const [, once] of engines) for (let i = 0; i < WARMUP; i++) await once();
    // Interleaved, so a burst of load elsewhere hits every engine alike.
    for (let i = 0; i < ctx.opts.iterations; i++) {
      for (const [name, once] of engines) samples[name].push(await once());
    }
    const s = Object.fromEntries(Object.entries(samples).map(([k, v]) => [k, summarize(v)]));
    const peers = [`runc ${p50p99(s.runc)}`];
    if (podman) peers.push(`podman ${p50p99(s.podman)}`);
    return {
      summary: [
        {
          figure: "`run --rm busybox true`, end to end (p50 / p99)",
          corral: `${p50p99(s.corral)} (CLI)`,
          peers: peers.join(", "),
          ratio: [
            `${ratio(s.corral.median, s.runc.median)} runc`,
            podman ? `${ratio(s.corral.median, s.podman.median)} podman` : "",
          ]
            .filter(Boolean).join(", ") + " (p50)",
          goal: "≤ 3× runc, ≤ 0.5× podman",
          met: s.corral.median <= 3 * s.runc.median &&
            (!podman || s.corral.median <= 0.5 * s.podman.median),
          why: `on top of runc's one Go start, corral starts a Deno process (the CLI, ~${
            fmt(s.cli.median, 0)
          } ms to print its version here; the container joins a running group shim) and runc twice (create, start) plus \`runc delete\` in the cleanup.`,
        },
      ],
      tables: [{
        title: "run --rm busybox true (wall time of the whole command)",
        header: LATENCY_HEADER,
        rows: [
          latencyRow("corral CLI `corral run --rm busybox true`", s.corral),
          latencyRow("runc `runc run` (same spec and rootfs)", s.runc),
          ...(podman ? [latencyRow("podman `podman run --rm --network none`", s.podman)] : []),
          latencyRow("of corral's figure: the CLI's own start, `corral --version`", s.cli),
        ],
      }],
      notes: [
        "corral's figure includes the CLI's own start (a Deno process running main.ts) and the daemon's work: overlay mount, shim start, `runc create` + `runc start`, exit detection, cleanup and removal.",
        "runc runs the same OCI spec corral writes, on a copy of the same rootfs (no overlay mount), in the foreground.",
      ],
    };
  },
};

/**
 * `run -d` until running, then `rm -f`: corral CLI and API vs podman; the
 * API's create + start also vs runc's own `create` + `start`.
 */
export const runDetachedSection: Section = {
  name: "run-d",
  title: "run -d to running, then rm -f",
  async run(ctx: BenchContext): Promise<SectionOutput> {
    const { daemon: d, podman, runc } = ctx;
    const cmd = ["sleep", "100000"];
    const runcUp: number[] = [];
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
    const runcOnce = () => runc.createStart(`bench-${crypto.randomUUID().slice(0, 8)}`);
    for (const [, once] of engines) for (let i = 0; i < WARMUP; i++) await once();
    for (let i = 0; i < WARMUP; i++) await runcOnce();
    for (let i = 0; i < ctx.opts.iterations; i++) {
      for (const [name, once] of engines) {
        const [up, rm] = await once();
        phases[name].up.push(up);
        phases[name].rm.push(rm);
      }
      runcUp.push(await runcOnce());
    }
    const apiUp = summarize(phases.api.up), runcStart = summarize(runcUp);
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
        figure: "API `run -d` → running (create + start; p50 / p99)",
        corral: p50p99(apiUp),
        peers: `runc \`create\` + \`start\` ${p50p99(runcStart)}`,
        ratio: `${ratio(apiUp.median, runcStart.median)} runc (p50)`,
        goal: "≤ 1.5× runc's own create + start",
        met: apiUp.median <= 1.5 * runcStart.median,
        why: "beyond runc's two Go starts: the overlay mount, the spec, a join of a running " +
          "group shim (which runs `runc create`) and the state written before and after.",
      }, {
        figure: "`run -d` to running, then `rm -f` (p50 / p99)",
        corral: `${p50p99(cli)} CLI, ${p50p99(api)} API`,
        peers: podman ? `podman ${p50p99(pm)}` : "podman not run",
        ratio: podman
          ? `${ratio(cli.median, pm.median)} (CLI), ${ratio(api.median, pm.median)} (API) (p50)`
          : "n/a",
        goal: "≤ 0.3× podman",
        met: podman ? cli.median <= 0.3 * pm.median : null,
        why:
          `two CLI processes (run, rm) are most of the CLI figure; through the API, create + start takes ${
            fmt(summarize(phases.api.up).median, 0)
          } ms (overlay mount, a join of a group shim, \`runc create\` and \`runc start\`) and rm -f ${
            fmt(summarize(phases.api.rm).median, 0)
          } ms (kill, exit, \`runc delete\`, unmount).`,
      }],
      tables: [{
        title: "run -d busybox sleep, then rm -f (SIGKILL at once: podman with -t 0)",
        header: LATENCY_HEADER,
        rows: [
          ...rows("corral CLI", "cli"),
          ...rows("corral API", "api"),
          ...(podman ? rows("podman", "podman") : []),
          latencyRow("runc: `create` + `start` (same spec and rootfs, detached)", runcStart),
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
