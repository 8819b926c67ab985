/**
 * What networking leaves in the kernel and the state dir, counted for the
 * leak checks of tests and benchmarks: veths on corral's bridges, IPAM
 * leases, iptables rules and chains tagged by container id, namespace files
 * and attachment files.
 * @module
 */
import { join } from "node:path";
import { outputClean } from "../sys/mod.ts";

/** What is left, by kind; each entry names one object. */
export interface NetworkLeaks {
  /** Interfaces enslaved to the bridges (`bridge/veth`). */
  veths: string[];
  /** host-local lease files (`network/ip`). */
  leases: string[];
  /** iptables-save lines (nat and filter) that mention the container or its chains. */
  iptablesRules: string[];
  /** Namespace files under the state dir. */
  netns: string[];
  /** Attachment files under the state dir. */
  attachments: string[];
}

/** The interfaces enslaved to a bridge. */
export function bridgeMembers(bridge: string): string[] {
  try {
    return [...Deno.readDirSync(`/sys/class/net/${bridge}/brif`)].map((e) => e.name);
  } catch {
    return [];
  }
}

/** The names of a directory's files or subdirectories (none when it is missing). */
function namesIn(dir: string, kind: "file" | "dir"): string[] {
  try {
    return [...Deno.readDirSync(dir)]
      .filter((e) => kind === "file" ? e.isFile : e.isDirectory).map((e) => e.name);
  } catch {
    return [];
  }
}

/**
 * The host-local leases under `dataDir` (one dir per CNI network name, one
 * file per address, holding the container id), of one container if given.
 */
export function leases(dataDir: string, containerId?: string): string[] {
  const found: string[] = [];
  for (const network of namesIn(dataDir, "dir")) {
    for (const file of namesIn(join(dataDir, network), "file")) {
      // Besides the leases: `lock` and `last_reserved_ip.N`.
      if (file === "lock" || file.startsWith("last_reserved_ip")) continue;
      const owner = Deno.readTextFileSync(join(dataDir, network, file)).split(/\s/)[0];
      if (containerId === undefined || owner === containerId) found.push(`${network}/${file}`);
    }
  }
  return found;
}

/** The names of the chains CNI makes for a container on a network (the masquerade and DNAT ones). */
export async function cniChainNames(networkName: string, containerId: string): Promise<string[]> {
  const digest = await crypto.subtle.digest(
    "SHA-512",
    new TextEncoder().encode(networkName + containerId),
  );
  const hex = Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
  // CNI's chain names are 28 characters: the prefix, then the hash.
  return ["CNI-", "CNI-DN-"].map((prefix) => (prefix + hex).slice(0, 28));
}

/**
 * The iptables-save lines of the nat and filter tables that mention any of
 * `words` (container ids, chain names).
 */
export async function iptablesLines(words: readonly string[]): Promise<string[]> {
  const found: string[] = [];
  for (const table of ["nat", "filter"]) {
    const out = await outputClean("iptables-save", { args: ["-t", table], stderr: "piped" });
    if (!out.success) {
      throw new Error(`iptables-save -t ${table}: ${new TextDecoder().decode(out.stderr).trim()}`);
    }
    const lines = new TextDecoder().decode(out.stdout).split("\n");
    found.push(...lines.filter((line) => words.some((w) => line.includes(w))));
  }
  return found;
}

/** Where corral's networking objects are. */
export interface LeakPlaces {
  /** Each network's id (its CNI name) and bridge. */
  networks: { id: string; bridge: string }[];
  /** host-local's data dir. */
  dataDir: string;
  netnsDir: string;
  /** The containers with an attachment file. */
  attached: string[];
}

/**
 * What is left of one container, or of all (then iptables rules are those
 * tagged with a network's id). Veths are counted per bridge: a veth does not
 * say whose it is.
 *
 * @example
 * ```ts
 * const left = await collectLeaks(
 *   { networks: [], dataDir: "/run/corral/cni/ipam", netnsDir: "/run/corral/netns", attached: [] },
 *   "0123",
 * );
 * left.leases.length; // 0 once detached
 * ```
 */
export async function collectLeaks(
  places: LeakPlaces,
  containerId?: string,
): Promise<NetworkLeaks> {
  const { networks, dataDir, netnsDir } = places;
  const chains = containerId === undefined
    ? []
    : (await Promise.all(networks.map((n) => cniChainNames(n.id, containerId)))).flat();
  const words = containerId === undefined ? networks.map((n) => n.id) : [containerId, ...chains];
  const mine = (name: string) => containerId === undefined || name === containerId;
  return {
    veths: networks.flatMap((n) => bridgeMembers(n.bridge).map((veth) => `${n.bridge}/${veth}`)),
    leases: leases(dataDir, containerId),
    iptablesRules: await iptablesLines(words),
    netns: namesIn(netnsDir, "file").filter(mine).map((name) => join(netnsDir, name)),
    attachments: places.attached.filter(mine),
  };
}
