/**
 * `docker network connect` and `disconnect` of a container: the networks it
 * is on are part of its record (persisted), and a running container is
 * attached or detached at once, its network's members told.
 * @module
 */
import { conflict, invalid } from "../errdefs/mod.ts";
import type { Container } from "./container.ts";
import type { ContainerCore } from "./core.ts";
import type { EndpointRequest } from "./model.ts";
import { joinedContainer } from "./networking.ts";

/** Refuse a container whose network is not its own to share (none, host, container:ID). */
function checkOwnNetwork(c: Container): void {
  const mode = c.rec.HostConfig.NetworkMode ?? "none";
  if (mode === "none" || mode === "host" || joinedContainer(mode) !== null) {
    throw invalid(
      `container ${c.name} has network mode ${mode}: it cannot be connected to or disconnected from networks`,
    );
  }
}

/**
 * Connect a container (its lock held) to a network.
 *
 * @example
 * ```ts
 * import type { Container } from "./container.ts";
 * import type { ContainerCore } from "./core.ts";
 * declare const core: ContainerCore;
 * declare const c: Container;
 * await c.exclusive(() => connectContainer(core, c, "backend", { Aliases: ["db"] }));
 * ```
 */
export async function connectContainer(
  core: ContainerCore,
  c: Container,
  network: string,
  request: EndpointRequest,
): Promise<void> {
  checkOwnNetwork(c);
  const { networking } = core;
  const decided = networking.decide(
    { ...c.rec.HostConfig, NetworkMode: network },
    {},
    { EndpointsConfig: { [network]: request } },
  )!;
  const [[resolved, settings]] = Object.entries(decided);
  if (c.rec.Networks?.[resolved]) {
    throw conflict(`endpoint with name ${c.name} already exists in network ${resolved}`);
  }
  const before = c.rec.Networks ?? {};
  if (c.rec.State.Running) {
    const manager = networking.manager!;
    await manager.attach(c.id, manager.netnsPath(c.id), {
      network: resolved,
      aliases: settings.Aliases ?? undefined,
      ip: settings.IPAMConfig?.IPv4Address || undefined,
    });
    await c.networksChanged({ ...before, [resolved]: settings });
    await networking.writeHosts(c.rec);
    await networking.refreshMembers([resolved], c.id);
  } else {
    await c.networksChanged({ ...before, [resolved]: settings });
  }
}

/**
 * Disconnect a container (its lock held) from a network.
 *
 * @example
 * ```ts
 * import type { Container } from "./container.ts";
 * import type { ContainerCore } from "./core.ts";
 * declare const core: ContainerCore;
 * declare const c: Container;
 * await c.exclusive(() => disconnectContainer(core, c, "backend"));
 * ```
 */
export async function disconnectContainer(
  core: ContainerCore,
  c: Container,
  network: string,
): Promise<void> {
  checkOwnNetwork(c);
  const { networking } = core;
  const resolved = networking.manager?.inspect(network).Name ?? network;
  const { [resolved]: gone, ...rest } = c.rec.Networks ?? {};
  if (!gone) throw conflict(`container ${c.name} is not connected to network ${resolved}`);
  if (c.rec.State.Running) {
    await networking.manager!.detach(c.id, resolved);
    await c.networksChanged(rest);
    await networking.writeHosts(c.rec);
    await networking.refreshMembers([resolved], c.id);
  } else {
    await c.networksChanged(rest);
  }
}
