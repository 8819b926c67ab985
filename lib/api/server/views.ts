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
import { treeSize } from "../../sys/mod.ts";

/** What a container runs: its entrypoint, then its command. */
function commandLine(r: ContainerRecord): string[] {
  return [...(r.Config.Entrypoint ?? []), ...r.Config.Cmd];
}

/** Inspect's `Mounts`: `-v` binds, then `--mount` binds and tmpfs, in Docker's shape. */
function mountPoints(r: Readonly<Omit<ContainerRecord, "State">>) {
  const binds = (r.HostConfig.Binds ?? []).map((b) => {
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
  const mounts = (r.HostConfig.Mounts ?? []).map((m) => ({
    Type: m.Type,
    Source: m.Source ?? "",
    Destination: m.Target,
    Mode: "",
    RW: !m.ReadOnly,
    Propagation: m.Type === "bind" ? m.BindOptions?.Propagation || "rprivate" : "",
  }));
  return [...binds, ...mounts];
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
    State: { ...r.State, Error: c.loadError ?? r.State.Error },
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
      NetworkMode: "none",
    },
    Config: { ...r.Config, Hostname: r.Config.Hostname || r.Id.slice(0, 12), Tty: false },
    Mounts: mountPoints(r),
    NetworkSettings: networkSettings(r),
    GraphDriver: { Name: "overlay", Data: { UpperDir: svc.disk.upperDir(r.Id) } },
  };
}

/**
 * Docker's `NetworkSettings` of a container on no network, every field there
 * (clients read `Ports` and `Networks` without checking them). A running
 * container's network namespace is its init's.
 */
function networkSettings(r: ContainerRecord) {
  return {
    Bridge: "",
    SandboxID: "",
    SandboxKey: r.State.Running ? `/proc/${r.State.Pid}/ns/net` : "",
    HairpinMode: false,
    LinkLocalIPv6Address: "",
    LinkLocalIPv6PrefixLen: 0,
    Ports: {},
    SecondaryIPAddresses: null,
    SecondaryIPv6Addresses: null,
    EndpointID: "",
    Gateway: "",
    GlobalIPv6Address: "",
    GlobalIPv6PrefixLen: 0,
    IPAddress: "",
    IPPrefixLen: 0,
    IPv6Gateway: "",
    MacAddress: "",
    Networks: {},
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
export function containerSummary(r: ContainerRecord) {
  return {
    Id: r.Id,
    Names: ["/" + r.Name],
    Image: r.Image,
    ImageID: r.ImageID,
    Command: commandLine(r).join(" "),
    Created: Math.floor(Date.parse(r.Created) / 1000),
    State: r.State.Status,
    Status: describeStatus(r),
    Labels: r.Config.Labels,
    Ports: [],
    Mounts: [],
    HostConfig: { NetworkMode: "none" },
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
