/**
 * IPv4 subnets: parsing, overlap, the host's routes, and choosing a free
 * subnet from address pools (Docker's `--default-address-pool`).
 * @module
 */
import { invalid } from "../errdefs/mod.ts";

/** An IPv4 subnet: its network address as an unsigned 32-bit number and its prefix length. */
export interface Subnet {
  network: number;
  prefix: number;
}

/**
 * A pool subnets are cut from: `base` split into subnets of prefix `size`
 * (Docker's `--default-address-pool base=172.17.0.0/16,size=16`).
 */
export interface AddressPool {
  base: string;
  size: number;
}

/**
 * Docker's default local pools: 172.17.0.0/16 to 172.31.0.0/16, then /20s of
 * 192.168.0.0/16.
 */
export const DEFAULT_ADDRESS_POOLS: readonly AddressPool[] = [
  { base: "172.17.0.0/16", size: 16 },
  { base: "172.18.0.0/15", size: 16 },
  { base: "172.20.0.0/14", size: 16 },
  { base: "172.24.0.0/13", size: 16 },
  { base: "192.168.0.0/16", size: 20 },
];

/**
 * An IPv4 address in dotted form as a number, or null when it is not one.
 *
 * @example
 * ```ts
 * parseIpv4("10.0.0.1"); // 167772161
 * parseIpv4("10.0.0"); // null
 * ```
 */
export function parseIpv4(text: string): number | null {
  const parts = text.split(".");
  if (parts.length !== 4 || !parts.every((p) => /^\d{1,3}$/.test(p) && Number(p) <= 255)) {
    return null;
  }
  return parts.reduce((n, p) => n * 256 + Number(p), 0);
}

/** A number as a dotted IPv4 address. */
export function formatIpv4(ip: number): string {
  return [24, 16, 8, 0].map((shift) => Math.floor(ip / 2 ** shift) % 256).join(".");
}

/** The number of addresses a prefix covers. */
function blockSize(prefix: number): number {
  return 2 ** (32 - prefix);
}

/**
 * Parse `A.B.C.D/N`; the address must be the subnet's own (no host bits set),
 * as Docker requires of `--subnet`.
 *
 * @example
 * ```ts
 * parseSubnet("198.18.0.0/24"); // { network: 3323068416, prefix: 24 }
 * parseSubnet("198.18.0.1/24"); // throws: it should be 198.18.0.0/24
 * ```
 */
export function parseSubnet(text: string): Subnet {
  const [addr, bits, extra] = text.split("/");
  const ip = parseIpv4(addr);
  const prefix = /^\d{1,2}$/.test(bits ?? "") ? Number(bits) : -1;
  if (ip === null || extra !== undefined || prefix < 0 || prefix > 32) {
    throw invalid(`invalid subnet ${text}: an IPv4 CIDR such as 198.18.0.0/24 is expected`);
  }
  const network = ip - ip % blockSize(prefix);
  if (network !== ip) {
    throw invalid(`invalid subnet ${text}: it should be ${formatSubnet({ network, prefix })}`);
  }
  return { network, prefix };
}

/**
 * Docker's `--bip`: the bridge's address with its prefix, as the default
 * network's subnet and gateway.
 *
 * @example
 * ```ts
 * parseBip("198.18.7.1/24"); // { subnet: "198.18.7.0/24", gateway: "198.18.7.1" }
 * ```
 */
export function parseBip(text: string): { subnet: string; gateway: string } {
  const [addr, bits, extra] = text.split("/");
  const ip = parseIpv4(addr);
  const prefix = /^\d{1,2}$/.test(bits ?? "") ? Number(bits) : -1;
  if (ip === null || extra !== undefined || prefix < 8 || prefix > 30) {
    throw invalid(`invalid --bip ${text}: an address and prefix such as 172.17.0.1/16 expected`);
  }
  const subnet = { network: ip - ip % blockSize(prefix), prefix };
  if (!isHostOf(subnet, ip)) throw invalid(`invalid --bip ${text}: not a host address`);
  return { subnet: formatSubnet(subnet), gateway: addr };
}

/** `A.B.C.D/N`. */
export function formatSubnet(subnet: Subnet): string {
  return `${formatIpv4(subnet.network)}/${subnet.prefix}`;
}

/** Whether two subnets share an address. */
export function overlaps(a: Subnet, b: Subnet): boolean {
  const wider = Math.min(a.prefix, b.prefix);
  const size = blockSize(wider);
  return a.network - a.network % size === b.network - b.network % size;
}

/** Whether an address is a usable host of the subnet (not its network or broadcast address). */
export function isHostOf(subnet: Subnet, ip: number): boolean {
  const last = subnet.network + blockSize(subnet.prefix) - 1;
  return ip > subnet.network && ip < last;
}

/** The first host address of a subnet: Docker's default gateway. */
export function firstHost(subnet: Subnet): number {
  return subnet.network + 1;
}

/** A route of the host's main IPv4 table. */
export interface HostRoute {
  iface: string;
  destination: Subnet;
}

/**
 * The host's IPv4 routes from /proc/net/route, the default route left out
 * (it overlaps everything and says nothing about which subnets are in use).
 *
 * @example
 * ```ts
 * const taken = hostRoutes().map((r) => r.destination);
 * ```
 */
export function hostRoutes(): HostRoute[] {
  return parseRoutes(Deno.readTextFileSync("/proc/net/route"));
}

/** The routes of a /proc/net/route text, the default route left out. */
export function parseRoutes(text: string): HostRoute[] {
  const lines = text.split("\n").slice(1);
  const routes: HostRoute[] = [];
  for (const line of lines) {
    const [iface, dest, , , , , , mask] = line.trim().split(/\s+/);
    if (!iface || mask === undefined) continue;
    // The kernel prints the addresses as host-order words: little-endian here.
    const destination = { network: swapBytes(dest), prefix: maskBits(swapBytes(mask)) };
    if (destination.prefix > 0) routes.push({ iface, destination });
  }
  return routes;
}

function swapBytes(hex: string): number {
  const n = parseInt(hex, 16);
  return ((n & 0xff) * 2 ** 24) + ((n >>> 8 & 0xff) << 16) + ((n >>> 16 & 0xff) << 8) +
    (n >>> 24 & 0xff);
}

/** The prefix length of a netmask (its set bits: netmasks are contiguous). */
function maskBits(mask: number): number {
  return [...mask.toString(2)].filter((bit) => bit === "1").length;
}

/**
 * The first subnet of the pools that overlaps none of `taken`, or null when
 * the pools are exhausted.
 *
 * @example
 * ```ts
 * const pools = [{ base: "198.18.0.0/16", size: 24 }];
 * firstFreeSubnet(pools, [parseSubnet("198.18.0.0/24")]); // 198.18.1.0/24
 * ```
 */
export function firstFreeSubnet(pools: readonly AddressPool[], taken: Subnet[]): Subnet | null {
  for (const pool of pools) {
    const base = parseSubnet(pool.base);
    if (!Number.isInteger(pool.size) || pool.size < base.prefix || pool.size > 30) {
      throw invalid(`invalid address pool ${pool.base} size ${pool.size}`);
    }
    const step = blockSize(pool.size);
    for (let n = base.network; n < base.network + blockSize(base.prefix); n += step) {
      const candidate = { network: n, prefix: pool.size };
      if (!taken.some((t) => overlaps(t, candidate))) return candidate;
    }
  }
  return null;
}
