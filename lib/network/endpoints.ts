/**
 * Attaching containers to networks and detaching them, through CNI: the
 * attachment is persisted before the ADD (so a crash in the middle can still
 * be undone) and after it (with the result DEL and CHECK are given); a failed
 * ADD is undone with a DEL; DEL runs with the same configuration list and
 * forgets the attachment only once it succeeded.
 * @module
 */
import { conflict, invalid } from "../errdefs/mod.ts";
import { type Attachment, AttachmentStore, endpointOf } from "./attachments.ts";
import { addList, checkList, type CniTarget, delList } from "./cni.ts";
import { isNetnsMounted } from "./netns.ts";
import { networkConfList, subnetOf } from "./networks.ts";
import { isHostOf, parseIpv4 } from "./subnet.ts";
import {
  type AttachRequest,
  type EndpointSettings,
  type NetworkRecord,
  randomHexId,
} from "./model.ts";

/** The CNI target of an attachment; `netns` is `""` once the namespace is gone. */
function targetOf(containerId: string, netns: string, attachment: Attachment): CniTarget {
  const portMappings = attachment.portMappings.map((m) => ({
    hostPort: m.hostPort,
    containerPort: m.containerPort,
    protocol: m.protocol,
    ...(m.hostIp ? { hostIP: m.hostIp } : {}),
  }));
  return { containerId, netns, ifName: attachment.ifName, runtimeConfig: { portMappings } };
}

/** Check a static address: a host of the network's subnet, not its gateway. */
function checkStaticIp(network: NetworkRecord, ip: string): void {
  const subnet = subnetOf(network);
  const n = parseIpv4(ip);
  if (n === null || !isHostOf(subnet, n) || ip === network.IPAM.Config[0].Gateway) {
    throw invalid(
      `invalid address ${ip}: not a host address of network ${network.Name}'s subnet ${
        network.IPAM.Config[0].Subnet
      }`,
    );
  }
}

/**
 * The attachments of containers to networks.
 *
 * @example
 * ```ts
 * import type { AttachmentStore } from "./attachments.ts";
 * import type { NetworkRecord } from "./model.ts";
 * declare const store: AttachmentStore, network: NetworkRecord;
 * const endpoints = new Endpoints(store, "/usr/lib/cni", "/run/corral/cni/ipam");
 * await endpoints.attach("c1", "/run/corral/netns/c1", network, { network: "bridge" });
 * await endpoints.detach("c1");
 * ```
 */
export class Endpoints {
  readonly #store: AttachmentStore;
  readonly #cniPath: string;
  readonly #dataDir: string;
  /** Each container's operations, one at a time. */
  readonly #queues = new Map<string, Promise<unknown>>();

  constructor(store: AttachmentStore, cniPath: string, dataDir: string) {
    this.#store = store;
    this.#cniPath = cniPath;
    this.#dataDir = dataDir;
  }

  /** The containers attached (or being attached) to a network. */
  attachedTo(networkId: string): string[] {
    return this.#store.all()
      .filter((r) => r.attachments.some((a) => a.networkId === networkId))
      .map((r) => r.containerId);
  }

  /** The attachments of a container. */
  attachments(containerId: string): Attachment[] {
    return this.#store.get(containerId)?.attachments ?? [];
  }

  /** Run `op` after the container's earlier operations. */
  #serial<T>(containerId: string, op: () => Promise<T>): Promise<T> {
    const previous = this.#queues.get(containerId) ?? Promise.resolve();
    const next = previous.catch(() => {}).then(op);
    this.#queues.set(containerId, next);
    const forget = () => {
      if (this.#queues.get(containerId) === next) this.#queues.delete(containerId);
    };
    next.then(forget, forget);
    return next;
  }

  /** Attach a container's namespace to a network: CNI ADD, undone by a DEL if it fails. */
  async attach(
    containerId: string,
    netns: string,
    network: NetworkRecord,
    request: AttachRequest,
  ): Promise<EndpointSettings> {
    const ports = request.ports ?? [];
    if (network.Internal && ports.length > 0) {
      throw invalid(`network ${network.Name} is internal: ports cannot be published on it`);
    }
    if (request.ip) checkStaticIp(network, request.ip);
    return await this.#serial(containerId, async () => {
      const record = this.#store.get(containerId) ?? { containerId, netns, attachments: [] };
      if (record.attachments.length > 0 && record.netns !== netns) {
        throw conflict(`container ${containerId} is still attached in namespace ${record.netns}`);
      }
      if (record.attachments.some((a) => a.networkId === network.Id)) {
        throw conflict(
          `endpoint with name ${containerId} already exists in network ${network.Name}`,
        );
      }
      const used = new Set(record.attachments.map((a) => a.ifName));
      let index = 0;
      while (used.has(`eth${index}`)) index++;
      const attachment: Attachment = {
        networkId: network.Id,
        ifName: `eth${index}`,
        conf: networkConfList(network, this.#dataDir, request.ip ?? "", ports.length > 0),
        portMappings: ports,
        aliases: request.aliases ?? [],
        staticIp: request.ip ?? "",
        endpointId: randomHexId(),
        result: null,
      };
      const others = record.attachments;
      await this.#store.put({ containerId, netns, attachments: [...others, attachment] });
      try {
        attachment.result = await addList(
          this.#cniPath,
          attachment.conf,
          targetOf(containerId, netns, attachment),
        );
      } catch (err) {
        await this.#undo(containerId, netns, attachment, others, err);
      }
      await this.#store.put({ containerId, netns, attachments: [...others, attachment] });
      return endpointOf(attachment);
    });
  }

  /** DEL a failed ADD and throw its error; a failed DEL keeps the attachment for `detach`. */
  async #undo(
    containerId: string,
    netns: string,
    attachment: Attachment,
    others: Attachment[],
    addError: unknown,
  ): Promise<never> {
    const message = `cannot attach to network: ${(addError as Error).message}`;
    try {
      await delList(this.#cniPath, attachment.conf, targetOf(containerId, netns, attachment), null);
    } catch (delError) {
      throw new Error(`${message}; undoing it failed too: ${(delError as Error).message}`);
    }
    await this.#store.put({ containerId, netns, attachments: others });
    throw new Error(message, { cause: addError });
  }

  /**
   * DEL a container's attachments (all, or the one to `networkId`). Done when
   * it has none; throws only a real failure, and what failed stays recorded
   * for the next try.
   */
  detach(containerId: string, networkId?: string): Promise<void> {
    return this.#serial(containerId, async () => {
      const record = this.#store.get(containerId);
      if (!record) return;
      // A namespace already gone leaves only what is outside it (lease, rules) to free.
      const netns = isNetnsMounted(record.netns) ? record.netns : "";
      let remaining = record.attachments;
      for (const attachment of record.attachments) {
        if (networkId !== undefined && attachment.networkId !== networkId) continue;
        const target = targetOf(containerId, netns, attachment);
        await delList(this.#cniPath, attachment.conf, target, attachment.result);
        remaining = remaining.filter((a) => a !== attachment);
        await this.#store.put({ ...record, attachments: remaining });
      }
    });
  }

  /** CHECK a container's finished attachments (restore): throws what is wrong. */
  check(containerId: string): Promise<void> {
    return this.#serial(containerId, async () => {
      const record = this.#store.get(containerId);
      for (const attachment of record?.attachments ?? []) {
        if (!attachment.result) {
          throw new Error(`the attach to ${attachment.networkId} never finished`);
        }
        const target = targetOf(containerId, record!.netns, attachment);
        await checkList(this.#cniPath, attachment.conf, target, attachment.result);
      }
    });
  }
}
