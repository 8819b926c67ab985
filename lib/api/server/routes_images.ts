/**
 * Images: list (with Docker's filters), inspect, history, remove, tag, prune,
 * import (a rootfs stream, or a directory by path through corral's own
 * route), load and save. Pull and push are in routes_registry.ts.
 * @module
 */
import { matchesLabel } from "../../container/mod.ts";
import { invalid } from "../../errdefs/mod.ts";
import {
  type Image,
  type ImageStore,
  loadImageArchive,
  loadMessages,
  parseImportChanges,
  saveImageArchive,
} from "../../image/mod.ts";
import { imageInUse, pruneImages } from "./disk_usage.ts";
import { pullImage } from "./routes_registry.ts";
import {
  boolFilter,
  boolParam,
  parseFilters,
  parseTime,
  pruneFilter,
  readBody,
  refusePlatform,
} from "./request.ts";
import { json, jsonLines } from "./response.ts";
import type { AddRoute, ApiContext } from "./server.ts";
import { imageHistory, imageInspect, imageSummary } from "./views.ts";

/** Register the image routes. */
export function imageRoutes(route: AddRoute, ctx: ApiContext): void {
  const { service: svc, images } = ctx;
  route("GET", "/images/json", (_r, url) => json(listImages(images, url).map(imageSummary)));
  route("GET", "/images/{name*}/json", (_r, _u, p) => {
    return json(imageInspect(images.resolve(decodeURIComponent(p.name))));
  });
  route("GET", "/images/{name*}/history", async (_r, _u, p) => {
    return json(await imageHistory(images, images.resolve(decodeURIComponent(p.name))));
  });
  route("POST", "/images/prune", async (_r, url) => {
    const f = parseFilters(url.searchParams.get("filters"), [
      "dangling",
      "until",
      "label",
      "label!",
    ]);
    return json(
      await pruneImages(ctx, {
        ...pruneFilter(f),
        // As Docker: only dangling images unless told otherwise (image prune -a).
        danglingOnly: boolFilter(f, "dangling") ?? true,
      }),
    );
  });
  route("DELETE", "/images/{name*}", async (_r, url, p) => {
    const inUse = imageInUse(svc);
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
  importRoutes(route, ctx);
  archiveRoutes(route, ctx);
}

/**
 * `docker import` (a stream) and `docker pull` (both `/images/create`), and
 * corral's own import of a directory and busybox image.
 */
function importRoutes(route: AddRoute, ctx: ApiContext): void {
  const { images } = ctx;
  route("POST", "/images/create", async (req, url) => {
    const from = url.searchParams.get("fromSrc");
    if (from === null) return await pullImage(req, url, ctx);
    if (from !== "-") {
      throw invalid(
        `import from a URL is not supported by corral: ${from}; send the archive instead`,
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

/**
 * `GET /images/json` with Docker's filters: `dangling`, `label`, `reference`
 * (a glob on a tag or on the name without its tag), `before` and `since` (an
 * image), `until` (a time).
 */
function listImages(images: ImageStore, url: URL): Image[] {
  const f = parseFilters(url.searchParams.get("filters"), [
    "dangling",
    "label",
    "reference",
    "before",
    "since",
    "until",
  ]);
  const dangling = boolFilter(f, "dangling");
  const created = (i: Image) => Date.parse(i.Created);
  const before = f.before?.map((ref) => created(images.resolve(ref)));
  const since = f.since?.map((ref) => created(images.resolve(ref)));
  const until = f.until?.map((t) => parseTime(t)! * 1000);
  const references = f.reference?.map(globPattern);
  const matching = (tags: string[]) =>
    references ? tags.filter((tag) => references.some((r) => matchesReference(r, tag))) : tags;
  return images.list().filter((i) =>
    (dangling === undefined || dangling === (i.RepoTags.length === 0)) &&
    (f.label ?? []).every((l) => matchesLabel(i.Config.Labels, l)) &&
    (!references || matching(i.RepoTags).length > 0) &&
    (before ?? []).every((t) => created(i) < t) &&
    (since ?? []).every((t) => created(i) > t) &&
    (until ?? []).every((t) => created(i) < t)
  )
    // As Docker: with a reference filter an image lists only the names that match.
    .map((i) => references ? { ...i, RepoTags: matching(i.RepoTags) } : i);
}

/** A `reference` filter matches a tag (`busybox:latest`) or its name (`busybox`). */
function matchesReference(pattern: RegExp, tag: string): boolean {
  return pattern.test(tag) || pattern.test(tag.slice(0, tag.lastIndexOf(":")));
}

/** A shell glob as Docker matches references: `*` and `?` stop at `/`. */
function globPattern(glob: string): RegExp {
  const body = glob.replace(/[.+^${}()|[\]\\]/g, "\\$&").replaceAll("*", "[^/]*")
    .replaceAll("?", "[^/]");
  return new RegExp(`^${body}$`);
}
