/**
 * Containers and images as the Docker Engine API shows them: `docker
 * inspect`, `docker ps` entries with their sizes, `docker images` entries and
 * `docker image inspect`.
 * @module
 */
import {
  type Container,
  type ContainerRecord,
  type ContainerService,
  describeStatus,
} from "../../container/mod.ts";
import { hostArchitecture, type Image, type ImageStore } from "../../image/mod.ts";
import { parseBind } from "../../runtime/mod.ts";
import {
  DEFAULT_NETWORK,
  type EndpointSettings,
  type PortMap,
  publishedPorts,
} from "../../network/mod.ts";
import { treeSize } from "../../sys/mod.ts";

/** What a container runs: its entrypoint, then its command. */
function commandLine(r: ContainerRecord): string[] {
  return [...(r.Config.Entrypoint ?? []), ...r.Config.Cmd];
}

/**
 * Inspect's `Mounts` in Docker's shape: `-v` binds, then `--mount` binds and
 * tmpfs, then volumes (`mountpoint` says where a volume's data is).
 */
function mountPoints(
  r: Readonly<Omit<ContainerRecord, "State">>,
  mountpoint: (name: string) => string,
) {
  const binds = (r.HostConfig.Binds ?? []).filter((b) => parseBind(b).kind === "bind").map((b) => {
    const [src, dst, mode] = b.split(":");
    return {
      Type: "bind",
      Source: src,
      Destination: dst,
      Mode: mode ?? "",
      RW: mode !== "ro",
      Propagation: "rprivate",
    };
  });
  const mounts = (r.HostConfig.Mounts ?? []).filter((m) => m.Type !== "volume").map((m) => ({
    Type: m.Type,
    Source: m.Source ?? "",
    Destination: m.Target,
    Mode: "",
    RW: !m.ReadOnly,
    Propagation: m.Type === "bind" ? m.BindOptions?.Propagation || "rprivate" : "",
  }));
  const volumes = (r.MountPoints ?? []).map((v) => ({
    Type: "volume",
    Name: v.Name,
    Source: mountpoint(v.Name),
    Destination: v.Destination,
    Driver: "local",
    Mode: v.Mode,
    RW: v.RW,
    Propagation: "",
  }));
  return [...binds, ...mounts, ...volumes];
}

/**
 * `GET /containers/ID/json`: the container as `docker inspect` shows it.
 *
 * @example
 * ```ts
 * import type { ContainerService } from "../../container/mod.ts";
 * declare const svc: ContainerService;
 * containerInspect(svc, svc.store.get("web")).State.Status; // "running"
 * ```
 */
export function containerInspect(svc: ContainerService, c: Container) {
  const r = c.rec;
  const args = commandLine(r);
  return {
    Id: r.Id,
    Created: r.Created,
    Path: args[0] ?? "",
    Args: args.slice(1),
    State: stateView(r.State, c.loadError),
    Image: r.ImageID,
    ResolvConfPath: svc.disk.etcFiles(r.Id).resolvConf,
    HostnamePath: svc.disk.etcFiles(r.Id).hostname,
    HostsPath: svc.disk.etcFiles(r.Id).hosts,
    LogPath: svc.disk.logPath(r.Id),
    Name: "/" + r.Name,
    RestartCount: r.RestartCount,
    Driver: "overlay",
    Platform: "linux",
    HostConfig: {
      ...r.HostConfig,
      LogConfig: { Type: "json-file", Config: {} },
      NetworkMode: r.HostConfig.NetworkMode ?? "none",
      PortBindings: r.HostConfig.PortBindings ?? {},
    },
    Config: {
      ...r.Config,
      Hostname: r.Config.Hostname || r.Id.slice(0, 12),
      Tty: Boolean(r.Config.Tty),
      OpenStdin: Boolean(r.Config.OpenStdin),
      StdinOnce: Boolean(r.Config.StdinOnce),
      ExposedPorts: r.Config.ExposedPorts ?? null,
    },
    Mounts: mountPoints(r, (name) => svc.opts.volumes.mountpoint(name)),
    NetworkSettings: networkSettings(r, svc.core.networking.endpoints(r.Id), sandboxKey(svc, r)),
    GraphDriver: { Name: "overlay", Data: { UpperDir: svc.disk.upperDir(r.Id) } },
  };
}

/** Inspect's `State`: corral's own bookkeeping (the run's host ports) left out. */
function stateView(state: ContainerRecord["State"], loadError: string | null | undefined) {
  const { Ports: _ports, ...shown } = state;
  return { ...shown, Error: loadError ?? state.Error };
}

/** Where a running container's network namespace is: the one corral made, else its init's. */
function sandboxKey(svc: ContainerService, r: ContainerRecord): string {
  if (!r.State.Running) return "";
  const own = Object.keys(r.Networks ?? {}).length > 0 || r.HostConfig.NetworkMode === "bridge";
  return own && svc.core.networking.manager
    ? svc.core.networking.manager.netnsPath(r.Id)
    : `/proc/${r.State.Pid}/ns/net`;
}

/**
 * A container's ports as Docker shows them: every exposed port, with its
 * host bindings while it runs (`null`: exposed, not published).
 */
function portsOf(r: ContainerRecord): PortMap {
  if (!r.State.Running) return {};
  const ports: PortMap = {};
  for (const key of Object.keys(r.Config.ExposedPorts ?? {})) ports[key] = null;
  return { ...ports, ...publishedPorts(r.State.Ports ?? []) };
}

/**
 * Docker's `NetworkSettings`, every field there (clients read `Ports` and
 * `Networks` without checking them). The top-level address fields are the
 * default network's, as in Docker; a stopped container lists its networks
 * with no address.
 */
function networkSettings(
  r: ContainerRecord,
  endpoints: Record<string, EndpointSettings>,
  sandbox: string,
) {
  const networks: Record<string, EndpointSettings> = {};
  for (const [name, asked] of Object.entries(r.Networks ?? {})) {
    networks[name] = endpoints[name] ?? {
      IPAMConfig: asked.IPAMConfig?.IPv4Address
        ? { IPv4Address: asked.IPAMConfig.IPv4Address }
        : null,
      Links: null,
      Aliases: asked.Aliases ?? null,
      NetworkID: "",
      EndpointID: "",
      Gateway: "",
      IPAddress: "",
      IPPrefixLen: 0,
      IPv6Gateway: "",
      GlobalIPv6Address: "",
      GlobalIPv6PrefixLen: 0,
      MacAddress: "",
      DriverOpts: null,
    };
  }
  const main = endpoints[DEFAULT_NETWORK];
  return {
    Bridge: "",
    SandboxID: sandbox ? r.Id : "",
    SandboxKey: sandbox,
    HairpinMode: false,
    LinkLocalIPv6Address: "",
    LinkLocalIPv6PrefixLen: 0,
    Ports: portsOf(r),
    SecondaryIPAddresses: null,
    SecondaryIPv6Addresses: null,
    EndpointID: main?.EndpointID ?? "",
    Gateway: main?.Gateway ?? "",
    GlobalIPv6Address: "",
    GlobalIPv6PrefixLen: 0,
    IPAddress: main?.IPAddress ?? "",
    IPPrefixLen: main?.IPPrefixLen ?? 0,
    IPv6Gateway: "",
    MacAddress: main?.MacAddress ?? "",
    Networks: networks,
  };
}

/**
 * `SizeRw` and `SizeRootFs` (with the image's layers), as `?size=1` asks.
 *
 * @example
 * ```ts
 * import type { ContainerService } from "../../container/mod.ts";
 * import type { ImageStore } from "../../image/mod.ts";
 * declare const svc: ContainerService;
 * declare const images: ImageStore;
 * const { SizeRw } = await containerSizes(svc, images, svc.store.get("web").rec);
 * ```
 */
export async function containerSizes(
  svc: ContainerService,
  images: ImageStore,
  r: ContainerRecord,
): Promise<{ SizeRw: number; SizeRootFs: number }> {
  const rw = await svc.disk.upperSize(r.Id);
  const image = images.find(r.ImageID);
  return { SizeRw: rw, SizeRootFs: rw + (image?.Size ?? 0) };
}

/**
 * One entry of `GET /containers/json` (`docker ps`), without the sizes.
 *
 * @example
 * ```ts
 * import type { ContainerRecord } from "../../container/mod.ts";
 * declare const r: ContainerRecord;
 * containerSummary(r).Names; // ["/web"]
 * ```
 */
export function containerSummary(
  r: ContainerRecord,
  endpoints: Record<string, EndpointSettings> = {},
) {
  return {
    Id: r.Id,
    Names: ["/" + r.Name],
    Image: r.Image,
    ImageID: r.ImageID,
    // As Docker: an argument with a space is shown in single quotes.
    Command: commandLine(r).map((a) => a.includes(" ") ? `'${a}'` : a).join(" "),
    Created: Math.floor(Date.parse(r.Created) / 1000),
    State: r.State.Status,
    Status: describeStatus(r),
    Labels: r.Config.Labels,
    Ports: Object.entries(portsOf(r)).flatMap(([key, bindings]) => {
      const [port, type] = key.split("/");
      const PrivatePort = Number(port);
      if (!bindings) return [{ PrivatePort, Type: type }];
      return bindings.map((b) => ({
        IP: b.HostIp,
        PrivatePort,
        PublicPort: Number(b.HostPort),
        Type: type,
      }));
    }),
    Mounts: [],
    HostConfig: { NetworkMode: r.HostConfig.NetworkMode ?? "none" },
    NetworkSettings: { Networks: endpoints },
    RestartCount: r.RestartCount,
    GC: r.State.GC,
  };
}

/**
 * One entry of `GET /images/json` (`docker images`).
 *
 * @example
 * ```ts
 * import type { ImageStore } from "../../image/mod.ts";
 * declare const images: ImageStore;
 * images.list().map(imageSummary);
 * ```
 */
export function imageSummary(i: Image) {
  return {
    Id: i.Id,
    RepoTags: i.RepoTags,
    RepoDigests: i.RepoDigests ?? [],
    Created: Math.floor(Date.parse(i.Created) / 1000),
    Size: i.Size,
    VirtualSize: i.Size,
    SharedSize: -1,
    Labels: i.Config.Labels ?? {},
    Containers: -1,
    ParentId: "",
  };
}

/**
 * `GET /images/NAME/json`: the image as `docker image inspect` shows it.
 *
 * @example
 * ```ts
 * import type { ImageStore } from "../../image/mod.ts";
 * declare const images: ImageStore;
 * imageInspect(images.resolve("busybox")).RootFS.Layers; // ["sha256:…"]
 * ```
 */
export function imageInspect(i: Image) {
  return {
    Id: i.Id,
    RepoTags: i.RepoTags,
    RepoDigests: i.RepoDigests ?? [],
    Created: i.Created,
    Size: i.Size,
    Os: "linux",
    Architecture: hostArchitecture(),
    Config: i.Config,
    RootFS: { Type: "layers", Layers: i.Layers.map((l) => `sha256:${l}`) },
  };
}

/**
 * `GET /images/NAME/history` (`docker history`): one entry per layer, newest
 * first. corral keeps no build history, so no layer says what created it;
 * the top one is the image itself, as Docker shows it.
 *
 * @example
 * ```ts
 * import type { ImageStore } from "../../image/mod.ts";
 * declare const images: ImageStore;
 * const [top] = await imageHistory(images, images.resolve("busybox"));
 * top.Tags; // ["busybox:latest"]
 * ```
 */
export async function imageHistory(images: ImageStore, i: Image) {
  const created = Math.floor(Date.parse(i.Created) / 1000);
  const newestFirst = [...i.Layers].reverse();
  return await Promise.all(newestFirst.map(async (layer, n) => ({
    Id: n === 0 ? i.Id : "<missing>",
    Created: created,
    CreatedBy: "",
    Tags: n === 0 ? i.RepoTags : null,
    Size: await treeSize(images.layerDir(layer)),
    Comment: "",
  })));
}
