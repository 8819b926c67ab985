/**
 * Container networking through CNI (issue 15): Docker-shaped networks kept in
 * `ROOT/networks/<Id>.json`, the default network `bridge` on a Linux bridge
 * (`corral0` unless configured), a network namespace per container bound at
 * `STATE/netns/<id>`, attachments by the standard plugins in `/usr/lib/cni`
 * (bridge with host-local IPAM whose leases are under `STATE/cni/ipam`,
 * portmap, loopback), and published host ports.
 *
 * Everything a CNI DEL needs is in `STATE/cni/attachments/<id>.json`, written
 * before the ADD and after it, so a DEL works after a daemon crash; a host
 * reboot clears the state dir together with the namespaces, leases and rules
 * it describes. iptables rules are CNI's, tagged with the container id.
 *
 * The engine's call order:
 *
 * - **daemon start**, before restore: `await networks.load()`; an error (a
 *   configured default subnet the host routes, plugins missing) stops it.
 * - **container start** (created → starting), each step undone in reverse
 *   when a later one fails: `allocatePorts(id, HostConfig.PortBindings)` →
 *   `createNetns(id)` → `attach(id, netns, { network, aliases, ip, ports })`
 *   for each network (ports on the first) → the netns path in the OCI spec's
 *   `network` namespace → runc. The undo: `detach(id)`, `removeNetns(id)`,
 *   `releasePorts(id)`.
 * - **exit cleanup**, after `runc delete`: `detach(id)` then
 *   `removeNetns(id)` (it refuses while attached: DEL needs the namespace).
 *   Both are idempotent and throw only a real failure: the gc retries them,
 *   also after a restart. `releasePorts(id)` when the container will not run
 *   again (stop, rm); a restart calls `allocatePorts` with the mappings it
 *   had (as concrete `HostPort`s), which a container may take again.
 * - **restore**: a running container `registerPorts(id, mappings)` (from its
 *   persisted ports) and may `check(id)`; `endpoints(id)` gives
 *   `NetworkSettings.Networks`. An exit found while down goes through the
 *   exit cleanup. After a reboot there is nothing to detach (a no-op).
 * - **connect / disconnect** of a running container: `attach(id,
 *   netnsPath(id), ...)`, `detach(id, network)`.
 *
 * @example
 * ```ts
 * import { NetworkManager, parsePortSpecs, publishedPorts } from "./mod.ts";
 * const networks = new NetworkManager("/var/lib/corral", "/run/corral", {
 *   bridgeName: "corral0",
 *   addressPools: [{ base: "172.17.0.0/16", size: 16 }],
 * });
 * await networks.load();
 * const id = "0123456789ab";
 * const { bindings } = parsePortSpecs(["127.0.0.1:8080:80"]);
 * const ports = await networks.allocatePorts(id, bindings);
 * const netns = await networks.createNetns(id);
 * const endpoint = await networks.attach(id, netns, { network: "bridge", ports });
 * endpoint.IPAddress; // "172.17.0.2"
 * publishedPorts(ports); // { "80/tcp": [{ HostIp: "127.0.0.1", HostPort: "8080" }] }
 * // ... the container runs, then exits:
 * await networks.detach(id);
 * await networks.removeNetns(id);
 * networks.releasePorts(id);
 * ```
 * @module
 */
export * from "./model.ts";
export { NetworkManager, type NetworkManagerOptions } from "./manager.ts";
export type { NetworkSpec } from "./networks.ts";
export type { NetworkLeaks } from "./leaks.ts";
export { type AddressPool, DEFAULT_ADDRESS_POOLS, parseBip } from "./subnet.ts";
export {
  checkPortBindings,
  formatPortSpecs,
  parsePortKey,
  parsePortSpecs,
  publishedPorts,
} from "./ports.ts";
export { CniError } from "./cni.ts";
