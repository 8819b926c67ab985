/**
 * What each container is attached to, one `STATE/cni/attachments/<id>.json`
 * per container, written atomically before the CNI ADD and after it: the
 * exact configuration list, interface, ports and cached result a DEL needs,
 * so a DEL still finds them after a daemon restart or crash. The file lives
 * in the state dir, as the namespaces, leases and rules it describes live in
 * the kernel and the state dir: a host reboot forgets them all together.
 * @module
 */
import { join } from "node:path";
import { removeAll, writeFileAtomic } from "../sys/mod.ts";
import { readJsonDir } from "./json_files.ts";
import type { CniConfList, CniResult } from "./cni.ts";
import type { EndpointSettings, NetworkContainer, PortMapping } from "./model.ts";

/** A container's attachment to one network. */
export interface Attachment {
  networkId: string;
  ifName: string;
  /** The configuration list exactly as given to ADD: DEL is given the same. */
  conf: CniConfList;
  portMappings: PortMapping[];
  aliases: string[];
  /** The static address asked for (`--ip`), or `""`. */
  staticIp: string;
  endpointId: string;
  /** The ADD's result, null while (or when) the ADD has not finished. */
  result: CniResult | null;
}

/** Everything one container is attached to, and its namespace. */
export interface ContainerAttachments {
  containerId: string;
  netns: string;
  attachments: Attachment[];
}

/**
 * A container's endpoint on a network in Docker's shape, from its ADD result.
 *
 * @example
 * ```ts
 * declare const attachment: Attachment;
 * endpointOf(attachment).IPAddress; // "198.18.0.2"
 * ```
 */
export function endpointOf(attachment: Attachment): EndpointSettings {
  const result = attachment.result;
  const ifIndex = result?.interfaces?.findIndex((i) => i.name === attachment.ifName && i.sandbox);
  const ip = result?.ips?.find((i) => i.interface === ifIndex && !i.address.includes(":"));
  const [address, prefix] = ip?.address.split("/") ?? ["", "0"];
  return {
    IPAMConfig: attachment.staticIp ? { IPv4Address: attachment.staticIp } : null,
    Links: null,
    Aliases: attachment.aliases.length > 0 ? attachment.aliases : null,
    NetworkID: attachment.networkId,
    EndpointID: attachment.endpointId,
    Gateway: ip?.gateway ?? "",
    IPAddress: address,
    IPPrefixLen: Number(prefix),
    IPv6Gateway: "",
    GlobalIPv6Address: "",
    GlobalIPv6PrefixLen: 0,
    MacAddress: ifIndex === undefined || ifIndex < 0 ? "" : result?.interfaces?.[ifIndex].mac ?? "",
    DriverOpts: null,
  };
}

/** A container's entry in Docker's `GET /networks/{id}` `Containers`. */
export function networkContainerOf(attachment: Attachment, name: string): NetworkContainer {
  const endpoint = endpointOf(attachment);
  return {
    Name: name,
    EndpointID: endpoint.EndpointID,
    MacAddress: endpoint.MacAddress,
    IPv4Address: endpoint.IPAddress ? `${endpoint.IPAddress}/${endpoint.IPPrefixLen}` : "",
    IPv6Address: "",
  };
}

/**
 * The attachment files, mirrored in memory.
 *
 * @example
 * ```ts
 * const store = new AttachmentStore("/run/corral/cni/attachments");
 * await store.load();
 * store.get("0123")?.attachments.length;
 * ```
 */
export class AttachmentStore {
  readonly #dir: string;
  readonly #byContainer = new Map<string, ContainerAttachments>();

  constructor(dir: string) {
    this.#dir = dir;
  }

  /** Read every file; one that is not a record is logged and left for a look by hand. */
  async load(): Promise<void> {
    this.#byContainer.clear();
    await readJsonDir(this.#dir, (value) => {
      const record = value as Partial<ContainerAttachments> | null;
      if (typeof record?.containerId !== "string" || !Array.isArray(record.attachments)) {
        throw new Error("not an attachments record");
      }
      this.#byContainer.set(record.containerId, record as ContainerAttachments);
    });
  }

  /** A container's attachments, if it has any. */
  get(containerId: string): ContainerAttachments | undefined {
    return this.#byContainer.get(containerId);
  }

  /** Every container with attachments. */
  all(): ContainerAttachments[] {
    return [...this.#byContainer.values()];
  }

  /** Persist a container's attachments; an empty list deletes its file. */
  async put(record: ContainerAttachments): Promise<void> {
    const path = join(this.#dir, `${record.containerId}.json`);
    if (record.attachments.length === 0) {
      await removeAll(path);
      this.#byContainer.delete(record.containerId);
      return;
    }
    await writeFileAtomic(path, JSON.stringify(record));
    this.#byContainer.set(record.containerId, record);
  }
}
