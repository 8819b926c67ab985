/**
 * Volumes, as Docker's API serves them: `GET /volumes` (filters `name`,
 * `label`, `dangling`, `driver`), `POST /volumes/create`, `GET
 * /volumes/{name}`, `DELETE /volumes/{name}` (`force`), `POST
 * /volumes/prune` (anonymous ones only unless `all`, from API 1.42 as in
 * Docker 23+; filters `label`, `label!`).
 * @module
 */
import { matchesLabel, pruneVolumes, removeVolume, volumeRefCount } from "../../container/mod.ts";
import { invalid } from "../../errdefs/mod.ts";
import type { VolumeRecord } from "../../volume/mod.ts";
import { boolFilter, boolParam, parseFilters, readBody } from "./request.ts";
import { json, noContent } from "./response.ts";
import type { AddRoute, ApiContext } from "./server.ts";

/**
 * A volume as Docker shows it; with `usage`, `UsageData` (bytes and how many
 * containers mount it).
 *
 * @example
 * ```ts
 * import type { ApiContext } from "./server.ts";
 * declare const ctx: ApiContext;
 * await volumeView(ctx, ctx.volumes.get("db"), true);
 * ```
 */
export async function volumeView(ctx: ApiContext, v: VolumeRecord, usage = false) {
  const orNull = (o: Record<string, string>) => Object.keys(o).length ? o : null;
  return {
    CreatedAt: v.CreatedAt,
    Driver: v.Driver,
    Labels: orNull(v.Labels),
    Mountpoint: ctx.volumes.mountpoint(v.Name),
    Name: v.Name,
    Options: orNull(v.Options),
    Scope: "local",
    ...(usage
      ? {
        UsageData: {
          Size: await ctx.volumes.size(v.Name),
          RefCount: volumeRefCount(ctx.service, v.Name),
        },
      }
      : {}),
  };
}

/** The API version a request asked for (the URL's `/v1.NN/`), or null. */
function apiVersion(url: URL): number | null {
  const m = url.pathname.match(/^\/v1\.(\d+)\//);
  return m ? Number(m[1]) : null;
}

/** Register the volume routes. */
export function volumeRoutes(route: AddRoute, ctx: ApiContext): void {
  const { service: svc, volumes } = ctx;
  route("GET", "/volumes", async (_r, url) => {
    const f = parseFilters(url.searchParams.get("filters"), [
      "name",
      "label",
      "dangling",
      "driver",
    ]);
    const dangling = boolFilter(f, "dangling");
    const listed = volumes.list().filter((v) =>
      (!f.name || f.name.some((n) => v.Name.includes(n))) &&
      (!f.driver || f.driver.includes(v.Driver)) &&
      (f.label ?? []).every((l) => matchesLabel(v.Labels, l)) &&
      (dangling === undefined || dangling === (volumeRefCount(svc, v.Name) === 0))
    );
    return json({
      Volumes: await Promise.all(listed.map((v) => volumeView(ctx, v))),
      Warnings: [],
    });
  });
  route("POST", "/volumes/create", async (req) => {
    const body = await readBody<Record<string, unknown>>(req);
    for (const k of ["Name", "Driver"] as const) {
      if (body[k] != null && typeof body[k] !== "string") throw invalid(`${k} must be a string`);
    }
    for (const k of ["DriverOpts", "Labels"] as const) {
      const v = body[k];
      if (
        v != null &&
        (typeof v !== "object" || Array.isArray(v) ||
          Object.values(v).some((x) => typeof x !== "string"))
      ) throw invalid(`${k} must be an object of string values`);
    }
    const v = await volumes.create({
      Name: (body.Name as string | undefined) ?? "",
      Driver: body.Driver as string | undefined,
      DriverOpts: body.DriverOpts as Record<string, string> | undefined,
      Labels: body.Labels as Record<string, string> | undefined,
    });
    return json(await volumeView(ctx, v), 201);
  });
  route("POST", "/volumes/prune", async (_r, url) => {
    const f = parseFilters(url.searchParams.get("filters"), ["label", "label!", "all"]);
    // Before API 1.42 a prune took every unused volume; from 1.42 only anonymous ones by default.
    const version = apiVersion(url);
    const all = boolFilter(f, "all") ?? (version !== null && version < 42);
    return json(await pruneVolumes(svc, { all, labels: f.label, notLabels: f["label!"] }));
  });
  route("GET", "/volumes/{name}", async (_r, url, p) => {
    return json(await volumeView(ctx, volumes.get(p.name), boolParam(url, "size")));
  });
  route("DELETE", "/volumes/{name}", async (_r, url, p) => {
    await removeVolume(svc, p.name, boolParam(url, "force"));
    return noContent();
  });
}
