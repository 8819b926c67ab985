/**
 * Containers: create, list, inspect, the lifecycle actions, wait, remove,
 * rename, update, top, stats and prune (logs and attach: `routes_logs.ts`; exec:
 * `routes_exec.ts`).
 * @module
 */
import {
  type ContainerStats,
  containerStats,
  containerTop,
  type HostConfig,
  matchesLabel,
  type NetworkingRequest,
  pruneContainers,
} from "../../container/mod.ts";
import { invalid } from "../../errdefs/mod.ts";
import { boolParam, intParam, parseFilters, pruneFilter, readBody } from "./request.ts";
import { json, jsonLines, noContent, streamOf } from "./response.ts";
import type { AddRoute, ApiContext } from "./server.ts";
import { checkCreateBody } from "./unsupported.ts";
import { updateChanges } from "./update.ts";
import { containerInspect, containerSizes, containerSummary } from "./views.ts";

/** Register the container routes. */
export function containerRoutes(route: AddRoute, ctx: ApiContext): void {
  const { service: svc, images } = ctx;
  route("POST", "/containers/create", async (req, url) => {
    const body = await readBody<Record<string, unknown>>(req);
    const { HostConfig: hc, NetworkingConfig: networking, ...config } = body as
      & { HostConfig?: Partial<HostConfig>; NetworkingConfig?: NetworkingRequest }
      & Record<string, unknown>;
    checkCreateBody(config, (hc ?? {}) as Record<string, unknown>);
    const id = await svc.create({
      name: url.searchParams.get("name") ?? undefined,
      config: config as { Image: string },
      hostConfig: hc,
      networkingConfig: networking,
    });
    return json({ Id: id, Warnings: [] }, 201);
  });
  route("GET", "/containers/json", async (_r, url) => json(await listContainers(ctx, url)));
  route("GET", "/containers/{id}/json", async (_r, url, p) => {
    const c = svc.store.get(p.id);
    const info = containerInspect(svc, c);
    const withSize = boolParam(url, "size");
    return json(withSize ? { ...info, ...await containerSizes(svc, images, c.rec) } : info);
  });
  lifecycleRoutes(route, ctx);
  route("POST", "/containers/{id}/rename", async (_r, url, p) => {
    const name = url.searchParams.get("name");
    if (!name) throw invalid("rename: name is required");
    await svc.rename(p.id, name);
    return noContent();
  });
  route("POST", "/containers/{id}/update", async (req, _u, p) => {
    await svc.update(p.id, updateChanges(await readBody<Record<string, unknown>>(req)));
    return json({ Warnings: [] });
  });
  route("GET", "/containers/{id}/top", (_r, url, p) => {
    return json(containerTop(svc, p.id, url.searchParams.get("ps_args") ?? ""));
  });
  route("GET", "/containers/{id}/stats", (_r, url, p) => {
    // Docker streams unless told otherwise (`stream` defaults to true).
    const stream = !/^(0|no|false|none)$/i.test(url.searchParams.get("stream") || "true");
    const oneShot = boolParam(url, "one-shot");
    if (stream && oneShot) throw invalid("cannot have stream=true and one-shot=true");
    const toJsonLine = new TransformStream<ContainerStats, string>({
      transform: (sample, ctrl) => ctrl.enqueue(JSON.stringify(sample) + "\n"),
    });
    return jsonLines(
      containerStats(svc, p.id, { stream, oneShot }).pipeThrough(toJsonLine)
        .pipeThrough(new TextEncoderStream()),
    );
  });
  route("POST", "/containers/prune", async (_r, url) => {
    const f = parseFilters(url.searchParams.get("filters"), ["until", "label", "label!"]);
    return json(await pruneContainers(svc, pruneFilter(f)));
  });
}

/** start, stop, restart, kill, wait and remove. */
function lifecycleRoutes(route: AddRoute, { service: svc }: ApiContext): void {
  route("POST", "/containers/{id}/start", async (_r, _u, p) => {
    await svc.start(p.id);
    return noContent();
  });
  route("POST", "/containers/{id}/stop", async (_r, url, p) => {
    await svc.stop(p.id, intParam(url, "t"));
    return noContent();
  });
  route("POST", "/containers/{id}/restart", async (_r, url, p) => {
    await svc.restart(p.id, intParam(url, "t"));
    return noContent();
  });
  route("POST", "/containers/{id}/kill", async (_r, url, p) => {
    await svc.kill(p.id, url.searchParams.get("signal") || "KILL");
    return noContent();
  });
  route("POST", "/containers/{id}/wait", (_r, url, p) => {
    const ref = p.id;
    const found = svc.store.find(ref);
    if (!found) {
      const code = svc.removedExitCode(ref);
      if (code !== undefined && url.searchParams.get("condition") === "removed") {
        return json({ StatusCode: code, Error: null });
      }
    }
    const { result } = svc.wait(ref, url.searchParams.get("condition") ?? "not-running");
    const enc = new TextEncoder();
    // Headers go out at once: the client then knows the wait is armed.
    return jsonLines(
      streamOf(async (write) => write(enc.encode(JSON.stringify(await result) + "\n"))),
    );
  });
  route("DELETE", "/containers/{id}", async (_r, url, p) => {
    await svc.remove(p.id, boolParam(url, "force"), boolParam(url, "v"));
    return noContent();
  });
}

/**
 * `GET /containers/json`: `docker ps` with its filters, sizes on `?size=1`,
 * and `?limit=N` (`ps -n N`, `ps -l`): the N last created, whatever their state.
 */
async function listContainers({ service: svc, images }: ApiContext, url: URL) {
  const limit = intParam(url, "limit") ?? 0;
  const all = boolParam(url, "all") || limit > 0;
  const withSize = boolParam(url, "size");
  const f = parseFilters(url.searchParams.get("filters"), [
    "status",
    "name",
    "label",
    "id",
    "ancestor",
    "exited",
  ]);
  const listed = svc.store.list().filter((c) => {
    const r = c.rec;
    if (!all && !r.State.Running && !f.status) return false;
    if (f.status && !f.status.includes(r.State.Status)) return false;
    if (f.name && !f.name.some((n) => r.Name.includes(n.replace(/^\//, "")))) return false;
    if (f.id && !f.id.some((i) => r.Id.startsWith(i))) return false;
    if (f.exited && !f.exited.includes(String(r.State.ExitCode))) return false;
    if (f.ancestor && !f.ancestor.some((a) => a === r.Image || r.ImageID.includes(a))) {
      return false;
    }
    return (f.label ?? []).every((l) => matchesLabel(r.Config.Labels, l));
  });
  // Newest first, so the limit keeps the last created.
  const shown = limit > 0 ? listed.slice(0, limit) : listed;
  return await Promise.all(shown.map(async (c) => ({
    ...containerSummary(c.rec),
    ...(withSize ? await containerSizes(svc, images, c.rec) : {}),
  })));
}
