/**
 * How fast an exit is noticed, and how fast a restart policy brings the
 * container back, for corral beside podman.
 * @module
 */
import type { Inspect } from "../../tests/harness.ts";
import type { BenchContext, Section, SectionOutput } from "../context.ts";
import { EventStream, removeForce, runDetached } from "../corral.ts";
import { sleep } from "../exec.ts";
import { LATENCY_HEADER, latencyRow } from "../report.ts";
import { fmt, p50p99, ratio, summarize } from "../stats.ts";

/**
 * Exit detection: the benchmark SIGKILLs a container's init from the host and
 * times how long until the engine reports it exited.
 */
export const exitSection: Section = {
  name: "exit",
  title: "Exit detection: container exit → state Exited",
  async run(ctx: BenchContext): Promise<SectionOutput> {
    const { daemon: d, podman } = ctx;
    const toEvent: number[] = [], toWait: number[] = [], shimPart: number[] = [];
    const daemonPart: number[] = [];
    for (let i = 0; i < ctx.opts.iterations; i++) {
      const id = await runDetached(d.api, ["sleep", "100000"]);
      const pid = (await d.inspect(id)).State.Pid;
      const events = await EventStream.open(d.api, { container: [id], event: ["die"] });
      const waitRes = await d.api.call("POST", `/containers/${id}/wait?condition=not-running`);
      const t0 = performance.now();
      Deno.kill(pid, "SIGKILL");
      const [die, waited] = await Promise.all([
        events.next(),
        waitRes.text().then(() => performance.now()),
      ]);
      events.close();
      if (!die) throw new Error("the event stream ended before the die event");
      toEvent.push(die.at - t0);
      toWait.push(waited - t0);
      // The shim stamps FinishedAt when it has reaped the init; the daemon stamps the event.
      const finished = Date.parse((await d.inspect(id)).State.FinishedAt);
      shimPart.push(finished - (performance.timeOrigin + t0));
      daemonPart.push(die.event.timeNano / 1e6 - finished);
      await removeForce(d.api, id);
    }
    const podmanWait: number[] = [];
    if (podman) {
      for (let i = 0; i < ctx.opts.iterations; i++) {
        const id = await podman.runDetached(["sleep", "100000"]);
        const pid = Number(await podman.inspect(id, "{{.State.Pid}}"));
        const wait = new Deno.Command("podman", {
          args: podman.argv("wait", "--interval", "5ms", id).slice(1),
          stdout: "null",
          stderr: "null",
        }).spawn();
        // podman wait has to start (a Go binary reading its database) before the exit.
        await sleep(400);
        const t0 = performance.now();
        Deno.kill(pid, "SIGKILL");
        await wait.status;
        podmanWait.push(performance.now() - t0);
        await podman.run("rm", "-f", "-t", "0", id);
      }
    }
    const ev = summarize(toEvent), wt = summarize(toWait), pw = summarize(podmanWait);
    return {
      summary: [{
        figure: "exit detection: exit → `die` event (p50 / p99)",
        corral: p50p99(ev),
        peers: podman ? `podman wait: ${p50p99(pw)}` : "podman not run",
        ratio: podman ? ratio(wt.median, pw.median) + " (wait vs wait, p50)" : "n/a",
        goal: "p99 ≤ 5 ms",
        met: ev.p99 <= 5,
        why: `the shim has the exit on disk ${
          fmt(summarize(shimPart).median, 0)
        } ms after the kill (p50); the rest is the cleanup (\`runc delete\`, unmount, cgroups) that behaviour.md §3 puts before the state Exited and the \`die\` event (${
          fmt(summarize(daemonPart).median, 0)
        } ms p50).`,
      }],
      tables: [{
        title: "SIGKILL of the container's init from the host → the engine reports the exit",
        header: LATENCY_HEADER,
        rows: [
          latencyRow("corral: `die` event received (GET /events)", ev),
          latencyRow("corral: `POST /containers/ID/wait` returned", wt),
          latencyRow(
            "corral, of which: kill → shim's FinishedAt (1 ms grain)",
            summarize(shimPart),
          ),
          latencyRow(
            "corral, of which: FinishedAt → `die` stamped (1 ms grain)",
            summarize(daemonPart),
          ),
          ...(podman ? [latencyRow("podman: `podman wait --interval 5ms` returned", pw)] : []),
        ],
      }],
      notes: [
        "corral marks a container Exited after its cleanup (runc delete, umount, cgroup removal: behaviour.md §3), so the `die` event and `wait` include that cleanup.",
        "podman wait polls the container state (here every 5 ms); podman's own start is not counted (it runs before the kill).",
      ],
    };
  },
};

/**
 * Restart latency with the first backoff step: `--restart always` with the
 * delay pinned to 100 ms (per-container `RestartDelay` = `RestartMaxDelay`),
 * so every restart waits exactly the first step.
 */
export const restartSection: Section = {
  name: "restart",
  title: "Restart latency with the first backoff step",
  async run(ctx: BenchContext): Promise<SectionOutput> {
    const { daemon: d, podman } = ctx;
    const want = ctx.opts.iterations;
    const id = await runDetached(d.api, ["false"], {
      RestartPolicy: { Name: "always", MaximumRetryCount: 0 },
      RestartDelay: 100,
      RestartMaxDelay: 100,
    });
    const events = await EventStream.open(d.api, { container: [id], event: ["die", "start"] });
    const dieToStart: number[] = [], exitToStart: number[] = [];
    let lastDie: number | null = null;
    let finishedAt: Promise<number> | null = null;
    while (dieToStart.length < want) {
      const e = await events.next();
      if (!e) throw new Error("the event stream ended");
      if (e.event.Action === "die") {
        lastDie = e.event.timeNano / 1e6;
        // Read the shim's FinishedAt of this run before the restart replaces it.
        finishedAt = d.inspect(id).then((r: Inspect) => Date.parse(r.State.FinishedAt));
      } else if (lastDie !== null && finishedAt) {
        const start = e.event.timeNano / 1e6;
        dieToStart.push(start - lastDie);
        exitToStart.push(start - await finishedAt);
        lastDie = null;
      }
    }
    events.close();
    await removeForce(d.api, id);
    const podmanDieToStart = podman ? await podmanRestarts(ctx, want) : [];
    const ex = summarize(exitToStart), pm = summarize(podmanDieToStart);
    return {
      summary: [{
        figure: "restart latency, first backoff step: exit → running again (p50 / p99)",
        corral: p50p99(ex),
        peers: podman ? `podman (no backoff): ${p50p99(pm)}` : "podman not run",
        ratio: podman ? `${ratio(ex.median, pm.median)} (p50)` : "n/a",
        goal: "p50 ≤ 150 ms",
        met: ex.median <= 150,
        why: `besides the 100 ms step, the engine takes ${
          fmt(ex.median - 100, 0)
        } ms (p50): the cleanup of the run that ended (\`runc delete\`, unmount), then joining a group shim (no Deno start unless every shim is full), \`runc create\` and \`runc start\`.`,
      }],
      tables: [{
        title:
          `restarts of \`false\` under \`--restart always\` (corral: 100 ms first step, ${want} restarts)`,
        header: LATENCY_HEADER,
        rows: [
          latencyRow("corral: shim's FinishedAt → `start` event (incl. 100 ms backoff)", ex),
          latencyRow(
            "corral: `die` event → `start` event (incl. 100 ms backoff)",
            summarize(dieToStart),
          ),
          latencyRow(
            "corral: the same less the 100 ms backoff (engine overhead)",
            summarize(exitToStart.map((x) => x - 100)),
          ),
          ...(podman ? [latencyRow("podman: `died` event → `start` event (no backoff)", pm)] : []),
        ],
      }],
      notes: [
        "Event times are stamped by the engines (corral: 1 ms grain). podman restarts at once, with no backoff, from its cleanup process.",
      ],
    };
  },
};

/** podman `--restart always` of `false`: `died` → `start` gaps from its event stream. */
async function podmanRestarts(ctx: BenchContext, want: number): Promise<number[]> {
  const podman = ctx.podman!;
  const events = new Deno.Command("podman", {
    args: podman.argv("events", "--format", "json", "--filter", "type=container").slice(1),
    stdout: "piped",
    stderr: "null",
  }).spawn();
  await sleep(500);
  const id = await podman.runDetached(["false"], ["--restart", "always"]);
  const gaps: number[] = [];
  let died: number | null = null;
  const reader = events.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let buf = "";
  const deadline = Date.now() + 120_000;
  try {
    while (gaps.length < want && Date.now() < deadline) {
      const { value, done } = await reader.read();
      if (done) break;
      buf += value;
      let nl;
      while ((nl = buf.indexOf("\n")) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        if (!line.trim()) continue;
        const e = JSON.parse(line) as { ID?: string; Status: string; Time: string };
        if (e.ID !== id) continue;
        if (e.Status === "died") died = nanoTime(e.Time);
        else if (e.Status === "start" && died !== null) {
          gaps.push(nanoTime(e.Time) - died);
          died = null;
        }
      }
    }
  } finally {
    events.kill("SIGTERM");
    await reader.cancel().catch(() => {});
    await events.status;
    await podman.run("rm", "-f", "-t", "0", id);
  }
  return gaps;
}

/** An RFC 3339 time with up to nanoseconds, as fractional milliseconds since the epoch. */
function nanoTime(t: string): number {
  const m = t.match(/^(.*T\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)$/);
  if (!m) return Date.parse(t);
  const frac = Number(`0.${m[2] ?? "0"}`);
  return Date.parse(m[1] + m[3]) + frac * 1000;
}
