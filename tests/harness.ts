/**
 * Test harness: a real corral daemon with its own root, state dir, socket and
 * cgroup parent, a CLI runner, and the leak checks every integration test
 * ends with (no mount, cgroup, runc state, process or fd left behind).
 * @module
 */
import { join } from "node:path";
import { ApiClient } from "../lib/api/mod.ts";
import type { ContainerRecord } from "../lib/container/mod.ts";
import type { CorralEvent } from "../lib/events/mod.ts";
import { cgroupDirs, cgroupMounts } from "../lib/runtime/mod.ts";
import {
  isAlive,
  mountsUnder,
  outputClean,
  type ProcessIdentity,
  signalProcess,
  signals,
  unmount,
} from "../lib/sys/mod.ts";
import { reserveTestBlock, type TestBlock } from "../lib/network/_test_net.ts";
import { collectLeaks } from "../lib/network/leaks.ts";
import { NetworkManager } from "../lib/network/mod.ts";

export { sleep } from "../lib/sys/mod.ts";

/** The checkout, without a trailing slash. */
export const REPO = new URL("..", import.meta.url).pathname.replace(/\/$/, "");
/** The deno binary of the checkout. */
export const DENO = join(REPO, "node_modules/deno/deno");
/** The arguments of {@linkcode DENO} before a script of the checkout, as `./corral` gives them. */
export const RUN_ARGS = ["run", "-A", "--no-prompt", "--config", join(REPO, "deno.json")];
/** argv prefix that runs corral from the checkout. */
export const CORRAL = [DENO, ...RUN_ARGS, join(REPO, "main.ts")];

/** How long a test daemon's group shims stay with no container. */
export const GROUP_SHIM_IDLE_MS = 200;

/**
 * The environment that keeps a daemon under test on loopback: every HTTP(S)
 * request to anything but 127.0.0.1 goes to a proxy that is not there (a
 * pull of `busybox` from Docker Hub fails as "unreachable", it never leaves
 * the machine).
 */
export const LOOPBACK_ONLY = {
  HTTP_PROXY: "http://127.0.0.1:9",
  HTTPS_PROXY: "http://127.0.0.1:9",
  NO_PROXY: "127.0.0.1,localhost",
};

/** Options of integration tests: the harness checks leaks itself. */
export const integration = { sanitizeOps: false, sanitizeResources: false } as const;

/** What `GET /containers/ID/json` returns (the fields tests read). */
export type Inspect = Omit<ContainerRecord, "Name"> & {
  Name: string;
  LogPath: string;
  [k: string]: unknown;
};

/** The result of a CLI call. */
export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** A daemon under test. */
export class TestDaemon {
  proc: Deno.ChildProcess | null = null;
  api: ApiClient;
  readonly root: string;
  readonly state: string;
  readonly sock: string;
  readonly host: string;
  readonly cgroupParent: string;
  readonly logFile: string;
  /** The default network's bridge (networked daemons). */
  readonly bridge: string;

  /**
   * `net`: the daemon's own block of test addresses: its default network
   * (bridge `cr-XXXXXXXX`) on the block's first /24, user networks from the
   * rest. Without one the daemon has no default network (`--bridge none`).
   */
  constructor(
    readonly dir: string,
    readonly extraArgs: string[] = [],
    readonly program: string[] = CORRAL,
    readonly net: TestBlock | null = null,
  ) {
    this.root = join(dir, "root");
    this.state = join(dir, "state");
    this.sock = join(dir, "corral.sock");
    this.host = `unix://${this.sock}`;
    this.cgroupParent = `corral-test-${dir.split("-").at(-1)}`;
    this.logFile = join(dir, "daemon.log");
    this.bridge = `cr-${dir.split("-").at(-1)!.toLowerCase().slice(0, 8)}`;
    this.api = new ApiClient(this.host);
  }

  /** The daemon's network flags. */
  networkArgs(): string[] {
    if (!this.net) return ["--bridge", "none"];
    return [
      "--bridge",
      this.bridge,
      "--bip",
      this.net.subnets[0].replace(".0/24", ".1/24"),
      "--default-address-pool",
      `base=${this.net.cidr},size=24`,
    ];
  }

  /** The daemon's argv. */
  daemonArgs(): string[] {
    return [
      ...this.program,
      "daemon",
      "--root",
      this.root,
      "--state",
      this.state,
      "--host",
      this.host,
      "--cgroup-parent",
      this.cgroupParent,
      // Group shims with no container left go at once: the leak check waits for them.
      "--shim-idle-time",
      `${GROUP_SHIM_IDLE_MS}ms`,
      ...this.networkArgs(),
      ...this.extraArgs,
    ];
  }

  /** Start the daemon and wait until it answers /_ping (polled every `pollMs`). */
  async start(extra: string[] = [], pollMs = 50): Promise<void> {
    const quoted = [...this.daemonArgs(), ...extra].map((a) => `'${a.replaceAll("'", "'\\''")}'`)
      .join(" ");
    this.proc = new Deno.Command("sh", {
      args: ["-c", `exec ${quoted} >>'${this.logFile}' 2>&1`],
      env: { RUST_BACKTRACE: "0", ...LOOPBACK_ONLY },
      stdin: "null",
    }).spawn();
    const deadline = Date.now() + 20_000;
    while (Date.now() < deadline) {
      try {
        const res = await this.api.request("GET", "/_ping");
        await res.body?.cancel();
        if (res.ok) return;
      } catch {
        // Not up yet.
      }
      const st = await Promise.race([this.proc.status, new Promise((r) => setTimeout(r, pollMs))]);
      if (st) throw new Error(`daemon exited early:\n${await this.log()}`);
    }
    throw new Error(`daemon did not come up:\n${await this.log()}`);
  }

  /** The daemon's log so far. */
  async log(): Promise<string> {
    return await Deno.readTextFile(this.logFile).catch(() => "");
  }

  /** The daemon's pid. */
  get pid(): number {
    if (!this.proc) throw new Error("daemon not started");
    return this.proc.pid;
  }

  /** SIGKILL the daemon (a crash). */
  async kill9(): Promise<void> {
    if (!this.proc) return;
    this.proc.kill("SIGKILL");
    await this.proc.status;
    this.proc = null;
    this.api.close();
    this.api = new ApiClient(this.host);
  }

  /** SIGTERM the daemon and wait for it. */
  async stop(): Promise<void> {
    if (!this.proc) return;
    this.proc.kill("SIGTERM");
    const st = await this.proc.status;
    this.proc = null;
    this.api.close();
    this.api = new ApiClient(this.host);
    if (!st.success) throw new Error(`daemon exited ${st.code} on SIGTERM:\n${await this.log()}`);
  }

  /** Run the CLI against this daemon. */
  async cli(...args: string[]): Promise<CliResult> {
    const out = await new Deno.Command(this.program[0], {
      args: [...this.program.slice(1), "-H", this.host, ...args],
      env: { RUST_BACKTRACE: "0" },
      stdin: "null",
    }).output();
    const dec = new TextDecoder();
    return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
  }

  /** Run the CLI and fail on a non-zero exit. */
  async ok(...args: string[]): Promise<string> {
    const r = await this.cli(...args);
    if (r.code !== 0) {
      throw new Error(`corral ${args.join(" ")} exited ${r.code}: ${r.stderr}${r.stdout}`);
    }
    return r.stdout.trim();
  }

  /** Inspect a container (JSON). */
  async inspect(ref: string): Promise<Inspect> {
    return await this.api.json("GET", `/containers/${encodeURIComponent(ref)}/json`);
  }

  /** A container's `State.Status`. */
  async status(ref: string): Promise<string> {
    return (await this.inspect(ref)).State.Status;
  }

  /** Wait until a container's `State.Status` is `want`. */
  async untilStatus(ref: string, want: string, ms = 10_000): Promise<void> {
    await this.until(async () => (await this.status(ref)) === want, ms, `${ref} ${want}`);
  }

  /**
   * The journaled events from `since` (seconds, or a time the CLI takes) to
   * now that pass the CLI's `--filter`s (`container=web`, `event=die`),
   * oldest first: `corral events --since --until --format json`.
   */
  async pastEvents(since: number | string, ...filters: string[]): Promise<CorralEvent[]> {
    const out = await this.ok(
      "events",
      "--since",
      String(since),
      "--until",
      String(Date.now() / 1000),
      "--format",
      "json",
      ...filters.flatMap((f) => ["--filter", f]),
    );
    return out ? out.split("\n").map((l) => JSON.parse(l)) : [];
  }

  /** Poll `cond` every 10 ms until it holds or `ms` passes. */
  async until(
    cond: () => Promise<boolean> | boolean,
    ms = 10_000,
    what = "condition",
  ): Promise<void> {
    const deadline = Date.now() + ms;
    while (Date.now() < deadline) {
      if (await cond()) return;
      await new Promise((r) => setTimeout(r, 10));
    }
    throw new Error(
      `timed out after ${ms} ms waiting for ${what}\n--- daemon log ---\n${await this.log()}`,
    );
  }

  /** The first of `files` (v1 and v2 names of one setting) in a container's cgroup directories. */
  cgroupFile(id: string, files: string[]): string {
    for (const dir of cgroupDirs(`/${this.cgroupParent}/${id}`)) {
      for (const f of files) {
        try {
          return Deno.readTextFileSync(join(dir, f)).trim();
        } catch {
          // Not in this hierarchy.
        }
      }
    }
    throw new Error(`none of ${files.join(", ")} in the cgroups of ${id}`);
  }

  /** Leaks of this daemon: mounts, cgroup dirs, runc state, processes. */
  leaks(): string[] {
    const out: string[] = [];
    const volumes = join(this.root, "volumes");
    for (const m of mountsUnder(this.dir)) {
      out.push(m.startsWith(`${volumes}/`) ? `volume mount ${m}` : `mount ${m}`);
    }
    for (const mnt of cgroupMounts()) {
      try {
        for (const e of Deno.readDirSync(join(mnt, this.cgroupParent))) {
          if (e.isDirectory) out.push(`cgroup ${join(mnt, this.cgroupParent, e.name)}`);
        }
      } catch {
        // No parent in this hierarchy.
      }
    }
    try {
      for (const e of Deno.readDirSync(join(this.state, "runc"))) out.push(`runc state ${e.name}`);
    } catch {
      // No runc root.
    }
    // Attach and console sockets live in the state dirs: none may outlive its container.
    try {
      for (const dir of Deno.readDirSync(join(this.state, "containers"))) {
        for (const e of Deno.readDirSync(join(this.state, "containers", dir.name))) {
          if (e.name.endsWith(".sock")) out.push(`socket ${dir.name}/${e.name}`);
        }
      }
    } catch {
      // No state dirs.
    }
    for (const pid of processesMentioning(this.dir)) {
      // A group shim outlives its last container by its idle time: cleanup checks it.
      if (pid === this.proc?.pid || argvOf(pid).includes("--group")) continue;
      out.push(`process ${pid}: ${argvOf(pid).join(" ")}`);
    }
    // Downloads, unpacks and archives in progress live in images/tmp; none outlives its request.
    try {
      for (const e of Deno.readDirSync(join(this.root, "images", "tmp"))) {
        out.push(`temp file images/tmp/${e.name}`);
      }
    } catch {
      // No image store.
    }
    return out;
  }

  /**
   * Wait for this daemon's group shims to exit once idle (they outlive the
   * daemon); returns those still there, as leaks.
   */
  async groupShimsLeft(timeoutMs = GROUP_SHIM_IDLE_MS + 3000): Promise<string[]> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const shims = processesWhose((argv) =>
        argv.includes("--group") && argv.join(" ").includes(this.dir)
      );
      if (shims.length === 0 || Date.now() > deadline) {
        return shims.map((pid) => `group shim ${pid}: ${argvOf(pid).join(" ")}`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /**
   * What networking holds: veths on the daemon's bridges, IPAM leases,
   * namespaces, attachments, and iptables rules naming its addresses; with
   * no container left, all of it is a leak.
   */
  async networkLeaks(): Promise<string[]> {
    if (!this.net) return [];
    const block = this.net;
    const rules = (await iptablesSave()).filter((line) => block.mentions(line));
    return [...await this.networkLeaksOf(), ...rules.map((r) => `iptables ${r}`)];
  }

  /** What networking holds of one container (all of them: every container's). */
  async networkLeaksOf(containerId?: string): Promise<string[]> {
    const left = await collectLeaks({
      networks: this.#networks().map((n) => ({ id: n.Id, bridge: n.bridge })),
      dataDir: join(this.state, "cni", "ipam"),
      netnsDir: join(this.state, "netns"),
      attached: namesIn(join(this.state, "cni", "attachments")).map((f) =>
        f.replace(/\.json$/, "")
      ),
    }, containerId);
    return [
      ...(containerId === undefined ? left.veths.map((v) => `veth ${v}`) : []),
      ...left.leases.map((l) => `IPAM lease ${l}`),
      ...left.netns.map((n) => `netns ${n}`),
      ...left.attachments.map((a) => `attachment ${a}`),
      ...(containerId === undefined ? [] : left.iptablesRules.map((r) => `iptables ${r}`)),
    ];
  }

  /** The daemon's networks as saved: id and bridge. */
  #networks(): { Id: string; bridge: string }[] {
    return namesIn(join(this.root, "networks")).filter((f) => f.endsWith(".json")).map((f) => {
      const n = JSON.parse(Deno.readTextFileSync(join(this.root, "networks", f)));
      return { Id: n.Id, bridge: n.Options["com.docker.network.bridge.name"] };
    });
  }

  /** Daemon fds still open on container files (exit fifos, logs, bundles). */
  containerFdsOfDaemon(): string[] {
    if (!this.proc) return [];
    const dirs = [join(this.root, "containers"), join(this.state, "containers")];
    const out: string[] = [];
    for (const e of Deno.readDirSync(`/proc/${this.proc.pid}/fd`)) {
      let target = "";
      try {
        target = Deno.readLinkSync(`/proc/${this.proc.pid}/fd/${e.name}`);
      } catch {
        continue; // Closed meanwhile.
      }
      if (dirs.some((d) => target.startsWith(d))) out.push(`daemon fd ${e.name} -> ${target}`);
    }
    return out;
  }

  /**
   * Remove every container, check the daemon holds no container file, stop it, assert nothing leaked, remove
   * the test dir and the cgroup parents.
   */
  async cleanup(): Promise<void> {
    let leaks: string[] = [];
    try {
      if (!this.proc) await this.start();
      const list = await this.api.json<{ Id: string }[]>("GET", "/containers/json?all=1");
      for (const c of list) {
        await this.api.call("DELETE", `/containers/${c.Id}?force=1`).catch(() => {});
      }
      const held = this.containerFdsOfDaemon();
      await this.stop();
      held.push(...await this.groupShimsLeft());
      leaks = [...held, ...this.leaks(), ...await this.networkLeaks()];
    } finally {
      await forceClean(this);
    }
    if (leaks.length) throw new Error(`test leaked:\n${leaks.join("\n")}`);
  }
}

/**
 * What a host reboot leaves: no daemon, no shims, no containers (of `ids`),
 * nothing of their network in the kernel, no mounts (volumes' too), an empty tmpfs
 * state dir; the root stays.
 */
export async function simulateReboot(d: TestDaemon, ids: string[]): Promise<void> {
  const procs: ProcessIdentity[] = [];
  for (const id of ids) {
    const st = (await d.inspect(id)).State;
    if (st.Pid > 0) {
      procs.push({ pid: st.PPid, startTime: st.PStartTime }, {
        pid: st.Pid,
        startTime: st.StartTime,
      });
    }
  }
  await d.kill9();
  for (const proc of procs) signalProcess(proc, signals.KILL);
  await d.until(() => !procs.some(isAlive), 5000, "containers and shims dead");
  await dropNetworkState(d);
  // A reboot unmounts everything: the rootfs mounts in the state dir, the volumes' in the root.
  for (const m of mountsUnder(d.dir).reverse()) unmount(m);
  await Deno.remove(d.state, { recursive: true });
}

/** A free TCP port on 127.0.0.1 (the kernel's choice, let go at once). */
export function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  return port;
}

/** GET `http://127.0.0.1:PORT/PATH`, retried until it answers (a server starting up). */
export async function httpGet(port: number, path: string, ms = 15_000): Promise<string> {
  const deadline = Date.now() + ms;
  for (;;) {
    try {
      const res = await fetch(`http://127.0.0.1:${port}/${path}`);
      return await res.text();
    } catch (err) {
      if (Date.now() > deadline) throw new Error(`127.0.0.1:${port} never answered: ${err}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

/** Pids whose command line mentions `text` (shims and daemons of a test dir). */
export function processesMentioning(text: string): number[] {
  return processesWhose((argv) => argv.join(" ").includes(text));
}

/** Pids whose whole command line is `argv`. */
export function processesRunning(argv: string[]): number[] {
  const want = JSON.stringify(argv);
  return processesWhose((other) => JSON.stringify(other) === want);
}

/** Pids of the other processes whose argv passes `test`. */
function processesWhose(test: (argv: string[]) => boolean): number[] {
  const pids: number[] = [];
  for (const e of Deno.readDirSync("/proc")) {
    const pid = Number(e.name);
    if (/^\d+$/.test(e.name) && pid !== Deno.pid && test(argvOf(pid))) pids.push(pid);
  }
  return pids;
}

/** The argv of a process ([] once it is gone, or for a kernel thread). */
function argvOf(pid: number): string[] {
  try {
    return Deno.readTextFileSync(`/proc/${pid}/cmdline`).split("\0").slice(0, -1);
  } catch {
    return [];
  }
}

/** The names in a directory (none when it is missing). */
function namesIn(dir: string): string[] {
  try {
    return [...Deno.readDirSync(dir)].map((e) => e.name);
  } catch {
    return [];
  }
}

/** The nat and filter tables' rules. */
async function iptablesSave(): Promise<string[]> {
  const lines: string[] = [];
  for (const table of ["nat", "filter"]) {
    const out = await outputClean("iptables-save", { args: ["-t", table] });
    lines.push(...new TextDecoder().decode(out.stdout).split("\n"));
  }
  return lines;
}

/**
 * Drop what a networked daemon's containers hold in the kernel (its daemon
 * not running): every attachment DELeted (veth, lease, rules), namespaces
 * unmounted, bridges deleted. A host reboot does as much; so does the
 * last-resort cleanup.
 */
export async function dropNetworkState(d: TestDaemon): Promise<void> {
  if (!d.net) return;
  try {
    const manager = new NetworkManager(d.root, d.state, { defaultNetwork: false });
    await manager.load();
    for (const id of namesIn(join(d.state, "cni", "attachments"))) {
      await manager.detach(id.replace(/\.json$/, "")).catch(() => {});
    }
    for (const id of namesIn(join(d.state, "netns"))) await manager.removeNetns(id).catch(() => {});
    await manager.removeBridges().catch(() => {});
  } catch {
    // No networks saved: nothing was made.
  }
  await outputClean("ip", { args: ["link", "del", d.bridge] }).catch(() => {});
}

/** Last-resort cleanup so one failed test does not break the next ones. */
async function forceClean(d: TestDaemon): Promise<void> {
  d.api.close();
  for (const pid of processesMentioning(d.dir)) {
    try {
      Deno.kill(pid, "SIGKILL");
    } catch {
      // Gone.
    }
  }
  await dropNetworkState(d);
  d.net?.release();
  try {
    for (const e of Deno.readDirSync(join(d.state, "runc"))) {
      await new Deno.Command("runc", {
        args: ["--root", join(d.state, "runc"), "delete", "-f", e.name],
      }).output();
    }
  } catch {
    // No runc root.
  }
  for (const m of mountsUnder(d.dir).reverse()) {
    await new Deno.Command("umount", { args: ["-l", m] }).output();
  }
  for (const mnt of cgroupMounts()) {
    const parent = join(mnt, d.cgroupParent);
    try {
      for (const e of Deno.readDirSync(parent)) {
        if (e.isDirectory) Deno.removeSync(join(parent, e.name));
      }
      Deno.removeSync(parent);
    } catch {
      // Not there.
    }
  }
  await Deno.remove(d.dir, { recursive: true }).catch(() => {});
}

/**
 * Run `fn` with a fresh daemon; cleanup and leak checks run after it.
 *
 * @example
 * ```ts
 * Deno.test("x", integration, () => withDaemon(async (d) => { await d.ok("ps"); }));
 * ```
 */
export async function withDaemon(
  fn: (d: TestDaemon) => Promise<void>,
  opts: { args?: string[]; start?: boolean; program?: string[]; network?: boolean } = {},
): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "corral-test-" });
  const net = opts.network ? reserveTestBlock() : null;
  const d = new TestDaemon(dir, opts.args ?? [], opts.program, net);
  let failed: unknown = null;
  try {
    if (opts.start !== false) await d.start();
    await fn(d);
  } catch (err) {
    failed = err;
  }
  try {
    await d.cleanup();
  } catch (err) {
    if (!failed) failed = err;
  }
  if (failed) throw failed;
}

/** Number of open fds of a process. */
export function fdCount(pid: number): number {
  return Array.from(Deno.readDirSync(`/proc/${pid}/fd`)).length;
}

/** The JSON lines of a streamed body (`GET /events`), read one at a time. */
export class JsonLines<T> {
  readonly #reader: ReadableStreamDefaultReader<Uint8Array>;
  readonly #decoder = new TextDecoder();
  #buffer = "";

  constructor(res: Response) {
    this.#reader = res.body!.getReader();
  }

  /** The next line's value; null once the stream has ended. */
  async next(): Promise<T | null> {
    for (;;) {
      const nl = this.#buffer.indexOf("\n");
      if (nl >= 0) {
        const line = this.#buffer.slice(0, nl);
        this.#buffer = this.#buffer.slice(nl + 1);
        return JSON.parse(line);
      }
      const { value, done } = await this.#reader.read();
      if (done) return null;
      this.#buffer += this.#decoder.decode(value, { stream: true });
    }
  }

  /** Stop reading: the response is released. */
  async close(): Promise<void> {
    await this.#reader.cancel().catch(() => {});
  }
}

/** Read JSON lines from a streamed body (`GET /events`) until `done` says so; returns them. */
export async function readJsonLines<T>(res: Response, done: (items: T[]) => boolean): Promise<T[]> {
  const lines = new JsonLines<T>(res);
  const out: T[] = [];
  while (!done(out)) {
    const item = await lines.next();
    if (item === null) break;
    out.push(item);
  }
  await lines.close();
  return out;
}
