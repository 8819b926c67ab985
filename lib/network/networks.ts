/**
 * A network's record, its subnet decided against the host's routes and the
 * other networks, its Linux bridge, and the CNI configuration list that
 * attaches a container to it.
 * @module
 */
import { conflict, invalid } from "../errdefs/mod.ts";
import { outputClean } from "../sys/mod.ts";
import { CNI_VERSION, type CniConfList } from "./cni.ts";
import {
  type AddressPool,
  firstFreeSubnet,
  firstHost,
  formatIpv4,
  formatSubnet,
  type HostRoute,
  isHostOf,
  overlaps,
  parseIpv4,
  parseSubnet,
  type Subnet,
} from "./subnet.ts";
import { BRIDGE_NAME_OPTION, type NetworkRecord, randomHexId } from "./model.ts";

/** What a new network is made of. */
export interface NetworkSpec {
  name: string;
  /** A CIDR; chosen from the address pools when absent. */
  subnet?: string;
  /** An address of the subnet; its first host when absent. */
  gateway?: string;
  /** No outbound traffic: no masquerading, no default route. */
  internal?: boolean;
  labels?: Record<string, string>;
  options?: Record<string, string>;
}

/** The Linux bridge of a network. */
export function bridgeOf(network: NetworkRecord): string {
  return network.Options[BRIDGE_NAME_OPTION];
}

/** The subnet of a network. */
export function subnetOf(network: NetworkRecord): Subnet {
  return parseSubnet(network.IPAM.Config[0].Subnet);
}

/**
 * The subnet and gateway of a new network: the asked ones, checked against
 * the host's routes and the other networks (a clear error on a collision), or
 * the first free subnet of the pools.
 *
 * @example
 * ```ts
 * const pools = [{ base: "198.18.0.0/16", size: 24 }];
 * decideSubnet({ name: "n" }, pools, [], []); // { subnet: "198.18.0.0/24", gateway: "198.18.0.1" }
 * ```
 */
export function decideSubnet(
  spec: NetworkSpec,
  pools: readonly AddressPool[],
  routes: readonly HostRoute[],
  networks: readonly NetworkRecord[],
): { subnet: string; gateway: string } {
  const taken = [...routes.map((r) => r.destination), ...networks.map(subnetOf)];
  let subnet: Subnet;
  if (spec.subnet !== undefined) {
    subnet = parseSubnet(spec.subnet);
    if (subnet.prefix > 30) throw invalid(`invalid subnet ${spec.subnet}: at most /30`);
    const route = routes.find((r) => overlaps(r.destination, subnet));
    if (route) {
      throw conflict(
        `subnet ${spec.subnet} collides with the host's route ${
          formatSubnet(route.destination)
        } on ${route.iface}`,
      );
    }
    const other = networks.find((n) => overlaps(subnetOf(n), subnet));
    if (other) throw conflict(`subnet ${spec.subnet} overlaps network ${other.Name}'s subnet`);
  } else {
    if (spec.gateway !== undefined) throw invalid("a gateway needs a subnet");
    const free = firstFreeSubnet(pools, taken);
    if (!free) throw conflict("the address pools have no subnet left that the host does not route");
    subnet = free;
  }
  const gateway = spec.gateway === undefined ? firstHost(subnet) : parseIpv4(spec.gateway);
  if (gateway === null || !isHostOf(subnet, gateway)) {
    throw invalid(`invalid gateway ${spec.gateway}: not a host address of ${formatSubnet(subnet)}`);
  }
  return { subnet: formatSubnet(subnet), gateway: formatIpv4(gateway) };
}

/**
 * A new network's record, in Docker's shape. Its bridge is the one named in
 * its options, or `cr-` and the id's first 12 digits (15 characters, the
 * longest interface name Linux takes).
 */
export function newNetworkRecord(
  spec: NetworkSpec,
  ipam: { subnet: string; gateway: string },
): NetworkRecord {
  const id = randomHexId();
  return {
    Name: spec.name,
    Id: id,
    Created: new Date().toISOString(),
    Scope: "local",
    Driver: "bridge",
    EnableIPv6: false,
    IPAM: {
      Driver: "default",
      Options: {},
      Config: [{ Subnet: ipam.subnet, Gateway: ipam.gateway }],
    },
    Internal: spec.internal ?? false,
    Attachable: false,
    Ingress: false,
    ConfigFrom: { Network: "" },
    ConfigOnly: false,
    Options: {
      ...spec.options,
      [BRIDGE_NAME_OPTION]: spec.options?.[BRIDGE_NAME_OPTION] ?? `cr-${id.slice(0, 12)}`,
    },
    Labels: { ...spec.labels },
  };
}

/**
 * The configuration list that attaches a container to a network: bridge
 * (host-local IPAM with its leases under `dataDir`, a static address when
 * asked) then, when it publishes ports, portmap (snat, so `127.0.0.1:PORT` reaches the container). The
 * CNI network name is the network's id: leases and iptables comments stay
 * unique even if a name is reused.
 *
 * @example
 * ```ts
 * import type { NetworkRecord } from "./model.ts";
 * declare const network: NetworkRecord;
 * networkConfList(network, "/run/corral/cni/ipam", "", true).plugins.map((p) => p.type); // ["bridge", "portmap"]
 * ```
 */
export function networkConfList(
  network: NetworkRecord,
  dataDir: string,
  staticIp: string,
  publishes: boolean,
): CniConfList {
  const { Subnet: subnet, Gateway: gateway } = network.IPAM.Config[0];
  return {
    cniVersion: CNI_VERSION,
    name: network.Id,
    plugins: [{
      type: "bridge",
      bridge: bridgeOf(network),
      isGateway: true,
      isDefaultGateway: !network.Internal,
      ipMasq: !network.Internal,
      hairpinMode: true,
      ipam: { type: "host-local", dataDir, ranges: [[{ subnet, gateway }]] },
      ...(staticIp ? { args: { cni: { ips: [staticIp] } } } : {}),
    }, ...publishes ? [PORTMAP] : []],
  };
}

/**
 * The portmap plugin, only on an attachment that publishes ports: its DEL
 * lists and edits iptables (and ip6tables) chains even with nothing mapped,
 * a dozen processes a start and an exit would pay for nothing.
 */
const PORTMAP = { type: "portmap", capabilities: { portMappings: true }, snat: true };

/** Run `ip` (iproute2); throw its message on failure. */
export async function ipCommand(args: string[]): Promise<void> {
  const out = await outputClean("ip", { args, stderr: "piped" });
  if (!out.success) {
    throw new Error(`ip ${args.join(" ")}: ${new TextDecoder().decode(out.stderr).trim()}`);
  }
}

/** Check that Linux takes `name` as an interface name. */
export function checkBridgeName(name: string): void {
  if (!/^[a-zA-Z0-9_.-]{1,15}$/.test(name)) {
    throw invalid(`invalid bridge name "${name}": 1 to 15 of [a-zA-Z0-9_.-]`);
  }
}

/** Whether the host has an interface of this name. */
export function interfaceExists(name: string): boolean {
  try {
    Deno.statSync(`/sys/class/net/${name}`);
    return true;
  } catch {
    return false;
  }
}

/** Whether a Linux bridge of this name exists. */
export function bridgeExists(name: string): boolean {
  try {
    return Deno.statSync(`/sys/class/net/${name}/bridge`).isDirectory;
  } catch {
    return false;
  }
}

/**
 * Create the network's bridge with its gateway address, if missing. The
 * bridge plugin would create it at the first attach; creating it now puts its
 * route on the host at once, so another engine choosing a subnet sees it
 * taken (Docker's bridges exist from the start too).
 */
export async function ensureBridge(network: NetworkRecord): Promise<void> {
  const name = bridgeOf(network);
  if (bridgeExists(name)) return;
  const { Subnet: subnet, Gateway: gateway } = network.IPAM.Config[0];
  await ipCommand(["link", "add", "name", name, "type", "bridge"]);
  try {
    await ipCommand(["addr", "add", `${gateway}/${subnet.split("/")[1]}`, "dev", name]);
    await ipCommand(["link", "set", name, "up"]);
  } catch (err) {
    await ipCommand(["link", "del", name]).catch(() => {});
    throw err;
  }
}

/** Delete the network's bridge (only if it is a bridge: never another interface). */
export async function deleteBridge(network: NetworkRecord): Promise<void> {
  const name = bridgeOf(network);
  if (bridgeExists(name)) await ipCommand(["link", "del", name]);
}
