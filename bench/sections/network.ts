/**
 * Networking (issue 15): what a network costs `run -d`, a published port's
 * connection rate and throughput beside the same server on the host's
 * loopback, and run/rm churn with `-p` counting every network object left.
 * The section runs its own networked daemon (own bridge, own block of
 * 198.18.0.0/15); the only address it ever talks to is 127.0.0.1.
 * @module
 */
import { join } from "node:path";
import { reserveTestBlock } from "../../lib/network/_test_net.ts";
import { freePort, TestDaemon } from "../../tests/harness.ts";
import type { BenchContext, Section, SectionOutput } from "../context.ts";
import {
  containerCount,
  createContainer,
  removeAllContainers,
  removeForce,
  startContainer,
} from "../corral.ts";
import { execOk, timed } from "../exec.ts";
import { until } from "../pool.ts";
import { type Podman, PODMAN_IMAGE, PODMAN_RUN_FLAGS } from "../podman.ts";
import { LATENCY_HEADER, latencyRow, type SummaryRow, type Table } from "../report.ts";
import { fmt, p50p99, ratio, summarize } from "../stats.ts";

/** Unmeasured rounds first: caches, JIT and page cache warm up. */
const WARMUP = 2;
/** Requests of the connection-rate figure, per server (each on a new connection). */
const REQUESTS = 500;
/** The connection-rate requests go in batches, alternating between the servers. */
const BATCH = 50;
/** Fetches of the large file per server for the throughput figure. */
const LARGE_FETCHES = 5;
/** The small and the large file the servers serve. */
const SMALL = { name: "small.txt", bytes: 512 };
const LARGE = { name: "large.bin", bytes: 64 * 1024 * 1024 };
/** Where the containers mount the served directory. */
const SERVED = "/srv";
/** The kinds of network objects `TestDaemon.networkLeaks()` reports, by their prefix. */
const NETWORK_KINDS = ["veth", "IPAM lease", "netns", "attachment", "iptables"];

/**
 * `run -d` → running, then `rm -f`, of the same container with no network, a
 * bridge, a bridge and `-p`: corral's HostConfig and podman's flags (its
 * default network backend for the bridge).
 */
const MODES: {
  name: string;
  label: string;
  hostConfig: Record<string, unknown>;
  podman: string[];
}[] = [
  {
    name: "none",
    label: "`--network none`",
    hostConfig: { NetworkMode: "none" },
    podman: ["--network", "none"],
  },
  {
    name: "bridge",
    label: "`--network bridge`",
    hostConfig: { NetworkMode: "bridge" },
    podman: [],
  },
  {
    name: "bridge -p",
    label: "`--network bridge -p 127.0.0.1::80`",
    hostConfig: { NetworkMode: "bridge", PortBindings: publish("") },
    podman: ["-p", "127.0.0.1::80"],
  },
];

/** PortBindings publishing the container's port 80 on 127.0.0.1:`hostPort` ("" = a free one). */
function publish(hostPort: string): Record<string, { HostIp: string; HostPort: string }[]> {
  return { "80/tcp": [{ HostIp: "127.0.0.1", HostPort: hostPort }] };
}

/** podman's run flags with the network left to the caller. */
function podmanFlags(network: string[]): string[] {
  const i = PODMAN_RUN_FLAGS.indexOf("--network");
  const rest = i < 0 ? PODMAN_RUN_FLAGS : PODMAN_RUN_FLAGS.toSpliced(i, 2);
  return [...rest, ...network];
}

/**
 * GET `http://127.0.0.1:PORT/PATH` on a connection of its own (HTTP/1.0, read
 * to the server's close); throws unless the answer is a 200 with `bytes` of body.
 */
async function fetchOnce(port: number, path: string, bytes: number): Promise<void> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    await conn.write(new TextEncoder().encode(`GET /${path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n`));
    const buf = new Uint8Array(1 << 18);
    let head = "";
    let headEnd = -1;
    let total = 0;
    for (;;) {
      const n = await conn.read(buf);
      if (n === null) break;
      if (headEnd < 0) {
        head += new TextDecoder().decode(buf.subarray(0, n));
        const end = head.indexOf("\r\n\r\n");
        if (end >= 0) headEnd = new TextEncoder().encode(head.slice(0, end + 4)).length;
      }
      total += n;
    }
    const status = head.slice(0, head.indexOf("\r\n"));
    if (!/^HTTP\/1\.[01] 200 /.test(status)) throw new Error(`127.0.0.1:${port}: ${status}`);
    if (total - headEnd !== bytes) {
      throw new Error(`127.0.0.1:${port}/${path}: ${total - headEnd} bytes, not ${bytes}`);
    }
  } finally {
    conn.close();
  }
}

/** Wait until a server answers on 127.0.0.1:`port`. */
async function untilServing(port: number): Promise<void> {
  await until(
    () => fetchOnce(port, SMALL.name, SMALL.bytes).then(() => true, () => false),
    15_000,
    `an HTTP server on 127.0.0.1:${port}`,
    50,
  );
}

/** The served directory: a small file and a large one. */
async function makeServedDir(dir: string): Promise<void> {
  await Deno.mkdir(dir, { recursive: true });
  await Deno.writeFile(join(dir, SMALL.name), new Uint8Array(SMALL.bytes).fill(0x61));
  using file = await Deno.open(join(dir, LARGE.name), { write: true, create: true });
  const chunk = new Uint8Array(1 << 20).fill(0x62);
  for (let i = 0; i < LARGE.bytes / chunk.length; i++) {
    for (let off = 0; off < chunk.length;) off += await file.write(chunk.subarray(off));
  }
}

/** Part 1: `run -d` → running and `rm -f` in each mode, interleaved; samples by mode and engine. */
async function runDetachedByMode(
  ctx: BenchContext,
  d: TestDaemon,
): Promise<{ rows: string[][]; up: Record<string, number[]> }> {
  const cmd = ["sleep", "100000"];
  const podman = ctx.podman;
  const engines: [string, string, () => Promise<[number, number]>][] = MODES.map((m) => [
    `corral ${m.name}`,
    `corral API, ${m.label}`,
    async () => {
      let id = "";
      const up = await timed(async () => {
        id = await createContainer(d.api, cmd, m.hostConfig);
        await startContainer(d.api, id);
      });
      return [up, await timed(() => removeForce(d.api, id))];
    },
  ]);
  if (podman) {
    for (const m of MODES) {
      const label = `podman CLI, ${
        m.podman.length ? `\`${m.podman.join(" ")}\`` : "its default network"
      }`;
      engines.push([`podman ${m.name}`, label, async () => {
        const flags = podmanFlags(m.podman);
        const up = await execOk(podman.argv("run", "-d", ...flags, PODMAN_IMAGE, ...cmd));
        const rm = await execOk(podman.argv("rm", "-f", "-t", "0", up.stdout.trim()));
        return [up.ms, rm.ms];
      }]);
    }
  }
  const up: Record<string, number[]> = {}, rm: Record<string, number[]> = {};
  for (const [name] of engines) [up[name], rm[name]] = [[], []];
  for (const [, , once] of engines) for (let i = 0; i < WARMUP; i++) await once();
  // Interleaved, so a burst of load elsewhere hits every mode alike.
  for (let i = 0; i < ctx.opts.iterations; i++) {
    for (const [name, , once] of engines) {
      const [u, r] = await once();
      up[name].push(u);
      rm[name].push(r);
    }
  }
  const rows = engines.flatMap(([name, label]) => [
    latencyRow(`${label}: run -d → running`, summarize(up[name])),
    latencyRow(`${label}: rm -f`, summarize(rm[name])),
  ]);
  return { rows, up };
}

/** Connection-rate and throughput samples of the servers, interleaved. */
interface ServerFigures {
  /** Milliseconds per request on a new connection. */
  request: number[];
  /** Seconds spent on the connection-rate requests. */
  seconds: number;
  /** MB/s (10^6 bytes) of each large fetch. */
  mbps: number[];
}

/** Part 2: requests and large fetches to each server (label → port), alternating. */
async function measureServers(servers: [string, number][]): Promise<Record<string, ServerFigures>> {
  const out: Record<string, ServerFigures> = {};
  for (const [label] of servers) out[label] = { request: [], seconds: 0, mbps: [] };
  for (const [, port] of servers) {
    for (let i = 0; i < WARMUP * 10; i++) await fetchOnce(port, SMALL.name, SMALL.bytes);
    await fetchOnce(port, LARGE.name, LARGE.bytes);
  }
  for (let done = 0; done < REQUESTS; done += BATCH) {
    for (const [label, port] of servers) {
      const t0 = performance.now();
      for (let i = 0; i < Math.min(BATCH, REQUESTS - done); i++) {
        out[label].request.push(await timed(() => fetchOnce(port, SMALL.name, SMALL.bytes)));
      }
      out[label].seconds += (performance.now() - t0) / 1000;
    }
  }
  for (let i = 0; i < LARGE_FETCHES; i++) {
    for (const [label, port] of servers) {
      const ms = await timed(() => fetchOnce(port, LARGE.name, LARGE.bytes));
      out[label].mbps.push(LARGE.bytes / 1e6 / (ms / 1000));
    }
  }
  return out;
}

/** The host's own busybox httpd on 127.0.0.1:`port`, serving `dir`. */
function hostHttpd(port: number, dir: string): Deno.ChildProcess {
  return new Deno.Command("/bin/busybox", {
    args: ["httpd", "-f", "-p", `127.0.0.1:${port}`, "-h", dir],
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).spawn();
}

/** podman's busybox httpd published on 127.0.0.1:`port`; returns its id. */
async function podmanHttpd(podman: Podman, port: number, dir: string): Promise<string> {
  const r = await execOk(podman.argv(
    "run",
    "-d",
    ...podmanFlags(["-p", `127.0.0.1:${port}:80`, "-v", `${dir}:${SERVED}:ro`]),
    PODMAN_IMAGE,
    ...httpdArgv(),
  ));
  return r.stdout.trim();
}

/** busybox httpd in a container, in the foreground, serving the bind-mounted dir. */
function httpdArgv(): string[] {
  return ["busybox", "httpd", "-f", "-p", "80", "-h", SERVED];
}

/** Part 3: `n` cycles of create with `-p`, start, wait, rm; cycle times and failures. */
async function churnWithPorts(
  d: TestDaemon,
  n: number,
): Promise<{ ms: number[]; failures: string[] }> {
  const ms: number[] = [];
  const failures: string[] = [];
  const cycle = async () => {
    const id = await createContainer(d.api, ["true"], {
      NetworkMode: "bridge",
      PortBindings: publish(""),
    });
    const wait = await d.api.call("POST", `/containers/${id}/wait?condition=next-exit`);
    await startContainer(d.api, id);
    await wait.text();
    await removeForce(d.api, id);
  };
  for (let i = 0; i < WARMUP; i++) await cycle().catch((err) => failures.push(err.message));
  for (let i = 0; i < n; i++) {
    // A failed cycle is a finding, not the end of the run: count it and go on.
    await timed(cycle).then((t) => ms.push(t), (err) => failures.push(err.message));
  }
  return { ms, failures };
}

/** Network objects by kind (in {@linkcode NETWORK_KINDS} order). */
function byKind(leaks: string[]): number[] {
  return NETWORK_KINDS.map((k) => leaks.filter((l) => l.startsWith(`${k} `)).length);
}

/** The section's measurements on its networked daemon. */
async function measure(ctx: BenchContext, d: TestDaemon): Promise<SectionOutput> {
  const { podman } = ctx;
  ctx.log(`network: starting a networked daemon (bridge ${d.bridge}, ${d.net!.cidr})`);
  await d.start();

  ctx.log("network: run -d in each network mode");
  const startup = await runDetachedByMode(ctx, d);
  const upMedian = (name: string) => summarize(startup.up[name]).median;
  const overhead = (engine: string, mode: string) =>
    upMedian(`${engine} ${mode}`) - upMedian(`${engine} none`);

  ctx.log("network: connection rate and throughput, published port vs host loopback");
  const served = join(ctx.dir, "network-served");
  await makeServedDir(served);
  const hostPort = freePort(), corralPort = freePort();
  const host = hostHttpd(hostPort, served);
  let webId = "";
  let podmanWeb = "";
  let servers: Record<string, ServerFigures>;
  try {
    webId = await createContainer(d.api, httpdArgv(), {
      NetworkMode: "bridge",
      PortBindings: publish(String(corralPort)),
      Binds: [`${served}:${SERVED}:ro`],
    });
    await startContainer(d.api, webId);
    const targets: [string, number][] = [["host", hostPort], ["corral", corralPort]];
    if (podman) {
      const podmanPort = freePort();
      podmanWeb = await podmanHttpd(podman, podmanPort, served);
      targets.push(["podman", podmanPort]);
    }
    for (const [, port] of targets) await untilServing(port);
    servers = await measureServers(targets);
  } finally {
    host.kill("SIGKILL");
    await host.status;
    if (webId) await removeForce(d.api, webId);
    if (podmanWeb) await execOk(podman!.argv("rm", "-f", "-t", "0", podmanWeb));
  }
  const rate = (label: string) => servers[label].request.length / servers[label].seconds;
  const mbps = (label: string) => summarize(servers[label].mbps).median;

  await removeAllContainers(d.api);
  const leaksBefore = byKind(await d.networkLeaks());
  ctx.log(`network: ${ctx.opts.churn} run/rm cycles with -p`);
  const churn = await churnWithPorts(d, ctx.opts.churn);
  const leftovers = await containerCount(d.api);
  const netLeaks = await d.networkLeaks();
  const otherLeaks = d.leaks();
  const leaksAfter = byKind(netLeaks);
  const cycle = summarize(churn.ms);

  const p = podman !== null;
  const summary: SummaryRow[] = [
    {
      figure: "networking's cost on `run -d` → running via the API (p50 over `--network none`)",
      corral: `+${fmt(overhead("corral", "bridge"), 0)} ms bridge, +${
        fmt(overhead("corral", "bridge -p"), 0)
      } ms bridge -p`,
      peers: p
        ? `podman +${fmt(overhead("podman", "bridge"), 0)} ms, +${
          fmt(overhead("podman", "bridge -p"), 0)
        } ms`
        : "podman not run",
      ratio: p
        ? `${ratio(overhead("corral", "bridge -p"), overhead("podman", "bridge -p"))} (-p)`
        : "n/a",
      goal: "≤ 1 s (measured)",
      met: overhead("corral", "bridge") <= 1000 && overhead("corral", "bridge -p") <= 1000,
      why: `run -d → running takes ${fmt(upMedian("corral none"), 0)} ms with no network, ${
        fmt(upMedian("corral bridge"), 0)
      } ms on the bridge and ${fmt(upMedian("corral bridge -p"), 0)} ms with -p (p50).`,
    },
    {
      figure: `published port: connections/s, sequential, a new connection per request`,
      corral: `${fmt(rate("corral"), 0)}/s`,
      peers: `host loopback ${fmt(rate("host"), 0)}/s` +
        (p ? `, podman ${fmt(rate("podman"), 0)}/s` : ""),
      ratio: `${ratio(rate("corral"), rate("host"))} host`,
      goal: "≥ 0.5× host loopback",
      met: rate("corral") >= 0.5 * rate("host"),
      why: `a request takes ${p50p99(summarize(servers.corral.request))} through the port, ${
        p50p99(summarize(servers.host.request))
      } on the host's loopback.`,
    },
    {
      figure: `published port: throughput of a ${LARGE.bytes >> 20} MiB file (p50)`,
      corral: `${fmt(mbps("corral"), 0)} MB/s`,
      peers: `host loopback ${fmt(mbps("host"), 0)} MB/s` +
        (p ? `, podman ${fmt(mbps("podman"), 0)} MB/s` : ""),
      ratio: `${ratio(mbps("corral"), mbps("host"))} host`,
      goal: "≥ 0.5× host loopback",
      met: mbps("corral") >= 0.5 * mbps("host"),
    },
    {
      figure: `churn: ${ctx.opts.churn} run/rm cycles with -p: network objects left (${
        NETWORK_KINDS.join(", ")
      }); cycle time`,
      corral: `${leaksAfter.join(", ")}; ${fmt(cycle.median, 0)} ms a cycle (p50)` +
        (churn.failures.length ? ` (${churn.failures.length} cycles failed)` : ""),
      peers: "",
      ratio: "n/a",
      goal: "0 (cycle time measured)",
      met: netLeaks.length === 0 && otherLeaks.length === 0 && churn.failures.length === 0 &&
        leftovers === 0,
      why: [
        netLeaks.length ? `${netLeaks.length} left (${netLeaks.slice(0, 2).join("; ")})` : "",
        otherLeaks.length ? `other leaks: ${otherLeaks.slice(0, 2).join("; ")}` : "",
        churn.failures.length ? `${churn.failures.length} failed cycles` : "",
        leftovers ? `${leftovers} containers left` : "",
      ].filter(Boolean).join(", "),
    },
  ];
  const serverRows = (label: string, what: string) => [
    latencyRow(`${what}: a request on a new connection`, summarize(servers[label].request)),
  ];
  const tables: Table[] = [
    {
      title: `run -d busybox sleep to running, then rm -f, through the API (podman's CLI: -t 0)`,
      header: LATENCY_HEADER,
      rows: startup.rows,
    },
    {
      title: `GET of a ${SMALL.bytes}-byte file, ${REQUESTS} per server in batches of ${BATCH}, ` +
        "alternating; the client's own connect, write, read to close",
      header: LATENCY_HEADER,
      rows: [
        ...serverRows("host", "host `busybox httpd` on 127.0.0.1"),
        ...serverRows("corral", "corral container, published on 127.0.0.1"),
        ...(p ? serverRows("podman", "podman container, published on 127.0.0.1") : []),
      ],
    },
    {
      title: "connections/s and throughput",
      header: ["server", "connections/s", "MB/s p50", "MB/s min", "MB/s max"],
      rows: Object.keys(servers).map((label) => {
        const s = summarize(servers[label].mbps);
        return [label, fmt(rate(label), 0), fmt(s.median, 0), fmt(s.min, 0), fmt(s.max, 0)];
      }),
    },
    {
      title:
        `${ctx.opts.churn} cycles of create with -p 127.0.0.1::80 + start + wait + rm of \`true\` ` +
        `(cycle ${p50p99(cycle)})`,
      header: ["network objects left", "before the churn", "after the churn"],
      rows: [
        ...NETWORK_KINDS.map((k, i) => [k, String(leaksBefore[i]), String(leaksAfter[i])]),
        ["other leaks (mounts, cgroups, runc state, processes)", "", String(otherLeaks.length)],
        ["failed cycles", "", String(churn.failures.length)],
        ["containers left in the daemon", "", String(leftovers)],
      ],
    },
  ];
  const notes = [
    `A daemon of its own with a bridge \`${d.bridge}\` on a block of 198.18.0.0/15; every request goes to 127.0.0.1. The servers are busybox httpd serving the same directory (bind-mounted read-only into the containers); throughput is ${LARGE_FETCHES} fetches of the large file per server, alternating.`,
    "`before the churn` counts what is left once the containers of the figures above are removed.",
    ...netLeaks.slice(0, 5).map((l) => `leak: ${l}`),
    ...otherLeaks.slice(0, 5).map((l) => `leak: ${l}`),
    ...[...new Set(churn.failures)].slice(0, 3).map((f) => `failed cycle: ${f}`),
  ];
  return { summary, tables, notes };
}

/** Networking: run -d cost, published-port rate and throughput, churn with -p. */
export const networkSection: Section = {
  name: "network",
  title: "Networking: run -d cost, published ports, churn with -p",
  async run(ctx: BenchContext): Promise<SectionOutput> {
    const dir = await Deno.makeTempDir({ prefix: "corral-bench-net-" });
    // The daemon's cleanup releases the block (and removes dir), whatever happened.
    const d = new TestDaemon(dir, [], ctx.daemon.program, reserveTestBlock());
    let out: SectionOutput;
    try {
      out = await measure(ctx, d);
    } catch (err) {
      await d.cleanup().catch(() => {});
      throw err;
    }
    // Left after the daemon stops (its own checks): a finding for the churn row, not a crash.
    await d.cleanup().catch((err) => {
      const churnRow = out.summary.at(-1)!;
      churnRow.met = false;
      churnRow.why = [churnRow.why, `at the daemon's stop: ${(err as Error).message}`]
        .filter(Boolean).join(", ");
      out.notes.push(`cleanup of the networked daemon: ${(err as Error).message}`);
    });
    return out;
  },
};
