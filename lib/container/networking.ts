/**
 * A container's network, on top of the network module: the mode decided at
 * create, the namespace and attachments set up by the start path (undone in
 * reverse when a step fails), torn down by the exit cleanup (which the gc
 * retries), ports held again at restore, and the `/etc/hosts` of every
 * container on a user-defined network kept current as members come and go
 * (Docker's name resolution between containers: name, aliases, short id).
 * @module
 */
import { conflict, invalid, notFound } from "../errdefs/mod.ts";
import {
  checkPortBindings,
  DEFAULT_NETWORK,
  type EndpointSettings,
  type NetworkManager,
  type PortMap,
  type PortMapping,
} from "../network/mod.ts";
import type { SpecNetwork } from "../runtime/mod.ts";
import { etcFilesInput, type HostsEntry, hostsFile, type NetworkHosts } from "./etc_files.ts";
import { Mutex } from "./lock.ts";
import type { ContainerRecord, EndpointRequest, HostConfig } from "./model.ts";

/** Docker's `NetworkingConfig` of a create request. */
export interface NetworkingRequest {
  EndpointsConfig?: Record<string, EndpointRequest | null> | null;
}

/** A container's network mode, as the start path acts on it. */
type Mode =
  | { kind: "none" }
  | { kind: "host" }
  | { kind: "container"; ref: string }
  | { kind: "networks" };

/** `container:ID` → the container reference; null for any other mode. */
export function joinedContainer(mode: string | undefined): string | null {
  return mode?.startsWith("container:") ? mode.slice("container:".length) : null;
}

function modeOf(hc: Readonly<HostConfig>): Mode {
  const mode = hc.NetworkMode ?? "none";
  if (mode === "none" || mode === "host") return { kind: mode };
  const ref = joinedContainer(mode);
  return ref === null ? { kind: "networks" } : { kind: "container", ref };
}

/** How the module finds other containers (names and records). */
export interface ContainerLookup {
  /** A container by id, name or unique id prefix; undefined when there is none. */
  find(ref: string): ContainerRecord | undefined;
  /** Where a container's `/etc/hosts` is. */
  hostsPath(id: string): string;
}

/**
 * Containers' networking.
 *
 * @example
 * ```ts
 * import type { NetworkManager } from "../network/mod.ts";
 * import type { Container } from "./container.ts";
 * declare const manager: NetworkManager;
 * declare const lookup: ContainerLookup;
 * declare const c: Container;
 * const networking = new ContainerNetworking(manager, lookup);
 * const { network, ports } = await networking.setUp(c.rec); // the namespace runc joins
 * // ... the container runs, then exits:
 * await networking.tearDown(c.id);
 * ```
 */
export class ContainerNetworking {
  /** Every `/etc/hosts` write computes and writes under it, so none is stale. */
  readonly #hostsLock = new Mutex();

  constructor(
    readonly manager: NetworkManager | null,
    readonly lookup: ContainerLookup,
  ) {}

  /**
   * Decide a new container's network at create: Docker's `default` becomes
   * `bridge` (or `none` without a default network); the networks asked for
   * must exist, ports and endpoint settings must be well-formed. Sets
   * `hc.NetworkMode` and `hc.PortBindings`; returns the networks to persist.
   */
  decide(
    hc: HostConfig,
    exposed: Record<string, unknown>,
    request: NetworkingRequest | undefined,
  ): Record<string, EndpointRequest> | undefined {
    const given = request?.EndpointsConfig ?? {};
    if (typeof given !== "object" || Array.isArray(given)) {
      throw invalid("NetworkingConfig.EndpointsConfig must be an object");
    }
    let mode = hc.NetworkMode ?? "";
    if (typeof mode !== "string") throw invalid("NetworkMode must be a string");
    const asked = { ...given };
    // The docker CLI names the mode's own endpoint by the mode ("default" too).
    const own = asked[mode] ?? null;
    delete asked[mode];
    if (mode === "" || mode === "default") {
      mode = this.manager?.hasDefaultNetwork ? DEFAULT_NETWORK : "none";
    }
    hc.NetworkMode = mode;
    hc.PortBindings = checkPortBindings(hc.PortBindings);
    for (const key of Object.keys(exposed)) checkPortBindings({ [key]: [] });
    const kind = modeOf(hc).kind;
    if (kind !== "networks") {
      if (Object.keys(asked).length > 0 || hasSettings(own)) {
        throw invalid(`conflicting options: --network ${mode} and endpoint settings`);
      }
      if (kind === "container") {
        const ref = joinedContainer(mode)!;
        if (!this.lookup.find(ref)) throw notFound(`No such container: ${ref}`);
      }
      // Docker discards published ports without a network of the container's own.
      hc.PortBindings = {};
      hc.PublishAllPorts = false;
      return undefined;
    }
    if (!this.manager) throw invalid(`network ${mode} not found: this daemon has no networking`);
    const networks: Record<string, EndpointRequest> = {};
    const name = this.manager.inspect(mode).Name;
    networks[name] = endpointRequest(own ?? asked[name] ?? null, name);
    for (const [other, settings] of Object.entries(asked)) {
      const otherName = this.manager.inspect(other).Name;
      if (otherName === name) continue;
      networks[otherName] = endpointRequest(settings, otherName);
    }
    for (const [net, req] of Object.entries(networks)) {
      if (net === DEFAULT_NETWORK && (req.Aliases?.length || req.IPAMConfig?.IPv4Address)) {
        throw invalid(
          "network-scoped aliases and user-specified IP addresses are only supported for " +
            "user-defined networks",
        );
      }
    }
    return networks;
  }

  /**
   * Set up a run's network (start path): hold its host ports, make its
   * namespace, attach it to each of its networks; everything undone when a
   * step fails. Returns the ports held and what the spec's network namespace
   * is (undefined: a new one with only a loopback).
   */
  async setUp(
    rec: Readonly<ContainerRecord>,
  ): Promise<{ network: SpecNetwork | undefined; ports: PortMapping[] }> {
    const mode = modeOf(rec.HostConfig);
    switch (mode.kind) {
      case "none":
        return { network: undefined, ports: [] };
      case "host":
        return { network: { host: true }, ports: [] };
      case "container":
        return { network: { path: this.#joinedNetns(mode.ref) }, ports: [] };
    }
    const manager = this.#requireManager();
    const id = rec.Id;
    try {
      const ports = await this.#allocatePorts(rec);
      const netns = await manager.createNetns(id);
      let first = true;
      for (const [network, req] of Object.entries(rec.Networks ?? {})) {
        await manager.attach(id, netns, {
          network,
          aliases: req.Aliases ?? undefined,
          ip: req.IPAMConfig?.IPv4Address || undefined,
          ports: first ? ports : undefined,
        });
        first = false;
      }
      return { network: { path: netns }, ports };
    } catch (err) {
      await this.tearDown(id).catch(() => {});
      throw err;
    }
  }

  /** The ports a start asks for: `-p`, `-P`'s exposed ports, the last run's ports first. */
  async #allocatePorts(rec: Readonly<ContainerRecord>): Promise<PortMapping[]> {
    const manager = this.#requireManager();
    const wanted: PortMap = structuredClone(rec.HostConfig.PortBindings ?? {});
    if (rec.HostConfig.PublishAllPorts) {
      for (const key of Object.keys(rec.Config.ExposedPorts ?? {})) {
        const canonical = Object.keys(checkPortBindings({ [key]: [] }))[0];
        if (!wanted[canonical]?.length) wanted[canonical] = [{ HostIp: "", HostPort: "" }];
      }
    }
    const previous = preferPrevious(wanted, rec.State.Ports ?? []);
    if (previous) {
      try {
        return await manager.allocatePorts(rec.Id, previous);
      } catch {
        // Taken by someone else meanwhile: new ephemeral ports, as on a first start.
      }
    }
    return await manager.allocatePorts(rec.Id, wanted);
  }

  /** The namespace of a running container another one joins (`--network container:ID`). */
  #joinedNetns(ref: string): string {
    const target = this.lookup.find(ref);
    if (!target) throw notFound(`No such container: ${ref}`);
    if (!target.State.Running) {
      throw conflict(`cannot join network of a non running container: ${target.Id}`);
    }
    return `/proc/${target.State.Pid}/ns/net`;
  }

  #requireManager(): NetworkManager {
    if (!this.manager) throw invalid("this daemon has no networking");
    return this.manager;
  }

  /**
   * Tear down a run's network (exit cleanup): detach from every network
   * (CNI DEL), remove the namespace, let go of the host ports, then update
   * the hosts files of the members it left. Idempotent; throws only a real
   * failure, which the gc retries.
   */
  async tearDown(id: string): Promise<void> {
    const manager = this.manager;
    if (!manager) return;
    const left = Object.keys(manager.endpoints(id));
    await manager.detach(id);
    await manager.removeNetns(id);
    manager.releasePorts(id);
    if (left.length > 0) await this.refreshMembers(left, id);
  }

  /** Restore of a running container: hold its host ports again. */
  adopt(rec: Readonly<ContainerRecord>): void {
    if (rec.State.Ports?.length) this.manager?.registerPorts(rec.Id, rec.State.Ports);
  }

  /** A container's endpoints by network name (Docker's `NetworkSettings.Networks`). */
  endpoints(id: string): Record<string, EndpointSettings> {
    return this.manager?.endpoints(id) ?? {};
  }

  /** What a container's `/etc/hosts` lists beyond its own settings. */
  hosts(rec: Readonly<ContainerRecord>): NetworkHosts {
    const own = this.endpoints(rec.Id);
    const hostname = rec.Config.Hostname || rec.Id.slice(0, 12);
    const entries: HostsEntry[] = [];
    const seen = new Set<string>();
    for (const endpoint of Object.values(own)) {
      if (seen.has(endpoint.IPAddress)) continue;
      seen.add(endpoint.IPAddress);
      entries.push({ ip: endpoint.IPAddress, names: [hostname] });
    }
    for (const network of Object.keys(own)) {
      if (network === DEFAULT_NETWORK) continue;
      for (const [memberId, member] of Object.entries(this.manager!.inspect(network).Containers)) {
        if (memberId === rec.Id) continue;
        // Attached means starting or running: it is there to be named.
        const other = this.lookup.find(memberId);
        if (!other) continue;
        const aliases = other.Networks?.[network]?.Aliases ?? [];
        entries.push({
          ip: member.IPv4Address.split("/")[0],
          names: [...new Set([other.Name, ...aliases, memberId.slice(0, 12)])],
        });
      }
    }
    const defaultGateway = this.manager?.hasDefaultNetwork
      ? this.manager.inspect(DEFAULT_NETWORK).IPAM.Config[0]?.Gateway
      : undefined;
    const hostGateway = Object.values(own)[0]?.Gateway ?? defaultGateway ?? "";
    return { entries, hostGateway };
  }

  /**
   * Write a container's `/etc/hosts`, under the lock every hosts write
   * takes, in place: the file is bind-mounted into the running container, a
   * rename would not reach it. Made anew at every start from the persisted
   * record, so no fsync.
   */
  async writeHosts(rec: Readonly<ContainerRecord>): Promise<void> {
    await this.#hostsLock.run(async () => {
      const text = hostsFile({ ...etcFilesInput(rec), ...this.hosts(rec) });
      await Deno.writeTextFile(this.lookup.hostsPath(rec.Id), text, { mode: 0o644 });
    });
  }

  /**
   * Rewrite the hosts files of the running members of `networks` (but
   * `except`), after a container joined or left them. A member whose file is
   * gone (it is exiting) is skipped.
   */
  async refreshMembers(networks: readonly string[], except: string): Promise<void> {
    if (!this.manager) return;
    const members = new Set<string>();
    for (const network of networks) {
      if (network === DEFAULT_NETWORK) continue;
      const found = this.manager.list().find((n) => n.Name === network);
      if (!found) continue;
      for (const id of Object.keys(this.manager.inspect(found.Id).Containers)) members.add(id);
    }
    members.delete(except);
    for (const id of members) {
      const rec = this.lookup.find(id);
      if (!rec) continue;
      await this.writeHosts(rec).catch((err) => {
        if (!(err instanceof Deno.errors.NotFound)) throw err;
      });
    }
  }
}

/** Whether endpoint settings ask for anything (aliases, an address). */
function hasSettings(settings: EndpointRequest | null): boolean {
  return Boolean(settings?.Aliases?.length || settings?.IPAMConfig?.IPv4Address);
}

/** A client's endpoint settings, checked. */
function endpointRequest(settings: EndpointRequest | null, network: string): EndpointRequest {
  if (settings === null || settings === undefined) return {};
  if (typeof settings !== "object" || Array.isArray(settings)) {
    throw invalid(`EndpointsConfig["${network}"] must be an object`);
  }
  const aliases = settings.Aliases ?? [];
  if (!Array.isArray(aliases) || !aliases.every((a) => typeof a === "string" && a !== "")) {
    throw invalid(`EndpointsConfig["${network}"].Aliases must be a list of names`);
  }
  const ip = settings.IPAMConfig?.IPv4Address ?? "";
  if (typeof ip !== "string") throw invalid(`invalid IPv4 address: ${ip}`);
  const out: EndpointRequest = {};
  if (aliases.length) out.Aliases = [...aliases];
  if (ip) out.IPAMConfig = { IPv4Address: ip };
  return out;
}

/**
 * `wanted` with its ephemeral bindings asking for the ports the last run had
 * (a restarted container keeps its published ports); null when none applies.
 */
function preferPrevious(wanted: PortMap, previous: readonly PortMapping[]): PortMap | null {
  if (previous.length === 0) return null;
  const out = structuredClone(wanted);
  let changed = false;
  for (const [key, list] of Object.entries(out)) {
    const [port, protocol] = key.split("/");
    const had = previous.filter((m) => String(m.containerPort) === port && m.protocol === protocol);
    (list ?? []).forEach((binding, i) => {
      if (binding.HostPort === "" && had[i]) {
        binding.HostPort = String(had[i].hostPort);
        changed = true;
      }
    });
  }
  return changed ? out : null;
}
