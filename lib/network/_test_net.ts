/**
 * What the real-CNI tests share: blocks of 198.18.0.0/15 (the range RFC 2544
 * reserves for tests) that one test process holds at a time, a manager of
 * their own (own root and state dirs, own bridge `cr-XXXXXXXX`, a /24 of its
 * block), commands run inside a namespace, and a cleanup that removes
 * everything made even when a test fails: attachments (CNI DEL), namespaces,
 * bridges, dirs. The integration harness (tests/harness.ts) takes its
 * daemons' blocks here too, so no two tests ever share a subnet.
 * @module
 */
import { NetworkManager, type NetworkManagerOptions } from "./manager.ts";
import { hostRoutes, overlaps, parseSubnet } from "./subnet.ts";
import { removeNetns } from "./netns.ts";
import { randomHexId } from "./model.ts";
import { outputClean } from "../sys/mod.ts";

/** A random lowercase hex string of `n` (at most 64) digits. */
export function randomHex(n: number): string {
  return randomHexId().slice(0, n);
}

/** Where the held blocks are noted: a file per block, holding its holder's pid. */
const RESERVATIONS = "/tmp/corral-test-nets";
/** 198.18.0.0/15 in /22 blocks. */
const BLOCKS = 128;

/** A /22 of 198.18.0.0/15 held by this process until released. */
export interface TestBlock {
  /** The block, e.g. `198.18.12.0/22`. */
  cidr: string;
  /** Its four /24s. */
  subnets: string[];
  /** Whether a text (an iptables rule) names an address of the block. */
  mentions(text: string): boolean;
  /** Let another test have it. */
  release(): void;
}

/**
 * Hold a block no other test process holds and the host does not route.
 * A block whose holder is gone (a killed test run) is taken over.
 */
export function reserveTestBlock(): TestBlock {
  Deno.mkdirSync(RESERVATIONS, { recursive: true });
  const routes = hostRoutes().map((r) => r.destination);
  const start = Math.floor(Math.random() * BLOCKS);
  for (let i = 0; i < BLOCKS; i++) {
    const k = (start + i) % BLOCKS;
    const second = 18 + (k >> 6);
    const third = (k & 63) * 4;
    const cidr = `198.${second}.${third}.0/22`;
    if (routes.some((r) => overlaps(r, parseSubnet(cidr)))) continue;
    const path = `${RESERVATIONS}/${k}`;
    if (!claim(path)) continue;
    const prefixes = [0, 1, 2, 3].map((j) => `198.${second}.${third + j}.`);
    return {
      cidr,
      subnets: prefixes.map((p) => `${p}0/24`),
      mentions: (text) => prefixes.some((p) => text.includes(p)),
      release: () => Deno.removeSync(path),
    };
  }
  throw new Error(`no free test block of 198.18.0.0/15 (see ${RESERVATIONS})`);
}

/** Take a reservation file, or over one whose holder is gone. */
function claim(path: string): boolean {
  try {
    Deno.writeTextFileSync(path, String(Deno.pid), { createNew: true });
    return true;
  } catch (err) {
    if (!(err instanceof Deno.errors.AlreadyExists)) throw err;
  }
  const holder = Number(Deno.readTextFileSync(path));
  let alive = true;
  try {
    Deno.statSync(`/proc/${holder}`);
  } catch {
    alive = false;
  }
  if (alive) return false;
  Deno.removeSync(path);
  return claim(path);
}

/** One test's networking world. */
export interface TestNet {
  manager: NetworkManager;
  root: string;
  state: string;
  bridge: string;
  /** The default network's subnet (the first /24 of the block unless the options say). */
  subnet: string;
  /** The test's block of addresses. */
  block: TestBlock;
  /** Make a container id, its namespace, and remember both for the cleanup. */
  newContainer(): Promise<{ id: string; netns: string }>;
  /** A new manager on the same dirs (a daemon restart); cleaned up too. */
  reopen(): Promise<NetworkManager>;
}

/** Run a command in a namespace's network; returns its output, throws on failure. */
export async function inNetns(netns: string, args: string[]): Promise<string> {
  const out = await outputClean("nsenter", { args: [`--net=${netns}`, ...args], stderr: "piped" });
  const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  if (!out.success) throw new Error(`${args.join(" ")} in ${netns} failed: ${text}`);
  return text;
}

/** Run `fn` with its own networking world, then remove all of it. */
export async function withTestNet(
  fn: (net: TestNet) => Promise<void>,
  options: NetworkManagerOptions | ((block: TestBlock) => NetworkManagerOptions) = {},
): Promise<void> {
  const block = reserveTestBlock();
  try {
    await withBlock(block, fn, typeof options === "function" ? options(block) : options);
  } finally {
    block.release();
  }
}

async function withBlock(
  block: TestBlock,
  fn: (net: TestNet) => Promise<void>,
  options: NetworkManagerOptions,
): Promise<void> {
  const root = await Deno.makeTempDir({ prefix: "corral-net-root-" });
  const state = await Deno.makeTempDir({ prefix: "corral-net-state-" });
  const bridge = `cr-${randomHex(8)}`;
  const all = { bridgeName: bridge, defaultSubnet: block.subnets[0], ...options };
  const managers = [new NetworkManager(root, state, all)];
  const ids: string[] = [];
  try {
    await managers[0].load();
    await fn({
      manager: managers[0],
      root,
      state,
      bridge,
      subnet: managers[0].inspect("bridge").IPAM.Config[0].Subnet,
      block,
      newContainer: async () => {
        const id = randomHex(64);
        ids.push(id);
        return { id, netns: await managers[0].createNetns(id) };
      },
      reopen: async () => {
        const manager = new NetworkManager(root, state, all);
        managers.push(manager);
        await manager.load();
        return manager;
      },
    });
  } finally {
    await cleanUp(managers.at(-1)!, ids, state);
    await Deno.remove(root, { recursive: true });
    await Deno.remove(state, { recursive: true });
  }
}

/** Detach and remove every container, then the bridges; the first failure is thrown at the end. */
async function cleanUp(manager: NetworkManager, ids: string[], state: string): Promise<void> {
  const failures: unknown[] = [];
  for (const id of ids) {
    await manager.detach(id).catch((err) => failures.push(err));
    await removeNetns(`${state}/netns/${id}`).catch((err) => failures.push(err));
  }
  await manager.removeBridges().catch((err) => failures.push(err));
  if (failures.length > 0) throw failures[0];
}
