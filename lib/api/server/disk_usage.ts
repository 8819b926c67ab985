/**
 * The space images and containers take: `GET /system/df` (`docker system
 * df`) and `POST /images/prune` (`docker image prune`), both counting the
 * bytes of each layer once.
 * @module
 */
import { type ContainerService, matchesLabel, type PruneFilter } from "../../container/mod.ts";
import { errorKind, invalid } from "../../errdefs/mod.ts";
import type { Image, ImageStore, RemoveRecord } from "../../image/mod.ts";
import { treeSize } from "../../sys/mod.ts";
import type { ApiContext } from "./server.ts";
import { volumeView } from "./routes_volumes.ts";
import { containerSizes, containerSummary, imageSummary } from "./views.ts";

/** What `docker system df` can ask for (`?type=`, API 1.42). */
const DF_TYPES = ["container", "image", "volume", "build-cache"];

/**
 * `GET /system/df`: the images with the containers using them and the bytes
 * they share, the containers with their sizes, the volumes with their
 * sizes and users, and no build cache (corral builds nothing). `types`
 * empty means all.
 *
 * @example
 * ```ts
 * import type { ApiContext } from "./server.ts";
import { volumeView } from "./routes_volumes.ts";
 * declare const ctx: ApiContext;
 * const { LayersSize, Images } = await diskUsage(ctx, []);
 * ```
 */
export async function diskUsage(ctx: ApiContext, types: string[]) {
  const unknown = types.find((t) => !DF_TYPES.includes(t));
  if (unknown !== undefined) {
    throw invalid(`invalid type "${unknown}": use ${DF_TYPES.join(", ")}`);
  }
  const want = (t: string) => types.length === 0 || types.includes(t);
  return {
    ...(want("image") ? await imageUsage(ctx) : {}),
    ...(want("container") ? { Containers: await containerUsage(ctx) } : {}),
    ...(want("volume")
      ? { Volumes: await Promise.all(ctx.volumes.list().map((v) => volumeView(ctx, v, true))) }
      : {}),
    ...(want("build-cache") ? { BuildCache: [] } : {}),
  };
}

async function imageUsage({ service: svc, images }: ApiContext) {
  const all = images.list();
  const sizes = await layerSizes(images, all);
  const imagesOfLayer = new Map<string, number>();
  for (const i of all) {
    for (const l of i.Layers) imagesOfLayer.set(l, (imagesOfLayer.get(l) ?? 0) + 1);
  }
  const containersOf = new Map<string, number>();
  for (const c of svc.store.list()) {
    containersOf.set(c.rec.ImageID, (containersOf.get(c.rec.ImageID) ?? 0) + 1);
  }
  return {
    LayersSize: [...sizes.values()].reduce((a, b) => a + b, 0),
    Images: all.map((i) => ({
      ...imageSummary(i),
      Containers: containersOf.get(i.Id) ?? 0,
      SharedSize: i.Layers.filter((l) => imagesOfLayer.get(l)! > 1)
        .reduce((sum, l) => sum + sizes.get(l)!, 0),
    })),
  };
}

async function containerUsage({ service: svc, images }: ApiContext) {
  return await Promise.all(
    svc.store.list().map(async (c) => ({
      ...containerSummary(c.rec, svc.core.networking.endpoints(c.id)),
      ...await containerSizes(svc, images, c.rec),
    })),
  );
}

/** The bytes of every layer of `of`, by layer id. */
async function layerSizes(images: ImageStore, of: Image[]): Promise<Map<string, number>> {
  const ids = [...new Set(of.flatMap((i) => i.Layers))];
  return new Map(
    await Promise.all(ids.map(async (l) => [l, await treeSize(images.layerDir(l))] as const)),
  );
}

/**
 * Whether a container uses an image now: what `ImageStore.remove` asks before taking one.
 *
 * @example
 * ```ts
 * import type { ContainerService } from "../../container/mod.ts";
 * declare const svc: ContainerService;
 * imageInUse(svc)("sha256:0123"); // false when no container was made from it
 * ```
 */
export function imageInUse(svc: ContainerService): (imageId: string) => boolean {
  return (id) => svc.store.list().some((c) => c.rec.ImageID === id);
}

/** Which unused images `docker image prune` removes. */
export interface ImagePruneFilter extends PruneFilter {
  /** Only images without a tag (the default); false: every unused image (`prune -a`). */
  danglingOnly: boolean;
}

/**
 * `POST /images/prune`: remove the images no container uses that pass
 * `filter`, and the layers no other image holds. An image a container
 * started using meanwhile, or that is gone already, is skipped.
 *
 * @example
 * ```ts
 * import type { ApiContext } from "./server.ts";
import { volumeView } from "./routes_volumes.ts";
 * declare const ctx: ApiContext;
 * const { ImagesDeleted, SpaceReclaimed } = await pruneImages(ctx, { danglingOnly: true });
 * ```
 */
export async function pruneImages(
  { service: svc, images }: ApiContext,
  filter: ImagePruneFilter,
): Promise<{ ImagesDeleted: RemoveRecord[]; SpaceReclaimed: number }> {
  const inUse = imageInUse(svc);
  // The candidates from one listing; each removal checks again (a container may start meanwhile).
  const used = new Set(svc.store.list().map((c) => c.rec.ImageID));
  const candidates = images.list().filter((i) => {
    if (used.has(i.Id) || (filter.danglingOnly && i.RepoTags.length > 0)) return false;
    if (filter.until !== undefined && Date.parse(i.Created) >= filter.until) return false;
    const labels = i.Config.Labels;
    if (!(filter.labels ?? []).every((l) => matchesLabel(labels, l))) return false;
    return !(filter.notLabels ?? []).some((l) => matchesLabel(labels, l));
  });
  const deleted: RemoveRecord[] = [];
  let reclaimed = 0;
  for (const image of candidates) {
    // Measured before: the records name the layers that went.
    const sizes = await layerSizes(images, [image]);
    // As Docker: tag by tag, without force; the last one takes the image unless it is used now.
    for (const ref of image.RepoTags.length ? image.RepoTags : [image.Id]) {
      let records: RemoveRecord[];
      try {
        records = await images.remove(ref, { inUse });
      } catch (err) {
        if (errorKind(err) === "not_found" || errorKind(err) === "conflict") break;
        throw err;
      }
      deleted.push(...records);
      for (const r of records) {
        reclaimed += sizes.get(r.Deleted?.slice("sha256:".length) ?? "") ?? 0;
      }
    }
  }
  return { ImagesDeleted: deleted, SpaceReclaimed: reclaimed };
}
