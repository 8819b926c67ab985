/**
 * What the real-CNI tests share: a manager of their own (own root and state
 * dirs, own bridge `cr-XXXXXXXX`, a /24 of 198.18.0.0/15, the range RFC 2544
 * reserves for tests, that the host does not route), commands run inside a
 * namespace, and a cleanup that removes everything made even when a test
 * fails: attachments (CNI DEL), namespaces, bridges, dirs.
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

/** A /24 of 198.18.0.0/15 the host does not route now. */
export function freeTestSubnet(): string {
  const routes = hostRoutes().map((r) => r.destination);
  for (;;) {
    const n = Math.floor(Math.random() * 512);
    const subnet = `198.${18 + (n >> 8)}.${n & 255}.0/24`;
    if (!routes.some((r) => overlaps(r, parseSubnet(subnet)))) return subnet;
  }
}

/** One test's networking world. */
export interface TestNet {
  manager: NetworkManager;
  root: string;
  state: string;
  bridge: string;
  /** The default network's subnet (a free /24 of 198.18.0.0/15 unless the options say). */
  subnet: string;
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
  options: NetworkManagerOptions = {},
): Promise<void> {
  const root = await Deno.makeTempDir({ prefix: "corral-net-root-" });
  const state = await Deno.makeTempDir({ prefix: "corral-net-state-" });
  const bridge = `cr-${randomHex(8)}`;
  const all = { bridgeName: bridge, defaultSubnet: freeTestSubnet(), ...options };
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
