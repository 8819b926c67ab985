/**
 * The three files Docker writes for every container and bind-mounts over the
 * image's: `/etc/hostname`, `/etc/hosts` (localhost, the container's own
 * name, `--add-host` entries) and `/etc/resolv.conf` (the host's upstream
 * servers, or `--dns`, `--dns-search`, `--dns-option`).
 * @module
 */
import { invalid } from "../errdefs/mod.ts";
import type { HostConfig } from "./model.ts";

/** What the files are made of. */
export interface EtcFilesInput extends Partial<NetworkHosts> {
  hostname: string;
  /** `name:ip` entries (`--add-host`). */
  extraHosts: readonly string[];
  dns: readonly string[];
  dnsSearch: readonly string[];
  dnsOptions: readonly string[];
  /** On the host's network: the host's loopback servers are reachable, and kept. */
  hostNetwork?: boolean;
}

/** One line of a container's `/etc/hosts` beyond localhost: an address and its names. */
export interface HostsEntry {
  ip: string;
  names: string[];
}

/** What a container's networks add to `/etc/hosts`. */
export interface NetworkHosts {
  /** The container's own address(es), then the members of its user-defined networks. */
  entries: HostsEntry[];
  /** What `host-gateway` in `--add-host` stands for ("": no network, the entry is left out). */
  hostGateway: string;
}

/**
 * What a container's files are made of: its hostname (the short id unless
 * `--hostname`) and its host config's DNS settings.
 *
 * @example
 * ```ts
 * import type { ContainerRecord } from "./model.ts";
 * declare const rec: ContainerRecord;
 * etcFilesInput(rec).hostname; // "0123456789ab" without --hostname
 * ```
 */
export function etcFilesInput(
  rec: { Id: string; Config: { Hostname: string }; HostConfig: Readonly<HostConfig> },
): EtcFilesInput {
  const hc = rec.HostConfig;
  return {
    hostname: rec.Config.Hostname || rec.Id.slice(0, 12),
    extraHosts: hc.ExtraHosts ?? [],
    dns: hc.Dns ?? [],
    dnsSearch: hc.DnsSearch ?? [],
    dnsOptions: hc.DnsOptions ?? [],
    hostNetwork: hc.NetworkMode === "host",
  };
}

/** Docker's fallback when the host has no server a container can reach. */
const FALLBACK_NAMESERVERS = ["8.8.8.8", "8.8.4.4"];

const IPV4 = /^(25[0-5]|2[0-4]\d|1?\d?\d)(\.(25[0-5]|2[0-4]\d|1?\d?\d)){3}$/;
const IPV6 = /^[0-9a-fA-F:]*:[0-9a-fA-F:.]*$/;
const HOSTNAME =
  /^[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?(\.[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)*$/;

/**
 * Whether a string is an IPv4 or IPv6 address.
 *
 * @example
 * ```ts
 * isIpAddress("10.0.0.1"); // true
 * isIpAddress("example.com"); // false
 * ```
 */
export function isIpAddress(s: string): boolean {
  return IPV4.test(s) || (IPV6.test(s) && s.split("::").length <= 2);
}

/**
 * Check the create request's name and DNS settings, with Docker's messages.
 *
 * @example
 * ```ts
 * validateEtcFiles({ hostname: "web", extraHosts: ["db:10.0.0.2"], dns: [], dnsSearch: [], dnsOptions: [] });
 * ```
 */
export function validateEtcFiles(input: EtcFilesInput): void {
  if (input.hostname && (input.hostname.length > 253 || !HOSTNAME.test(input.hostname))) {
    throw invalid(`invalid hostname format: ${input.hostname}`);
  }
  for (const entry of input.extraHosts) {
    const [name, ip] = splitExtraHost(entry);
    if (!name || !HOSTNAME.test(name)) throw invalid(`invalid argument "${entry}" for --add-host`);
    if (ip !== "host-gateway" && !isIpAddress(ip)) {
      throw invalid(`invalid IP address in add-host: "${ip}"`);
    }
  }
  for (const ip of input.dns) {
    if (!isIpAddress(ip)) throw invalid(`${ip} is not an ip address`);
  }
  for (const s of [...input.dnsSearch, ...input.dnsOptions]) {
    if (/\s/.test(s) || s === "") throw invalid(`invalid DNS search domain or option "${s}"`);
  }
}

/** `name:ip` (or Docker 25's `name=ip`); an IPv6 address keeps its colons. */
function splitExtraHost(entry: string): [string, string] {
  const sep = entry.includes("=") ? entry.indexOf("=") : entry.indexOf(":");
  return sep < 0
    ? [entry, ""]
    : [entry.slice(0, sep), entry.slice(sep + 1).replace(/^\[|\]$/g, "")];
}

/**
 * `/etc/hosts`: localhost (v4 and v6), the container's addresses and the
 * members of its networks, the `--add-host` entries (`host-gateway`: the
 * network's gateway).
 *
 * @example
 * ```ts
 * hostsFile({ hostname: "web", extraHosts: ["db:10.0.0.2"], dns: [], dnsSearch: [], dnsOptions: [] });
 * ```
 */
export function hostsFile(input: EtcFilesInput): string {
  const lines = [
    "127.0.0.1\tlocalhost",
    "::1\tlocalhost ip6-localhost ip6-loopback",
    "fe00::0\tip6-localnet",
    "ff00::0\tip6-mcastprefix",
    "ff02::1\tip6-allnodes",
    "ff02::2\tip6-allrouters",
  ];
  for (const entry of input.entries ?? []) lines.push(`${entry.ip}\t${entry.names.join(" ")}`);
  for (const entry of input.extraHosts) {
    const [name, ip] = splitExtraHost(entry);
    const address = ip === "host-gateway" ? input.hostGateway ?? "" : ip;
    if (address) lines.push(`${address}\t${name}`);
  }
  return lines.join("\n") + "\n";
}

/**
 * `/etc/resolv.conf`: `--dns*` when given, else the host's file without the
 * servers on its loopback (a container cannot reach them, unless it is on the
 * host's network), Docker's way.
 *
 * @example
 * ```ts
 * const host = "nameserver 127.0.0.53\nnameserver 10.0.0.1\nsearch lan\n";
 * resolvConf(host, { hostname: "", extraHosts: [], dns: [], dnsSearch: [], dnsOptions: [] });
 * // "nameserver 10.0.0.1\nsearch lan\n"
 * ```
 */
export function resolvConf(hostResolv: string, input: EtcFilesInput): string {
  const hostLines = hostResolv.split("\n").map((l) => l.trim()).filter((l) =>
    l && !/^[#;]/.test(l)
  );
  const field = (key: string) =>
    hostLines.filter((l) => l.split(/\s+/)[0] === key).map((l) => l.split(/\s+/).slice(1));
  const upstream = field("nameserver").map((f) => f[0]).filter((ip) =>
    ip && (input.hostNetwork || (!ip.startsWith("127.") && ip !== "::1"))
  );
  const servers = input.dns.length ? input.dns : upstream.length ? upstream : FALLBACK_NAMESERVERS;
  const search = input.dnsSearch.length ? input.dnsSearch : field("search").flat();
  const options = input.dnsOptions.length ? input.dnsOptions : field("options").flat();
  const lines = servers.map((ip) => `nameserver ${ip}`);
  if (search.length) lines.push(`search ${search.join(" ")}`);
  if (options.length) lines.push(`options ${options.join(" ")}`);
  return lines.join("\n") + "\n";
}
