/**
 * Images: list, inspect, remove, tag, import (a rootfs stream, or a directory
 * by path through corral's own route), load and save; pull and push are
 * refused (no registry).
 * @module
 */
import { invalid } from "../../errdefs/mod.ts";
import {
  loadImageArchive,
  loadMessages,
  parseImportChanges,
  saveImageArchive,
} from "../../image/mod.ts";
import { boolParam, readBody, refusePlatform } from "./request.ts";
import { json, jsonLines } from "./response.ts";
import type { AddRoute, ApiContext } from "./server.ts";
import { imageInspect, imageSummary } from "./views.ts";

/** Register the image routes. */
export function imageRoutes(route: AddRoute, ctx: ApiContext): void {
  const { service: svc, images } = ctx;
  route("GET", "/images/json", () => json(images.list().map(imageSummary)));
  route("GET", "/images/{name*}/json", (_r, _u, p) => {
    return json(imageInspect(images.resolve(decodeURIComponent(p.name))));
  });
  route("DELETE", "/images/{name*}", async (_r, url, p) => {
    const inUse = (imageId: string) => svc.store.list().some((c) => c.rec.ImageID === imageId);
    return json(
      await images.remove(decodeURIComponent(p.name), { force: boolParam(url, "force"), inUse }),
    );
  });
  route("POST", "/images/{name*}/tag", async (_r, url, p) => {
    const repo = url.searchParams.get("repo");
    if (!repo) throw invalid("tag: repo is required");
    const tag = url.searchParams.get("tag");
    await images.tag(decodeURIComponent(p.name), tag ? `${repo}:${tag}` : repo);
    return new Response(null, { status: 201 });
  });
  route("POST", "/images/{name*}/push", () => {
    throw invalid(
      `pushing images to a registry is not supported by corral (no registry access): ` +
        `use "docker save" instead`,
    );
  });
  importRoutes(route, ctx);
  archiveRoutes(route, ctx);
}

/** `docker import` (a stream) and corral's own import of a directory and busybox image. */
function importRoutes(route: AddRoute, { images }: ApiContext): void {
  route("POST", "/images/create", async (req, url) => {
    const from = url.searchParams.get("fromSrc");
    if (from !== "-") {
      throw invalid(
        `pulling images from a registry is not supported by corral (no registry access): ` +
          `use "docker load" or "docker import" (corral image import) instead`,
      );
    }
    const repo = url.searchParams.get("repo") || "imported";
    const tag = url.searchParams.get("tag");
    refusePlatform(url, "import");
    if (url.searchParams.get("message")) {
      throw invalid("import --message is not supported by corral: images keep no history");
    }
    const config = parseImportChanges(url.searchParams.getAll("changes"));
    if (!req.body) throw invalid("import: empty body");
    const img = await images.importRootfsStream(req.body, tag ? `${repo}:${tag}` : repo, config);
    return json({ status: img.Id });
  });
  // The CLI and the daemon share the host: import a directory by path (a file's content
  // goes to /images/create). Absolute only: the daemon's working directory is not the caller's.
  route("POST", "/corral/images/import", async (req) => {
    const body = await readBody<{ Source?: string; Name?: string }>(req);
    if (!body.Source || !body.Name) throw invalid("import: Source and Name are required");
    if (!body.Source.startsWith("/")) throw invalid("import: Source must be an absolute path");
    const img = await images.importRootfs(body.Source, body.Name);
    return json({ Id: img.Id });
  });
  route("POST", "/corral/images/busybox", async (req) => {
    const body = await readBody<{ Name?: string }>(req);
    const img = await images.ensureBusybox(body.Name || "busybox:latest");
    return json({ Id: img.Id });
  });
}

/** `docker load` and `docker save`. */
function archiveRoutes(route: AddRoute, { images }: ApiContext): void {
  route("POST", "/images/load", async (req, url) => {
    refusePlatform(url, "load");
    if (!req.body) {
      throw invalid("load: empty request: send an image archive (docker load -i FILE)");
    }
    const lines = loadMessages(await loadImageArchive(images, req.body));
    return jsonLines(lines.map((line) => JSON.stringify({ stream: `${line}\n` }) + "\n").join(""));
  });
  const save = async (url: URL, names: string[]) => {
    refusePlatform(url, "save");
    const archive = await saveImageArchive(images, names);
    return new Response(archive, { headers: { "content-type": "application/x-tar" } });
  };
  route("GET", "/images/get", (_r, url) => save(url, url.searchParams.getAll("names")));
  route("GET", "/images/{name*}/get", (_r, url, p) => save(url, [decodeURIComponent(p.name)]));
}
