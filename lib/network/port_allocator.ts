/**
 * Host ports held by containers: each published (address, port, protocol) has
 * one owner, a port in use on the host is refused, and an empty or ranged
 * `HostPort` gets a free port. The holdings live in memory; restore rebuilds
 * them from the persisted containers with `register`.
 * @module
 */
import { createSocket } from "node:dgram";
import { conflict, invalid } from "../errdefs/mod.ts";
import { checkHostIp, parsePortKey, parsePortRange, type PortRange } from "./ports.ts";
import type { PortMap, PortMapping, PortProtocol } from "./model.ts";

/** The host's ephemeral port range (`ip_local_port_range`), where Docker picks free ports. */
export function ephemeralPortRange(): PortRange {
  try {
    const [start, end] = Deno.readTextFileSync("/proc/sys/net/ipv4/ip_local_port_range")
      .trim().split(/\s+/).map(Number);
    if (start > 0 && end >= start) return { start, end };
  } catch {
    // No /proc entry: Linux's default range.
  }
  return { start: 32768, end: 60999 };
}

/** Whether the host lets us bind `ip:port` now, i.e. nothing on the host holds it. */
async function hostPortFree(ip: string, port: number, protocol: PortProtocol): Promise<boolean> {
  const hostname = ip || "0.0.0.0";
  if (protocol === "tcp") {
    try {
      Deno.listen({ hostname, port, transport: "tcp" }).close();
      return true;
    } catch (err) {
      if (err instanceof Deno.errors.AddrInUse) return false;
      throw invalid(`cannot publish on ${hostname}:${port}: ${(err as Error).message}`);
    }
  }
  const socket = createSocket("udp4");
  try {
    return await new Promise<boolean>((resolve, reject) => {
      socket.once(
        "error",
        (err: NodeJS.ErrnoException) =>
          err.code === "EADDRINUSE"
            ? resolve(false)
            : reject(invalid(`cannot publish on ${hostname}:${port}/udp: ${err.message}`)),
      );
      socket.bind(port, hostname, () => resolve(true));
    });
  } finally {
    socket.close();
  }
}

/** One held host port. */
interface Holding {
  containerId: string;
  mapping: PortMapping;
}

/** Whether two bindings of one protocol and port collide (every-address collides with any). */
function collide(a: PortMapping, b: PortMapping): boolean {
  return a.protocol === b.protocol && a.hostPort === b.hostPort &&
    (a.hostIp === b.hostIp || a.hostIp === "" || b.hostIp === "");
}

/** Docker's conflict message. */
function allocatedError(m: PortMapping): Error {
  return conflict(
    `Bind for ${m.hostIp || "0.0.0.0"}:${m.hostPort} failed: port is already allocated`,
  );
}

/**
 * The holdings of host ports.
 *
 * @example
 * ```ts
 * const ports = new PortAllocator();
 * const mappings = await ports.allocate("c1", { "80/tcp": [{ HostIp: "127.0.0.1", HostPort: "" }] });
 * ports.release("c1");
 * ```
 */
export class PortAllocator {
  readonly #held: Holding[] = [];
  readonly #ephemeral: PortRange;
  #cursor: number;

  constructor(ephemeral: PortRange = ephemeralPortRange()) {
    this.#ephemeral = ephemeral;
    this.#cursor = ephemeral.start;
  }

  /**
   * Decide and hold the host ports of `bindings` for a container, replacing
   * what it held before (a restarted container asks again for the ports it
   * had). Throws a conflict when a port is held by another container or in
   * use on the host; nothing is held then beyond what it held before.
   */
  async allocate(containerId: string, bindings: PortMap): Promise<PortMapping[]> {
    const previous = this.#take(containerId);
    const decided: PortMapping[] = [];
    try {
      for (const [key, list] of Object.entries(bindings)) {
        const { port: containerPort, protocol } = parsePortKey(key);
        for (const binding of list ?? []) {
          const hostIp = checkHostIp(binding.HostIp === "0.0.0.0" ? "" : binding.HostIp, key);
          const wanted = binding.HostPort === ""
            ? null
            : parsePortRange(binding.HostPort, `${binding.HostPort}:${key}`);
          const base = { hostIp, containerPort, protocol };
          decided.push(await this.#hold(containerId, base, wanted));
        }
      }
      return decided;
    } catch (err) {
      this.#take(containerId);
      this.#held.push(...previous);
      throw err;
    }
  }

  /** Hold the container's bound ports again as they were (restore); a collision is a conflict. */
  register(containerId: string, mappings: readonly PortMapping[]): void {
    for (const mapping of mappings) {
      const other = this.#held.find((h) =>
        h.containerId !== containerId && collide(h.mapping, mapping)
      );
      if (other) throw allocatedError(mapping);
    }
    this.#take(containerId);
    this.#held.push(...mappings.map((mapping) => ({ containerId, mapping })));
  }

  /** Let go of every port the container holds (none is fine). */
  release(containerId: string): void {
    this.#take(containerId);
  }

  /** The ports a container holds. */
  heldBy(containerId: string): PortMapping[] {
    return this.#held.filter((h) => h.containerId === containerId).map((h) => h.mapping);
  }

  /** Remove and return the container's holdings. */
  #take(containerId: string): Holding[] {
    const taken = this.#held.filter((h) => h.containerId === containerId);
    this.#held.splice(
      0,
      this.#held.length,
      ...this.#held.filter((h) => h.containerId !== containerId),
    );
    return taken;
  }

  /**
   * Hold one port: the one asked for, the first free one of a range, or a
   * free ephemeral one. The holding is recorded before the host is asked, so
   * a concurrent allocation cannot pick the same port.
   */
  async #hold(
    containerId: string,
    base: Omit<PortMapping, "hostPort">,
    wanted: PortRange | null,
  ): Promise<PortMapping> {
    const range = wanted ?? this.#ephemeral;
    const count = range.end - range.start + 1;
    const first = wanted ? range.start : this.#cursor;
    for (let i = 0; i < count; i++) {
      const hostPort = range.start + (first - range.start + i) % count;
      const mapping = { ...base, hostPort };
      if (this.#held.some((h) => collide(h.mapping, mapping))) {
        if (count === 1) throw allocatedError(mapping);
        continue;
      }
      const holding = { containerId, mapping };
      this.#held.push(holding);
      if (await hostPortFree(base.hostIp, hostPort, base.protocol)) {
        if (!wanted) this.#cursor = hostPort + 1 > range.end ? range.start : hostPort + 1;
        return mapping;
      }
      this.#held.splice(this.#held.indexOf(holding), 1);
      if (count === 1) {
        throw conflict(
          `Bind for ${
            base.hostIp || "0.0.0.0"
          }:${hostPort} failed: port is already in use on the host`,
        );
      }
    }
    const where = `${base.hostIp || "0.0.0.0"}:${range.start}-${range.end}/${base.protocol}`;
    throw conflict(`Bind for ${where} failed: all ports are allocated`);
  }
}
