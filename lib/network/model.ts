/**
 * The Docker-shaped records of the network module: a network as
 * `GET /networks/{id}` shows it, a container's endpoint as
 * `NetworkSettings.Networks[name]` shows it, and published ports.
 * @module
 */

/** Docker's option key that names a bridge network's Linux bridge. */
export const BRIDGE_NAME_OPTION = "com.docker.network.bridge.name";
/** Docker's option key that marks the default bridge network. */
export const DEFAULT_BRIDGE_OPTION = "com.docker.network.bridge.default_bridge";
/** The default network's name (Docker's). */
export const DEFAULT_NETWORK = "bridge";

/** One IPAM pool of a network. */
export interface IpamConfig {
  Subnet: string;
  Gateway: string;
}

/** A network as persisted in `ROOT/networks/<Id>.json`, in Docker's inspect shape. */
export interface NetworkRecord {
  Name: string;
  /** 64 hex digits. */
  Id: string;
  /** RFC 3339 with nanoseconds, as Docker writes it. */
  Created: string;
  Scope: "local";
  Driver: "bridge";
  EnableIPv6: false;
  IPAM: { Driver: "default"; Options: Record<string, string>; Config: IpamConfig[] };
  Internal: boolean;
  Attachable: boolean;
  Ingress: boolean;
  ConfigFrom: { Network: string };
  ConfigOnly: boolean;
  /** Holds the Linux bridge's name under {@link BRIDGE_NAME_OPTION}. */
  Options: Record<string, string>;
  Labels: Record<string, string>;
}

/** A container on a network, as `GET /networks/{id}` lists it under `Containers`. */
export interface NetworkContainer {
  /** The container's name; the network module does not know it (see `inspect`). */
  Name: string;
  EndpointID: string;
  MacAddress: string;
  /** `A.B.C.D/N`. */
  IPv4Address: string;
  IPv6Address: string;
}

/** A network with its containers, Docker's `GET /networks/{id}` answer. */
export interface NetworkResource extends NetworkRecord {
  Containers: Record<string, NetworkContainer>;
}

/** A container's endpoint on one network: Docker's `NetworkSettings.Networks[name]`. */
export interface EndpointSettings {
  IPAMConfig: { IPv4Address: string } | null;
  Links: string[] | null;
  Aliases: string[] | null;
  NetworkID: string;
  /** 64 hex digits, new for every attach. */
  EndpointID: string;
  Gateway: string;
  IPAddress: string;
  IPPrefixLen: number;
  IPv6Gateway: string;
  GlobalIPv6Address: string;
  GlobalIPv6PrefixLen: number;
  MacAddress: string;
  DriverOpts: Record<string, string> | null;
}

/** A transport protocol a port can be published for. */
export type PortProtocol = "tcp" | "udp";

/** One host binding of a container port, Docker's `{HostIp, HostPort}`. */
export interface PortBinding {
  /** `""` for every address (shown as `0.0.0.0` once bound). */
  HostIp: string;
  /** A port, a range `8000-8010` (one is chosen), or `""` for an ephemeral one. */
  HostPort: string;
}

/** Docker's `HostConfig.PortBindings` and `NetworkSettings.Ports`: `"80/tcp"` → bindings. */
export type PortMap = Record<string, PortBinding[] | null>;

/** A published port with every part decided: what CNI's portmap plugin is given. */
export interface PortMapping {
  /** An IPv4 address, `""` for every address. */
  hostIp: string;
  hostPort: number;
  containerPort: number;
  protocol: PortProtocol;
}

/** What `attach` connects a container with. */
export interface AttachRequest {
  /** The network's name, id or unique id prefix. */
  network: string;
  /** Extra names of the container on this network (`--network-alias`). */
  aliases?: string[];
  /** A static IPv4 address in the network's subnet (`--ip`). */
  ip?: string;
  /** Ports to publish, as `allocatePorts` decided them. */
  ports?: PortMapping[];
}

/** A new random 64-hex-digit id (networks, endpoints). */
export function randomHexId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(32));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}
