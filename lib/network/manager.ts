/**
 * The network manager: networks (the default `bridge` and user-defined ones),
 * containers' network namespaces, their attachments through CNI, and the
 * host ports they publish. See mod.ts for the call order the engine follows.
 * @module
 */
import { join } from "node:path";
import { conflict, invalid, notFound, unavailable } from "../errdefs/mod.ts";
import { AttachmentStore, endpointOf, networkContainerOf } from "./attachments.ts";
import { CNI_VERSION, invokePlugin, missingPlugins } from "./cni.ts";
import { Endpoints } from "./endpoints.ts";
import { removeAll } from "../sys/mod.ts";
import { collectLeaks, type NetworkLeaks } from "./leaks.ts";
import { createNetns, removeNetns } from "./netns.ts";
import {
  bridgeOf,
  checkBridgeName,
  decideSubnet,
  deleteBridge,
  ensureBridge,
  interfaceExists,
  type NetworkSpec,
  newNetworkRecord,
} from "./networks.ts";
import { PortAllocator } from "./port_allocator.ts";
import { NetworkStore, validateNetworkName } from "./store.ts";
import { DEFAULT_ADDRESS_POOLS, hostRoutes } from "./subnet.ts";
import { type DefaultNetworkOptions, wantedDefaultNetwork } from "./default_network.ts";
import {
  type AttachRequest,
  BRIDGE_NAME_OPTION,
  DEFAULT_NETWORK,
  type EndpointSettings,
  type NetworkRecord,
  type NetworkResource,
  type PortMap,
  type PortMapping,
} from "./model.ts";

/** How the manager is set up (daemon flags). */
export interface NetworkManagerOptions extends DefaultNetworkOptions {
  /** Where the CNI plugins are (`/usr/lib/cni`, Debian's). */
  cniPath?: string;
  /**
   * false: no default network (Docker's `--bridge none`): containers without
   * `--network` get none, user-defined networks still work.
   */
  defaultNetwork?: boolean;
}

/**
 * Networks, namespaces, attachments and published ports.
 *
 * @example
 * ```ts
 * const networks = new NetworkManager("/var/lib/corral", "/run/corral", { bridgeName: "corral0" });
 * await networks.load();
 * networks.inspect("bridge").IPAM.Config[0].Gateway; // e.g. "172.17.0.1"
 * ```
 */
export class NetworkManager {
  readonly #store: NetworkStore;
  readonly #attachments: AttachmentStore;
  readonly #endpoints: Endpoints;
  readonly #ports = new PortAllocator();
  readonly #stateRoot: string;
  readonly #options: NetworkManagerOptions;
  readonly #cniPath: string;
  readonly #dataDir: string;
  /** Attaches under way, by network id: a network is not removed under them. */
  readonly #attaching = new Map<string, number>();
  /** Networks being removed: no attach may start on them. */
  readonly #removing = new Set<string>();

  constructor(root: string, stateRoot: string, options: NetworkManagerOptions = {}) {
    this.#store = new NetworkStore(root);
    this.#stateRoot = stateRoot;
    this.#options = options;
    this.#cniPath = options.cniPath ?? "/usr/lib/cni";
    this.#dataDir = join(stateRoot, "cni", "ipam");
    this.#attachments = new AttachmentStore(join(stateRoot, "cni", "attachments"));
    this.#endpoints = new Endpoints(this.#attachments, this.#cniPath, this.#dataDir);
  }

  /**
   * Load the networks and the attachments, ensure the default network (its
   * subnet checked against the host's routes: a configured one that collides
   * is an error) and every network's bridge.
   */
  async load(): Promise<void> {
    const missing = missingPlugins(this.#cniPath);
    if (missing.length > 0) {
      throw unavailable(
        `CNI plugins missing in ${this.#cniPath}: ${
          missing.join(", ")
        } (Debian: containernetworking-plugins)`,
      );
    }
    await this.#store.load();
    await this.#attachments.load();
    if (this.hasDefaultNetwork) await this.#ensureDefault();
    for (const network of this.#store.list()) await ensureBridge(network);
  }

  /** Whether the daemon has a default network for containers without `--network`. */
  get hasDefaultNetwork(): boolean {
    return this.#options.defaultNetwork !== false;
  }

  /** Save the default network as the options want it; its old bridge goes when it changes. */
  async #ensureDefault(): Promise<void> {
    const current = this.#store.byName(DEFAULT_NETWORK);
    const attached = current !== undefined && this.#endpoints.attachedTo(current.Id).length > 0;
    const others = this.#store.list().filter((n) => n.Name !== DEFAULT_NETWORK);
    const record = wantedDefaultNetwork(current, attached, this.#options, hostRoutes(), others);
    if (!record) return;
    // A bridge left with its old address would keep routing the old subnet.
    if (current) await deleteBridge(current);
    await this.#store.save(record);
  }

  /** Create a user-defined network and its bridge. */
  async createNetwork(spec: NetworkSpec): Promise<NetworkRecord> {
    validateNetworkName(spec.name);
    if (this.#store.byName(spec.name)) {
      throw conflict(`network with name ${spec.name} already exists`);
    }
    const bridge = spec.options?.[BRIDGE_NAME_OPTION];
    if (bridge !== undefined) {
      checkBridgeName(bridge);
      // Never adopt (and later delete) an interface corral did not make.
      if (interfaceExists(bridge)) throw conflict(`interface ${bridge} already exists on the host`);
    }
    const pools = this.#options.addressPools ?? DEFAULT_ADDRESS_POOLS;
    const record = newNetworkRecord(
      spec,
      decideSubnet(spec, pools, hostRoutes(), this.#store.list()),
    );
    await this.#store.save(record);
    try {
      await ensureBridge(record);
    } catch (err) {
      await this.#store.remove(record.Id);
      throw err;
    }
    return record;
  }

  /** Remove a user-defined network: refused while a container is attached to it. */
  async removeNetwork(ref: string): Promise<void> {
    const network = this.#network(ref);
    if (network.Name === DEFAULT_NETWORK) {
      throw invalid(`${DEFAULT_NETWORK} is a pre-defined network and cannot be removed`);
    }
    if (this.#inUse(network)) {
      throw conflict(
        `error while removing network: network ${network.Name} id ${network.Id} has active endpoints`,
      );
    }
    this.#removing.add(network.Id);
    try {
      await deleteBridge(network);
      await removeAll(join(this.#dataDir, network.Id));
      await this.#store.remove(network.Id);
    } finally {
      this.#removing.delete(network.Id);
    }
  }

  /** A network no removal is under way for. */
  #network(ref: string): NetworkRecord {
    const network = this.#store.get(ref);
    if (this.#removing.has(network.Id)) throw notFound(`network ${ref} not found`);
    return network;
  }

  #inUse(network: NetworkRecord): boolean {
    return this.#endpoints.attachedTo(network.Id).length > 0 ||
      (this.#attaching.get(network.Id) ?? 0) > 0;
  }

  /** Every network, oldest first. */
  list(): NetworkRecord[] {
    return this.#store.list();
  }

  /**
   * A network with its attached containers, Docker's `GET /networks/{id}`;
   * `nameOf` gives a container's name (the manager knows only ids).
   */
  inspect(ref: string, nameOf: (containerId: string) => string = () => ""): NetworkResource {
    const network = this.#store.get(ref);
    const containers: NetworkResource["Containers"] = {};
    for (const containerId of this.#endpoints.attachedTo(network.Id)) {
      const attachment = this.#endpoints.attachments(containerId)
        .find((a) => a.networkId === network.Id)!;
      containers[containerId] = networkContainerOf(attachment, nameOf(containerId));
    }
    return { ...network, Containers: containers };
  }

  /**
   * Remove the user-defined networks no container is attached to, except those
   * `keep` keeps (filters, networks stopped containers still name); returns the
   * removed names.
   */
  async prune(keep: (network: NetworkRecord) => boolean = () => false): Promise<string[]> {
    const removed: string[] = [];
    for (const network of this.#store.list()) {
      if (network.Name === DEFAULT_NETWORK || this.#inUse(network) || keep(network)) continue;
      await this.removeNetwork(network.Id);
      removed.push(network.Name);
    }
    return removed;
  }

  /** Where a container's network namespace is bound: `STATE/netns/<id>`. */
  netnsPath(containerId: string): string {
    return join(this.#stateRoot, "netns", containerId);
  }

  /** Create a container's namespace (idempotent) with its loopback up. */
  async createNetns(containerId: string): Promise<string> {
    const path = this.netnsPath(containerId);
    await createNetns(path);
    const loopback = { cniVersion: CNI_VERSION, name: "loopback", type: "loopback" };
    const target = { containerId, netns: path, ifName: "lo", runtimeConfig: {} };
    try {
      await invokePlugin(this.#cniPath, "ADD", loopback, target);
    } catch (err) {
      await removeNetns(path);
      throw err;
    }
    return path;
  }

  /**
   * Remove a container's namespace (idempotent). Refused while the container
   * is attached: DEL needs the namespace to find the addresses whose
   * masquerade rules it removes, so `detach` comes first.
   */
  async removeNetns(containerId: string): Promise<void> {
    if (this.#endpoints.attachments(containerId).length > 0) {
      throw conflict(`container ${containerId} is still attached to a network: detach it first`);
    }
    await removeNetns(this.netnsPath(containerId));
  }

  /** Attach a container's namespace to a network (CNI ADD); returns its endpoint. */
  async attach(
    containerId: string,
    netnsPath: string,
    request: AttachRequest,
  ): Promise<EndpointSettings> {
    const network = this.#network(request.network);
    this.#attaching.set(network.Id, (this.#attaching.get(network.Id) ?? 0) + 1);
    try {
      return await this.#endpoints.attach(containerId, netnsPath, network, request);
    } finally {
      this.#attaching.set(network.Id, this.#attaching.get(network.Id)! - 1);
    }
  }

  /**
   * Detach a container from one network, or from all (CNI DEL). Idempotent:
   * a container not attached is done. Throws only a real failure; what
   * failed stays recorded, so the gc can retry, also after a restart.
   */
  async detach(containerId: string, network?: string): Promise<void> {
    const networkId = network === undefined ? undefined : this.#store.get(network).Id;
    await this.#endpoints.detach(containerId, networkId);
  }

  /** CHECK a container's attachments (restore of a running one); throws what is wrong. */
  check(containerId: string): Promise<void> {
    return this.#endpoints.check(containerId);
  }

  /** A container's endpoints by network name: Docker's `NetworkSettings.Networks`. */
  endpoints(containerId: string): Record<string, EndpointSettings> {
    return Object.fromEntries(
      this.#endpoints.attachments(containerId).map((a) => {
        const name = this.#store.find(a.networkId)?.Name ?? a.networkId;
        return [name, endpointOf(a)];
      }),
    );
  }

  /** Decide and hold a container's host ports (see PortAllocator.allocate). */
  allocatePorts(containerId: string, bindings: PortMap): Promise<PortMapping[]> {
    return this.#ports.allocate(containerId, bindings);
  }

  /** Hold a container's bound ports again at restore. */
  registerPorts(containerId: string, mappings: readonly PortMapping[]): void {
    this.#ports.register(containerId, mappings);
  }

  /** Let go of a container's host ports. */
  releasePorts(containerId: string): void {
    this.#ports.release(containerId);
  }

  /**
   * What networking has left, of one container or of all: for leak checks.
   * Veths are counted per bridge (a veth does not say whose it is).
   */
  leaks(containerId?: string): Promise<NetworkLeaks> {
    return collectLeaks({
      networks: this.#store.list().map((n) => ({ id: n.Id, bridge: bridgeOf(n) })),
      dataDir: this.#dataDir,
      netnsDir: join(this.#stateRoot, "netns"),
      attached: this.#attachments.all().map((r) => r.containerId),
    }, containerId);
  }

  /** Delete every network's bridge (tests, uninstall); refused while anything is attached. */
  async removeBridges(): Promise<void> {
    if (this.#attachments.all().length > 0) throw conflict("containers are still attached");
    for (const network of this.#store.list()) await deleteBridge(network);
  }
}
