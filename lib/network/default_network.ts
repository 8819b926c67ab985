/**
 * The default network `bridge`: its bridge and subnet as the daemon's options
 * want them, kept as they are while containers are attached.
 * @module
 */
import { conflict } from "../errdefs/mod.ts";
import {
  bridgeOf,
  checkBridgeName,
  decideSubnet,
  type NetworkSpec,
  newNetworkRecord,
} from "./networks.ts";
import { type AddressPool, DEFAULT_ADDRESS_POOLS, type HostRoute } from "./subnet.ts";
import {
  BRIDGE_NAME_OPTION,
  DEFAULT_BRIDGE_OPTION,
  DEFAULT_NETWORK,
  type NetworkRecord,
} from "./model.ts";

/** The options that shape the default network. */
export interface DefaultNetworkOptions {
  /** The Linux bridge (`corral0` when absent). */
  bridgeName?: string;
  /** A fixed subnet (Docker's `--bip`); from the pools when absent. */
  defaultSubnet?: string;
  defaultGateway?: string;
  addressPools?: AddressPool[];
}

/**
 * The default network's record to save, or null when `current` already is
 * as wanted. A configured subnet that the host routes or another network
 * uses is an error; a remembered one that the host now routes elsewhere is
 * replaced from the pools.
 *
 * @example
 * ```ts
 * import { hostRoutes } from "./subnet.ts";
 * const record = wantedDefaultNetwork(undefined, false, { bridgeName: "cr-test" }, hostRoutes(), []);
 * record?.Name; // "bridge"
 * ```
 */
export function wantedDefaultNetwork(
  current: NetworkRecord | undefined,
  attached: boolean,
  options: DefaultNetworkOptions,
  hostRoutes: readonly HostRoute[],
  others: readonly NetworkRecord[],
): NetworkRecord | null {
  const bridge = options.bridgeName ?? "corral0";
  checkBridgeName(bridge);
  const wanted = options.defaultSubnet;
  const config = current?.IPAM.Config[0];
  if (current && attached) {
    if (bridgeOf(current) !== bridge || (wanted && wanted !== config?.Subnet)) {
      throw conflict(
        `the default network has containers attached on ${bridgeOf(current)} ${config?.Subnet}: ` +
          `its bridge and subnet cannot change now`,
      );
    }
    return null;
  }
  const routes = hostRoutes.filter((r) => r.iface !== bridge);
  const spec: NetworkSpec = {
    name: DEFAULT_NETWORK,
    subnet: wanted,
    gateway: options.defaultGateway,
    options: { [DEFAULT_BRIDGE_OPTION]: "true", [BRIDGE_NAME_OPTION]: bridge },
  };
  let ipam: { subnet: string; gateway: string } | undefined;
  if (!wanted && config && bridgeOf(current) === bridge) {
    try {
      ipam = decideSubnet(
        { ...spec, subnet: config.Subnet, gateway: config.Gateway },
        [],
        routes,
        others,
      );
    } catch {
      // The host routes it elsewhere now: a new one from the pools.
    }
  }
  try {
    ipam ??= decideSubnet(spec, options.addressPools ?? DEFAULT_ADDRESS_POOLS, routes, others);
  } catch (err) {
    throw conflict(`default network (${bridge}): ${(err as Error).message}`);
  }
  if (
    current && bridgeOf(current) === bridge && config?.Subnet === ipam.subnet &&
    config.Gateway === ipam.gateway
  ) {
    return null;
  }
  const record = newNetworkRecord(spec, ipam);
  return current ? { ...record, Id: current.Id, Created: current.Created } : record;
}
