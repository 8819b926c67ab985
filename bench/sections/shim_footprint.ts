/**
 * Shim footprint: the same shim code started in different ways (module
 * graph, bundling, V8 and allocator flags), and conmon in its place, each
 * measured in its steady state with everything it does for a container:
 * subreaper, exit fifo write end, log copy, durable exit file. A stand-in
 * runtime takes runc's place so only the shim is measured: its "create"
 * leaves a long-running init that the shim adopts as subreaper, just as
 * runc's init is. Every variant runs at the same time, so a drift of the
 * machine between variants cannot tilt the comparison.
 * @module
 */
import { join } from "node:path";
import { DENO } from "../../tests/harness.ts";
import { type LaunchedShim, launchShim } from "../../lib/runtime/mod.ts";
import { exitFifoPath, readExitFile } from "../../lib/shim/mod.ts";
import {
  closeFd,
  identify,
  isAlive,
  mkfifo,
  O_NONBLOCK,
  O_RDONLY,
  openFd,
  type ProcessIdentity,
  readFd,
  readProcStat,
} from "../../lib/sys/mod.ts";
import { conmonExitCode, writeConmonShim } from "../conmon_shim.ts";
import type { BenchContext, Section, SectionOutput } from "../context.ts";
import { exec, sleep } from "../exec.ts";
import { firstLine } from "../machine.ts";
import { until } from "../pool.ts";
import { meanRollup, mib, type Rollup, smapsRollup } from "../procmem.ts";
import { fmt, summarize } from "../stats.ts";

const REPO = new URL("../..", import.meta.url).pathname.replace(/\/$/, "");
const RUN = [DENO, "run", "-A", "--no-prompt"];
const WITH_CONFIG = [...RUN, "--config", join(REPO, "deno.json")];
const SHIM_ENTRY = join(REPO, "lib/shim/main.ts");

/** The variants the conclusion names. */
type Key = "program" | "heavyEntry" | "entry" | "lean" | "entryBundle" | "conmon";

/** A way to start the shim. */
interface Variant {
  name: string;
  /** argv prefix; `shim --id …` follows. */
  command: string[];
  key?: Key;
  /** Where the exit code and the log land: corral's contract, or conmon's own formats. */
  formats?: "conmon";
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

/**
 * The shim entry as it was before its module graph was trimmed: the same
 * code plus the daemon's sys/mod.ts (which loads the npm logger) and a
 * node: built-in.
 */
const HEAVY_ENTRY = `import "${REPO}/lib/sys/mod.ts";
import "node:path";
import { shimMain } from "${SHIM_ENTRY}";
Deno.exit(await shimMain(Deno.args.slice(1)));
`;

/** Start-up flags tried on the shim entry module. */
const FLAG_VARIANTS: [string, string[]][] = [
  ["`--no-code-cache`", ["--no-code-cache"]],
  ["`--v8-flags=--single-threaded`", ["--v8-flags=--single-threaded"]],
  ["`--v8-flags=--lite-mode`", ["--v8-flags=--lite-mode"]],
  ["`--v8-flags=--jitless`", ["--v8-flags=--jitless"]],
  ["`--v8-flags=--optimize-for-size`", ["--v8-flags=--optimize-for-size"]],
  [
    "`--v8-flags=--max-old-space-size=16,--max-semi-space-size=1`",
    ["--v8-flags=--max-old-space-size=16,--max-semi-space-size=1"],
  ],
];

/** The start-up flags of the "lean" variant, all at once. */
const LEAN_FLAGS = [
  "--no-code-cache",
  "--v8-flags=--lite-mode,--max-semi-space-size=1,--optimize-for-size",
];

/** Bundles tried (built with `deno bundle` into the run's directory). */
const BUNDLE_VARIANTS: [string, string, string[], Key | undefined][] = [
  ["bundle of the whole program (`deno bundle main.ts`), `shim`", "main.ts", [], undefined],
  [
    "bundle of the shim entry (`deno bundle lib/shim/main.ts`, compile.sh's shim.js)",
    "lib/shim/main.ts",
    [],
    "entryBundle",
  ],
  ["bundle of the shim entry, minified", "lib/shim/main.ts", ["--minify"], undefined],
];

/** Every way to start a shim that this run can try, and notes on those it cannot. */
async function variantsToTry(dir: string): Promise<{ variants: Variant[]; notes: string[] }> {
  const heavy = join(dir, "heavy-entry.ts");
  await Deno.writeTextFile(heavy, HEAVY_ENTRY);
  const variants: Variant[] = [
    {
      name: "whole program: `main.ts shim`",
      command: [...WITH_CONFIG, join(REPO, "main.ts")],
      key: "program",
    },
    {
      name: "shim entry with the daemon's sys/mod.ts (npm logger) and node:path loaded (before)",
      command: [...WITH_CONFIG, heavy],
      key: "heavyEntry",
    },
    {
      name: "shim entry module `lib/shim/main.ts`, own modules only (now)",
      command: [...WITH_CONFIG, SHIM_ENTRY],
      key: "entry",
    },
    ...FLAG_VARIANTS.map(([name, flags]) => ({
      name: `shim entry, ${name}`,
      command: [...WITH_CONFIG, ...flags, SHIM_ENTRY],
    })),
    {
      name: "shim entry, `MALLOC_ARENA_MAX=1`",
      command: ["env", "MALLOC_ARENA_MAX=1", ...WITH_CONFIG, SHIM_ENTRY],
    },
    {
      name: `shim entry, all of: ${LEAN_FLAGS.map((f) => `\`${f}\``).join(", ")}, ` +
        "`MALLOC_ARENA_MAX=1`",
      command: ["env", "MALLOC_ARENA_MAX=1", ...WITH_CONFIG, ...LEAN_FLAGS, SHIM_ENTRY],
      key: "lean",
    },
  ];
  const notes: string[] = [];
  for (const [name, entry, extra, key] of BUNDLE_VARIANTS) {
    const out = join(dir, `bundle-${variants.length}.js`);
    const argv = [DENO, "bundle", "--config", join(REPO, "deno.json"), ...extra, "-o", out];
    const r = await exec([...argv, join(REPO, entry)]);
    if (r.code === 0) variants.push({ name, command: [...RUN, "--no-config", out], key });
    else notes.push(`${name}: not measured, deno bundle failed: ${r.stderr.trim().split("\n")[0]}`);
  }
  if (await firstLine("conmon", ["--version"])) {
    variants.push({
      name: "conmon under a sh wrapper (bench/conmon_shim.ts, prototype)",
      command: [await writeConmonShim(dir)],
      key: "conmon",
      formats: "conmon",
    });
  } else notes.push("conmon is not installed: its variant was not measured.");
  return { variants, notes };
}

/** The shim started in different ways, side by side. */
export const shimFootprintSection: Section = {
  name: "shim",
  title: "Shim footprint: ways to start the same shim",
  async run(ctx: BenchContext): Promise<SectionOutput> {
    const dir = join(ctx.dir, "shim-footprint");
    await Deno.mkdir(dir, { recursive: true });
    const runtime = join(dir, "fake-runtime");
    await Deno.writeTextFile(runtime, FAKE_RUNTIME, { mode: 0o755 });
    const { variants, notes } = await variantsToTry(dir);
    const groups = variants.map((v, i) => new Group(v, join(dir, `v${i}`), runtime));
    try {
      // One shim of each first, ended at once: caches (transpiled modules, code cache) warm up.
      for (const g of groups) await g.warmUp();
      // Round robin, so every variant starts under the same load.
      for (let i = 0; i < ctx.opts.shimCopies; i++) for (const g of groups) await g.startOne();
      const idle = new IdleDeno(dir, ctx.opts.shimCopies);
      ctx.log(`shim: ${groups.length} variants running, ${ctx.opts.settle} s to settle`);
      await sleep(ctx.opts.settle * 1000);
      const mem = groups.map((g) => g.memory());
      const idleMem = idle.memory();
      await idle.end();
      for (const g of groups) await g.endAndCheck();
      const rows = groups.map((g, i) => g.row(mem[i]));
      const byKey = new Map(groups.flatMap((g, i) => g.v.key ? [[g.v.key, mem[i]]] : []));
      const startByKey = new Map(groups.flatMap((g) => g.v.key ? [[g.v.key, g.startMs()]] : []));
      rows.push([
        "reference: an idle `deno run` of a one-line timer (no shim duties)",
        fmt(mib(idleMem.pss), 2),
        fmt(mib(idleMem.pssAnon), 2),
        "",
        "not a shim",
      ]);
      const anon = (k: Key) => fmt(mib(byKey.get(k)?.pssAnon ?? NaN), 2);
      const start = (k: Key) => fmt(startByKey.get(k) ?? NaN);
      return {
        summary: [],
        tables: [{
          title:
            `${ctx.opts.shimCopies} shims per variant, all running at once, read after ${ctx.opts.settle} s (mean of /proc/PID/smaps_rollup; start = spawn → handshake, median)`,
          header: ["variant", "PSS MiB", "anonymous MiB", "start ms", "duties kept (§7)"],
          rows,
        }],
        notes: [
          "Anonymous memory is what each further shim adds; the file-backed rest of PSS is the binary's pages, shared by every process that maps them, so it shrinks as more run.",
          "The last column checks each shim after its init is SIGKILLed: the fifo's read end sees EOF (the daemon's HUP), the exit code 137 is on disk at that moment, the shim has exited, and the init's output is in the log. Subreaping is part of it: the stand-in runtime has exited before, so only a subreaper shim sees the init die.",
          `Choice, implemented: the shim's own entry module, whose module graph holds only corral's own modules (lib/shim/main_test.ts keeps it so): ${
            anon("entry")
          } MiB anonymous per shim and ${start("entry")} ms to the handshake, against ${
            anon("heavyEntry")
          } MiB with the daemon's npm logger and a node: built-in loaded as before (either starts Deno's node compat layer), and ${
            anon("program")
          } MiB for the whole program. The packaged folder gets the same code through compile.sh's \`shim.js\` (${
            anon("entryBundle")
          } MiB). It is the same runShim, so every duty of behaviour.md §7 is kept.`,
          `No start-up flag is taken: each moves the figure by well under 1 MiB (all of them at once: ${
            anon("lean")
          } MiB, ${
            start("lean")
          } ms to start); \`--jitless\`/\`--lite-mode\` slow the log copy of a chatty container, and a heap limit would risk the shim on a long log line.`,
          `The floor is Deno itself: an idle Deno process holds ${
            fmt(mib(idleMem.pssAnon), 1)
          } MiB of anonymous memory (V8's heap deserialized from its snapshot, the binary's relocated data, malloc arenas), so no Deno process per container comes near conmon (${
            anon("conmon")
          } MiB here).`,
          "conmon (from Debian, with podman) does the duties: it is a subreaper, it keeps the fifo's write end we hand it on fd 9 until after its exit code file is written (fsync + rename), and it copies the output. It is not taken because it keeps them only in its own formats: its log is k8s-file (`TIME stdout F line`), not the json-file that `logs`, the API and the rotation settings (`--log-max-files`) read and keep, it rotates by truncation, its exit code is a bare number without the exit time, and its create phase has no bound of its own. Using it means teaching the daemon those formats (a follow-up).",
          "One shim process for several containers would divide the ~10 MiB floor between them, but it gives up what one shim per container guarantees: a crash of that process loses the exit code of every container it holds (they would all read 137), and the daemon's own recovery kills a container's shim by (ppid, start time) (behaviour.md §3.3, §4), which would then take its neighbours down. Not built for that reason.",
          ...notes,
        ],
      };
    } finally {
      for (const g of groups) await g.cleanup();
    }
  },
};

/** One started shim: its container's dir, log, our end of the exit fifo, its processes. */
interface Started {
  bundle: string;
  log: string;
  fifo: number;
  launched: LaunchedShim;
  /** The process that adopted the init: the shim itself, or the monitor it started (conmon). */
  monitor: ProcessIdentity;
}

/** The shims of one variant. */
class Group {
  readonly #shims: Started[] = [];
  readonly #starts: number[] = [];
  #error = "";
  #problem = "";
  #n = 0;

  constructor(readonly v: Variant, readonly dir: string, readonly runtime: string) {}

  /** Start one shim and end it again (a failure is recorded, not thrown). */
  async warmUp(): Promise<void> {
    await this.startOne();
    await this.endAndCheck();
    this.#starts.length = 0;
    this.#problem = "";
  }

  /** Start one more shim, as the daemon does (fifo read end open first). */
  async startOne(): Promise<void> {
    if (this.#error) return;
    const bundle = join(this.dir, `c${this.#n++}`);
    await Deno.mkdir(bundle, { recursive: true });
    mkfifo(exitFifoPath(bundle));
    const fifo = openFd(exitFifoPath(bundle), O_RDONLY | O_NONBLOCK);
    const log = join(bundle, "ctr.log");
    const t0 = performance.now();
    try {
      const launched = await launchShim({
        id: `shim-bench-${this.#n}`,
        bundle,
        runtime: this.runtime,
        runtimeRoot: join(this.dir, "runtime-root"),
        logPath: log,
        logMaxSize: 1024 * 1024,
        logMaxFiles: 1,
        createTimeoutMs: 10_000,
        tty: false,
        openStdin: false,
        stdinOnce: false,
      }, this.v.command);
      this.#starts.push(performance.now() - t0);
      const monitor = identify(readProcStat(launched.pid)?.ppid ?? 0);
      if (!monitor) throw new Error(`the init ${launched.pid} has no parent`);
      this.#shims.push({ bundle, log, fifo, launched, monitor });
    } catch (err) {
      closeFd(fifo);
      // A variant that cannot start is a finding of the comparison, not the end of it.
      this.#error = (err as Error).message.split("\n")[0];
    }
  }

  /** Mean smaps_rollup of the running shims' monitors. */
  memory(): Rollup {
    return meanRollup(this.#shims.map((s) => smapsRollup(s.monitor.pid)));
  }

  /** Median time to the handshake. */
  startMs(): number {
    return summarize(this.#starts).median;
  }

  /** SIGKILL every init and check what the shims did about it. */
  async endAndCheck(): Promise<void> {
    const shims = this.#shims.splice(0);
    for (const s of shims) Deno.kill(s.launched.pid, "SIGKILL");
    for (const s of shims) {
      this.#problem ||= await this.#check(s);
      closeFd(s.fifo);
    }
  }

  async #check(s: Started): Promise<string> {
    // EOF (not EAGAIN) on the read end: no writer is left, the daemon would see HUP.
    const hup = await until(() => readFd(s.fifo, new Uint8Array(1)) === 0, 10_000, "HUP", 2)
      .then(() => true, () => false);
    if (!hup) return "the exit fifo still has a writer";
    // Read right at HUP, as the daemon does: the exit code must already be there.
    const code = this.v.formats === "conmon"
      ? await conmonExitCode(s.bundle)
      : (await readExitFile(s.bundle))?.exitCode;
    if (code !== 137) return `exit code at HUP: ${code}`;
    const gone = await until(() => !isAlive(s.monitor), 2000, "the shim's exit")
      .then(() => true, () => false);
    if (!gone) return "the shim outlived its exit fifo";
    const log = await Deno.readTextFile(s.log).catch(() => "");
    const logged = this.v.formats === "conmon"
      ? / stdout F ready$/m.test(log)
      : log.includes('"ready\\n"');
    if (!logged) return "the init's output is not in the log";
    if (this.v.formats === "conmon") {
      return "in conmon's formats only: k8s-file log, bare exit code file";
    }
    return "";
  }

  /** The table row of this variant. */
  row(mem: Rollup): string[] {
    if (this.#error) return [this.v.name, "n/a", "n/a", "n/a", `no: ${this.#error}`];
    return [
      this.v.name,
      fmt(mib(mem.pss), 2),
      fmt(mib(mem.pssAnon), 2),
      fmt(this.startMs()),
      this.#problem ? `no: ${this.#problem}` : "yes",
    ];
  }

  /** Kill whatever is left (after a failure part-way). */
  async cleanup(): Promise<void> {
    const shims = this.#shims.splice(0);
    const init = (s: Started) => ({ pid: s.launched.pid, startTime: s.launched.startTime });
    for (const proc of shims.flatMap((s) => [init(s), s.monitor])) {
      if (isAlive(proc)) Deno.kill(proc.pid, "SIGKILL");
    }
    await Promise.race([Promise.all(shims.map((s) => s.launched.exited)), sleep(10_000)]);
    for (const s of shims) closeFd(s.fifo);
  }
}

/** Idle Deno processes running a one-line timer: the floor under any Deno shim. */
class IdleDeno {
  readonly #procs: Deno.ChildProcess[];

  constructor(dir: string, copies: number) {
    const script = join(dir, "idle.js");
    Deno.writeTextFileSync(script, "setInterval(() => {}, 1e9);\n");
    this.#procs = Array.from({ length: copies }, () =>
      new Deno.Command(DENO, {
        args: ["run", "--no-config", script],
        stdin: "null",
        stdout: "null",
        stderr: "null",
        env: { RUST_BACKTRACE: "0" },
      }).spawn());
  }

  /** Their mean smaps_rollup. */
  memory(): Rollup {
    return meanRollup(this.#procs.map((p) => smapsRollup(p.pid)));
  }

  async end(): Promise<void> {
    for (const p of this.#procs) p.kill("SIGKILL");
    await Promise.all(this.#procs.map((p) => p.status));
  }
}
