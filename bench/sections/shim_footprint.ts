/**
 * Shim footprint: the same shim code started in different ways (module
 * graph, bundling, V8 and allocator flags), each measured in its steady state
 * with everything it does for a container: subreaper, exit fifo write end,
 * log copy, durable exit file. A stand-in runtime takes runc's place so only
 * the shim is measured: its "create" leaves a long-running init that the shim
 * adopts as subreaper, just as runc's init is.
 * @module
 */
import { join } from "node:path";
import { DENO } from "../../tests/harness.ts";
import { type LaunchedShim, launchShim } from "../../lib/runtime/mod.ts";
import { exitFifoPath, readExitFile } from "../../lib/shim/mod.ts";
import { closeFd, mkfifo, O_NONBLOCK, O_RDONLY, openFd, readFd } from "../../lib/sys/mod.ts";
import type { BenchContext, Section, SectionOutput } from "../context.ts";
import { exec, sleep } from "../exec.ts";
import { mib, type Rollup, smapsRollup } from "../procmem.ts";
import { fmt, mean, summarize } from "../stats.ts";

const REPO = new URL("../..", import.meta.url).pathname.replace(/\/$/, "");
const RUN = [DENO, "run", "-A", "--no-prompt"];
const WITH_CONFIG = [...RUN, "--config", join(REPO, "deno.json")];
const SHIM_ENTRY = join(REPO, "lib/shim/main.ts");

/** A way to start the shim. */
interface Variant {
  name: string;
  /** argv prefix; `shim --id …` follows. */
  command: string[];
  /** Set on the variants the conclusion compares. */
  key?: "program" | "entry" | "programBundle" | "entryBundle";
}

/**
 * A stand-in for `runc create`: starts the "init" in the background and
 * writes its pid file; the init outlives this script and is adopted by the
 * shim (its subreaper). It prints a line, which must reach the log.
 */
const FAKE_RUNTIME = `#!/bin/sh
while [ $# -gt 0 ]; do
  [ "$1" = --pid-file ] && pidfile=$2
  shift
done
sh -c 'echo ready; exec sleep 100000' &
echo $! > "$pidfile"
`;

/** Start-up flags tried on the shim entry module. */
const FLAG_VARIANTS: [string, string[]][] = [
  ["`--no-config`", ["--no-config"]],
  ["`--cached-only`", ["--cached-only"]],
  ["`--no-code-cache`", ["--no-code-cache"]],
  ["`--v8-flags=--single-threaded`", ["--v8-flags=--single-threaded"]],
  ["`--v8-flags=--lite-mode`", ["--v8-flags=--lite-mode"]],
  ["`--v8-flags=--optimize-for-size`", ["--v8-flags=--optimize-for-size"]],
  [
    "`--v8-flags=--max-old-space-size=16,--max-semi-space-size=1`",
    ["--v8-flags=--max-old-space-size=16,--max-semi-space-size=1"],
  ],
];

/** Bundles tried (built with `deno bundle` into the run's directory). */
const BUNDLE_VARIANTS: [string, string, string[], Variant["key"]][] = [
  ["bundle of the whole program (`deno bundle main.ts`), `shim`", "main.ts", [], "programBundle"],
  [
    "bundle of the shim entry (`deno bundle lib/shim/main.ts`, compile.sh's shim.js)",
    "lib/shim/main.ts",
    [],
    "entryBundle",
  ],
  ["bundle of the shim entry, minified", "lib/shim/main.ts", ["--minify"], undefined],
];

/** The shim started in different ways, side by side. */
export const shimFootprintSection: Section = {
  name: "shim",
  title: "Shim footprint: ways to start the same shim",
  async run(ctx: BenchContext): Promise<SectionOutput> {
    const dir = join(ctx.dir, "shim-footprint");
    await Deno.mkdir(dir, { recursive: true });
    const runtime = join(dir, "fake-runtime");
    await Deno.writeTextFile(runtime, FAKE_RUNTIME, { mode: 0o755 });
    const variants: Variant[] = [
      {
        name: "whole program: `main.ts shim` (before)",
        command: [...WITH_CONFIG, join(REPO, "main.ts")],
        key: "program",
      },
      {
        name: "shim entry module `lib/shim/main.ts` (now, from source)",
        command: [...WITH_CONFIG, SHIM_ENTRY],
        key: "entry",
      },
      ...FLAG_VARIANTS.map(([name, flags]) => ({
        name: `shim entry, ${name}`,
        command: flags.includes("--no-config")
          ? [...RUN, ...flags, SHIM_ENTRY]
          : [...WITH_CONFIG, ...flags, SHIM_ENTRY],
      })),
      {
        name: "shim entry, `MALLOC_ARENA_MAX=1`",
        command: ["env", "MALLOC_ARENA_MAX=1", ...WITH_CONFIG, SHIM_ENTRY],
      },
    ];
    const notes: string[] = [];
    for (const [name, entry, extra, key] of BUNDLE_VARIANTS) {
      const out = join(dir, `bundle-${variants.length}.js`);
      const argv = [DENO, "bundle", "--config", join(REPO, "deno.json"), ...extra, "-o", out];
      const r = await exec([...argv, join(REPO, entry)]);
      if (r.code === 0) variants.push({ name, command: [...RUN, "--no-config", out], key });
      else {notes.push(
          `${name}: not measured, deno bundle failed: ${r.stderr.trim().split("\n")[0]}`,
        );}
    }

    const rows: string[][] = [];
    const byKey = new Map<Variant["key"], Measured>();
    for (const [i, v] of variants.entries()) {
      // One unmeasured shim first: the variant's caches (transpiled modules, code cache) warm up.
      await measure(v, join(dir, `w${i}`), runtime, 1);
      const m = await measure(v, join(dir, `v${i}`), runtime, ctx.opts.shimCopies);
      if (v.key) byKey.set(v.key, m);
      rows.push([
        v.name,
        fmt(mib(m.pss), 2),
        fmt(mib(m.anon), 2),
        fmt(m.startMs.median),
        m.kept ? "yes" : `no: ${m.problem}`,
      ]);
    }
    const idle = await idleDeno(dir, ctx.opts.shimCopies);
    rows.push([
      "reference: an idle `deno run` of a one-line timer (no shim duties)",
      fmt(mib(idle.pss), 2),
      fmt(mib(idle.pssAnon), 2),
      "",
      "not a shim",
    ]);
    const anon = (k: Variant["key"]) => fmt(mib(byKey.get(k)?.anon ?? NaN), 2);
    const start = (k: Variant["key"]) => fmt(byKey.get(k)?.startMs.median ?? NaN);
    return {
      summary: [],
      tables: [{
        title:
          `${ctx.opts.shimCopies} shims per variant, steady state (mean PSS from smaps_rollup; ` +
          "start = spawn → handshake, median)",
        header: [
          "variant",
          "PSS MiB",
          "anonymous MiB",
          "start ms",
          "exit file, log, subreaper, fifo",
        ],
        rows,
      }],
      notes: [
        "Anonymous memory is what each further shim adds; the file-backed rest of PSS is the Deno binary's pages, shared by every Deno process on the machine, so it shrinks as more run.",
        "The last column checks each shim's duties after its init is SIGKILLed: it adopted the init (subreaper) and saw it die, copied the init's output into the json-file log, wrote exit.json with 137, and closed the exit fifo by exiting.",
        `Choice: the daemon starts shims from the shim's own entry module (lib/runtime/self.ts \`shimCommand\`): ${
          anon("entry")
        } MiB anonymous and ${start("entry")} ms to the handshake, against ${
          anon("program")
        } MiB and ${
          start("program")
        } ms for \`main.ts shim\`. The packaged folder gets the same through compile.sh's \`shim.js\` (${
          anon("entryBundle")
        } MiB, ${start("entryBundle")} ms) instead of the whole program's bundle (${
          anon("programBundle")
        } MiB, ${
          start("programBundle")
        } ms). It runs the same code (runShim), so every duty of behaviour.md §7 is kept.`,
        "No start-up flag is worth taking: V8 and allocator flags move the figure by about ±0.5 MiB, which is the noise between runs, and the heap limits would risk the shim on a long log line.",
        `The floor is Deno itself: an idle Deno process holds ${
          fmt(mib(idle.pssAnon), 1)
        } MiB of anonymous memory (V8's heap deserialized from its snapshot, the binary's relocated data, malloc arenas), so no Deno process per container can come near conmon (~1 MiB). Getting there needs a design change: one shim process for several containers (which gives up the crash isolation of one shim per container), or running containers under conmon where it is installed with the exit file and fifo duties kept by a wrapper. Left for a follow-up issue.`,
        ...notes,
      ],
    };
  },
};

/** What one variant measured. */
interface Measured {
  pss: number;
  anon: number;
  startMs: ReturnType<typeof summarize>;
  kept: boolean;
  problem: string;
}

/** Start `copies` shims of a variant, measure them, end their inits and check their duties. */
async function measure(
  v: Variant,
  dir: string,
  runtime: string,
  copies: number,
): Promise<Measured> {
  const shims: { bundle: string; log: string; fifo: number; launched: LaunchedShim }[] = [];
  const starts: number[] = [];
  try {
    for (let i = 0; i < copies; i++) {
      const bundle = join(dir, `c${i}`);
      await Deno.mkdir(bundle, { recursive: true });
      mkfifo(exitFifoPath(bundle));
      // The daemon's side of the contract: the fifo's read end is open before the shim starts.
      const fifo = openFd(exitFifoPath(bundle), O_RDONLY | O_NONBLOCK);
      const log = join(bundle, "ctr.log");
      const t0 = performance.now();
      try {
        const launched = await launchShim({
          id: `shim-bench-${i}`,
          bundle,
          runtime,
          runtimeRoot: join(dir, "runtime-root"),
          logPath: log,
          logMaxSize: 1024 * 1024,
          logMaxFiles: 1,
          createTimeoutMs: 10_000,
        }, v.command);
        starts.push(performance.now() - t0);
        shims.push({ bundle, log, fifo, launched });
      } catch (err) {
        closeFd(fifo);
        throw err;
      }
    }
    await sleep(1000);
    const r = shims.map((s) => smapsRollup(s.launched.shimPid));
    let problem = "";
    for (const s of shims) Deno.kill(s.launched.pid, "SIGKILL");
    for (const s of shims) {
      const st = await Promise.race([s.launched.exited, sleep(10_000).then(() => null)]);
      if (!st) {
        problem ||= "the shim did not notice its init's exit";
        continue;
      }
      // EOF (not EAGAIN) on the read end: no writer is left, the daemon would see HUP.
      if (readFd(s.fifo, new Uint8Array(1)) !== 0) problem ||= "the exit fifo still has a writer";
      const exit = await readExitFile(s.bundle);
      if (exit?.exitCode !== 137) problem ||= `exit file ${JSON.stringify(exit)}`;
      const log = await Deno.readTextFile(s.log).catch(() => "");
      if (!log.includes('"ready\\n"')) problem ||= "the init's output is not in the log";
    }
    return {
      pss: mean(r.map((x) => x.pss)),
      anon: mean(r.map((x) => x.pssAnon)),
      startMs: summarize(starts),
      kept: problem === "",
      problem,
    };
  } finally {
    for (const s of shims) {
      try {
        Deno.kill(s.launched.pid, "SIGKILL");
      } catch {
        // Already gone.
      }
    }
    await Promise.race([Promise.all(shims.map((s) => s.launched.exited)), sleep(10_000)]);
    for (const s of shims) closeFd(s.fifo);
  }
}

/** Mean smaps_rollup of `copies` idle Deno processes: the floor under any Deno shim. */
async function idleDeno(dir: string, copies: number): Promise<Rollup> {
  const script = join(dir, "idle.js");
  await Deno.writeTextFile(script, "setInterval(() => {}, 1e9);\n");
  const procs = Array.from({ length: copies }, () =>
    new Deno.Command(DENO, {
      args: ["run", "--no-config", script],
      stdin: "null",
      stdout: "null",
      stderr: "null",
      env: { RUST_BACKTRACE: "0" },
    }).spawn());
  try {
    await sleep(1500);
    const r = procs.map((p) => smapsRollup(p.pid));
    return {
      rss: mean(r.map((x) => x.rss)),
      pss: mean(r.map((x) => x.pss)),
      pssAnon: mean(r.map((x) => x.pssAnon)),
      pssFile: mean(r.map((x) => x.pssFile)),
    };
  } finally {
    for (const p of procs) p.kill("SIGKILL");
    await Promise.all(procs.map((p) => p.status));
  }
}
