/**
 * Docker's `-p` forms (`[ip:]hostPort:containerPort[/tcp|udp]`, ranges
 * `8000-8002:80-82`, `containerPort` alone, `ip::containerPort`) to Docker's
 * `ExposedPorts` and `PortBindings` shapes, and back.
 * @module
 */
import { invalid } from "../errdefs/mod.ts";
import { parseIpv4 } from "./subnet.ts";
import type { PortBinding, PortMap, PortMapping, PortProtocol } from "./model.ts";

/** A port range, both ends included. */
export interface PortRange {
  start: number;
  end: number;
}

/**
 * Parse `N` or `N-M` (1 to 65535, M >= N).
 *
 * @example
 * ```ts
 * parsePortRange("8000-8002", "-p 8000-8002:80-82"); // { start: 8000, end: 8002 }
 * ```
 */
export function parsePortRange(text: string, spec: string): PortRange {
  const match = /^(\d{1,5})(?:-(\d{1,5}))?$/.exec(text);
  const start = Number(match?.[1]);
  const end = match?.[2] === undefined ? start : Number(match[2]);
  if (!match || start < 1 || end > 65535 || end < start) {
    throw invalid(`invalid port "${text}" in "${spec}": a port (1-65535) or a range N-M expected`);
  }
  return { start, end };
}

/** The protocol of a port key's `/proto` suffix (tcp when absent). */
function parseProtocol(text: string | undefined, spec: string): PortProtocol {
  const proto = (text ?? "tcp").toLowerCase();
  if (proto !== "tcp" && proto !== "udp") {
    throw invalid(`invalid protocol "${text}" in "${spec}": tcp or udp expected`);
  }
  return proto;
}

/** A host address of a binding: an IPv4 address or `""` for every address. */
export function checkHostIp(ip: string, spec: string): string {
  if (ip !== "" && parseIpv4(ip) === null) {
    throw invalid(`invalid host address "${ip}" in "${spec}": an IPv4 address expected`);
  }
  return ip;
}

/** The split parts of a `-p` value: address, host port(s), container port(s), protocol. */
function splitSpec(spec: string): [string, string, string, PortProtocol] {
  const [ports, proto, extra] = spec.split("/");
  if (extra !== undefined) throw invalid(`invalid port specification "${spec}"`);
  const parts = ports.split(":");
  if (parts.length > 3 || spec.includes("[")) {
    throw invalid(`invalid port specification "${spec}": IPv6 host addresses are not supported`);
  }
  const [ip, host, container] = parts.length === 3
    ? parts
    : parts.length === 2
    ? ["", ...parts]
    : ["", "", parts[0]];
  if (container === "") throw invalid(`no port specified: ${spec}<empty>`);
  return [checkHostIp(ip, spec), host, container, parseProtocol(proto, spec)];
}

/**
 * Parse Docker's `-p` values into `ExposedPorts` and `PortBindings`.
 *
 * @example
 * ```ts
 * const { exposed, bindings } = parsePortSpecs(["127.0.0.1:8080:80", "8000-8001:90-91/udp", "53"]);
 * exposed; // { "80/tcp": {}, "90/udp": {}, "91/udp": {}, "53/tcp": {} }
 * bindings["91/udp"]; // [{ HostIp: "", HostPort: "8001" }]
 * bindings["53/tcp"]; // [{ HostIp: "", HostPort: "" }]: an ephemeral port
 * ```
 */
export function parsePortSpecs(
  specs: readonly string[],
): { exposed: Record<string, Record<never, never>>; bindings: PortMap } {
  const exposed: Record<string, Record<never, never>> = {};
  const bindings: PortMap = {};
  for (const spec of specs) {
    const [HostIp, host, container, proto] = splitSpec(spec);
    const ports = parsePortRange(container, spec);
    const count = ports.end - ports.start;
    const hostRange = host === "" ? null : parsePortRange(host, spec);
    // A host range with a single container port means "any one of these".
    const oneOfRange = hostRange !== null && hostRange.end - hostRange.start !== count;
    if (oneOfRange && count !== 0) {
      throw invalid(
        `invalid ranges specified for container and host ports: ${container} and ${host}`,
      );
    }
    for (let i = 0; i <= count; i++) {
      const key = `${ports.start + i}/${proto}`;
      const HostPort = hostRange === null ? "" : oneOfRange ? host : String(hostRange.start + i);
      exposed[key] = {};
      (bindings[key] ??= []).push({ HostIp, HostPort });
    }
  }
  return { exposed, bindings };
}

/**
 * `PortBindings` back to `-p` values, one per binding.
 *
 * @example
 * ```ts
 * formatPortSpecs({ "80/tcp": [{ HostIp: "127.0.0.1", HostPort: "" }] }); // ["127.0.0.1::80/tcp"]
 * ```
 */
export function formatPortSpecs(bindings: PortMap): string[] {
  return Object.entries(bindings).flatMap(([key, list]) =>
    (list ?? []).map((b) =>
      b.HostIp !== ""
        ? `${b.HostIp}:${b.HostPort}:${key}`
        : b.HostPort !== ""
        ? `${b.HostPort}:${key}`
        : key
    )
  );
}

/**
 * A `PortBindings` key (`80/tcp`, or `80` for tcp) as port and protocol.
 *
 * @example
 * ```ts
 * parsePortKey("53/udp"); // { port: 53, protocol: "udp" }
 * ```
 */
export function parsePortKey(key: string): { port: number; protocol: PortProtocol } {
  const [port, proto, extra] = key.split("/");
  const range = parsePortRange(port, key);
  if (range.start !== range.end || extra !== undefined) throw invalid(`invalid port "${key}"`);
  return { port: range.start, protocol: parseProtocol(proto, key) };
}

/**
 * Bound ports in Docker's `NetworkSettings.Ports` shape (every address shows
 * as `0.0.0.0`).
 *
 * @example
 * ```ts
 * publishedPorts([{ hostIp: "", hostPort: 8080, containerPort: 80, protocol: "tcp" }]);
 * // { "80/tcp": [{ HostIp: "0.0.0.0", HostPort: "8080" }] }
 * ```
 */
export function publishedPorts(mappings: readonly PortMapping[]): PortMap {
  const ports: PortMap = {};
  for (const m of mappings) {
    const binding: PortBinding = { HostIp: m.hostIp || "0.0.0.0", HostPort: String(m.hostPort) };
    (ports[`${m.containerPort}/${m.protocol}`] ??= []).push(binding);
  }
  return ports;
}

/**
 * Check a `PortBindings` from a client: keys are ports (`80/tcp`), each
 * binding an address (or `""`) and a port, a range or `""`. Returns it in
 * canonical form (`80` → `80/tcp`, `0.0.0.0` → `""`, port `0` → `""`).
 *
 * @example
 * ```ts
 * checkPortBindings({ "80": [{ HostIp: "0.0.0.0", HostPort: "8080" }] });
 * // { "80/tcp": [{ HostIp: "", HostPort: "8080" }] }
 * checkPortBindings({ "80/tcp": [{ HostPort: "99999" }] }); // throws invalid
 * ```
 */
export function checkPortBindings(bindings: unknown): PortMap {
  if (bindings === null || bindings === undefined) return {};
  if (typeof bindings !== "object" || Array.isArray(bindings)) {
    throw invalid("PortBindings must be an object of port → bindings");
  }
  const out: PortMap = {};
  for (const [key, list] of Object.entries(bindings)) {
    const { port, protocol } = parsePortKey(key);
    if (list === null) continue;
    if (!Array.isArray(list)) throw invalid(`PortBindings["${key}"] must be a list of bindings`);
    out[`${port}/${protocol}`] = list.map((b: unknown) => {
      const { HostIp = "", HostPort = "" } = (b ?? {}) as Record<string, unknown>;
      if (typeof HostIp !== "string" || typeof HostPort !== "string") {
        throw invalid(`PortBindings["${key}"]: HostIp and HostPort must be strings`);
      }
      const hostIp = checkHostIp(HostIp === "0.0.0.0" ? "" : HostIp, key);
      // Port 0 asks for a free port, as "" does (what testcontainers sends).
      const hostPort = HostPort === "0" ? "" : HostPort;
      if (hostPort !== "") parsePortRange(hostPort, `${hostPort}:${key}`);
      return { HostIp: hostIp, HostPort: hostPort };
    });
  }
  return out;
}
