/**
 * The HTTP API on a unix socket, shaped as the Docker Engine API (same paths
 * under `/v1.NN/`, JSON field names and status codes) so the docker CLI and
 * Docker SDKs can drive corral.
 * @module
 */
import { durationMs } from "../duration.ts";
import {
  type ContainerRecord,
  type ContainerService,
  containerTop,
  describeStatus,
  type ExecManager,
  type HostConfig,
  matchesLabel,
  pruneContainers,
} from "../../container/mod.ts";
import { errorKind, errorMessage, invalid, statusForKind } from "../../errdefs/mod.ts";
import { type EventFilter, type EventLog, eventStream } from "../../events/mod.ts";
import type { GcHandler } from "../../gc/mod.ts";
import {
  hostArchitecture,
  type ImageStore,
  loadImageArchive,
  loadMessages,
  parseImportChanges,
  saveImageArchive,
} from "../../image/mod.ts";
import { type LogEntry, readLogTail, streamLogEntries } from "../../shim/mod.ts";
import { LogFollower } from "./follow.ts";
import { encodeFrame, STDERR, STDOUT } from "../stream.ts";
import { SystemInfo } from "./system.ts";
import { API_VERSION, MIN_API_VERSION } from "../version.ts";
import { checkCreateBody, UNSUPPORTED_ENDPOINTS } from "./unsupported.ts";
import { updateChanges } from "./update.ts";
import { getLogger } from "@logtape/logtape";

const log = getLogger(["corral", "api"]);

// Room for a create body whose argv and environment reach execve's 2 MiB (JSON-escaped).
const MAX_BODY = 8 * 1024 * 1024;

/** What the API serves. */
export interface ApiContext {
  service: ContainerService;
  images: ImageStore;
  events: EventLog;
  gc: GcHandler;
  execs: ExecManager;
  root: string;
}

type Params = Record<string, string>;
type Handler = (req: Request, url: URL, p: Params) => Promise<Response> | Response;

const json = (body: unknown, status = 200) =>
  new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json" } });
const noContent = () => new Response(null, { status: 204 });
const errorResponse = (status: number, message: string) => json({ message }, status);

async function readBody<T>(req: Request): Promise<T> {
  const len = Number(req.headers.get("content-length") ?? "0");
  if (len > MAX_BODY) throw new HttpError(413, `request body too large (max ${MAX_BODY} bytes)`);
  const buf = new Uint8Array(await req.arrayBuffer());
  if (buf.length > MAX_BODY) {
    throw new HttpError(413, `request body too large (max ${MAX_BODY} bytes)`);
  }
  if (buf.length === 0) return {} as T;
  try {
    const v = JSON.parse(new TextDecoder().decode(buf));
    if (v === null || typeof v !== "object") throw new Error("expected a JSON object");
    return v as T;
  } catch (err) {
    throw invalid(`invalid JSON body: ${errorMessage(err)}`);
  }
}

class HttpError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

const bool = (v: string | null) => v === "1" || v === "true" || v === "True";

function intParam(url: URL, name: string): number | undefined {
  const v = url.searchParams.get(name);
  if (v === null || v === "") return undefined;
  if (!/^-?\d+$/.test(v)) throw invalid(`invalid value for ${name}: "${v}" is not an integer`);
  return Number(v);
}

/** Images are stored for this machine's platform only: `--platform` cannot be honoured. */
function refusePlatform(url: URL, what: string): void {
  if (url.searchParams.get("platform")) {
    throw invalid(
      `${what} --platform is not supported by corral: images are for this machine only`,
    );
  }
}

/**
 * Parse Docker's `filters` query (`{"k":["v"]}` or `{"k":{"v":true}}`); a key
 * not in `allowed` is refused, naming the ones that are.
 */
function parseFilters(raw: string | null, allowed: string[]): Record<string, string[]> {
  if (!raw) return {};
  let obj: unknown;
  try {
    obj = JSON.parse(raw);
  } catch {
    throw invalid(`invalid filters: ${raw}`);
  }
  const out: Record<string, string[]> = {};
  for (const [k, v] of Object.entries(obj as Record<string, unknown>)) {
    if (!allowed.includes(k)) {
      throw invalid(
        `invalid filter "${k}": use ${allowed.slice(0, -1).join(", ")} or ${allowed.at(-1)}`,
      );
    }
    out[k] = Array.isArray(v) ? v.map(String) : Object.keys(v as object);
  }
  return out;
}

/** Docker's time values, in seconds: unix seconds, RFC 3339, or a duration back from now ("10m"). */
function parseTime(v: string | null): number | undefined {
  if (!v) return undefined;
  if (/^\d+(\.\d+)?$/.test(v)) return Number(v);
  const back = durationMs(v);
  if (back !== null) return (Date.now() - back) / 1000;
  const t = Date.parse(v);
  if (Number.isNaN(t)) throw invalid(`invalid time value: ${v}`);
  return t / 1000;
}

function streamOf(
  produce: (write: (chunk: Uint8Array) => void) => Promise<void>,
  onCancel: () => void = () => {},
): ReadableStream<Uint8Array> {
  return new ReadableStream({
    async start(ctrl) {
      try {
        await produce((chunk) => ctrl.enqueue(chunk));
      } catch (err) {
        log.error("stream: {error}", { error: errorMessage(err) });
      }
      try {
        ctrl.close();
      } catch {
        // Cancelled by the client.
      }
    },
    cancel: onCancel,
  });
}

/** Build the router for a context. */
export function createHandler(ctx: ApiContext): (req: Request) => Promise<Response> {
  const { service: svc, images, events, gc, execs } = ctx;
  const enc = new TextEncoder();
  const inspect = (ref: string) => {
    const c = svc.store.get(ref);
    const r = c.rec;
    const args = [...(r.Config.Entrypoint ?? []), ...r.Config.Cmd];
    return {
      Id: r.Id,
      Created: r.Created,
      Path: args[0] ?? "",
      Args: args.slice(1),
      State: { ...r.State, Error: c.loadError ?? r.State.Error },
      Image: r.ImageID,
      ResolvConfPath: "",
      HostnamePath: "",
      HostsPath: "",
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
      Mounts: (r.HostConfig.Binds ?? []).map((b) => {
        const [src, dst, mode] = b.split(":");
        return { Type: "bind", Source: src, Destination: dst, Mode: mode ?? "", RW: mode !== "ro" };
      }),
      NetworkSettings: { Networks: {} },
      GraphDriver: { Name: "overlay", Data: { UpperDir: svc.disk.upperDir(r.Id) } },
    };
  };

  /** `SizeRw` and `SizeRootFs` (with the image's layers), as `?size=1` asks. */
  const sizes = async (r: ContainerRecord) => {
    const rw = await svc.disk.upperSize(r.Id);
    const image = images.find(r.ImageID);
    return { SizeRw: rw, SizeRootFs: rw + (image?.Size ?? 0) };
  };

  const listContainers = async (url: URL) => {
    const all = bool(url.searchParams.get("all"));
    const withSize = bool(url.searchParams.get("size"));
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
    return await Promise.all(listed.map(async (c) => {
      const r = c.rec;
      return {
        Id: r.Id,
        Names: ["/" + r.Name],
        Image: r.Image,
        ImageID: r.ImageID,
        Command: [...(r.Config.Entrypoint ?? []), ...r.Config.Cmd].join(" "),
        Created: Math.floor(Date.parse(r.Created) / 1000),
        State: r.State.Status,
        Status: describeStatus(r),
        Labels: r.Config.Labels,
        Ports: [],
        Mounts: [],
        HostConfig: { NetworkMode: "none" },
        RestartCount: r.RestartCount,
        GC: r.State.GC,
        ...(withSize ? await sizes(r) : {}),
      };
    }));
  };

  /** logs and attach: frames from the json-file log, read as the client takes them. */
  const logStream = async (ref: string, url: URL, attach: boolean) => {
    const c = svc.store.get(ref);
    const wantOut = attach ? true : bool(url.searchParams.get("stdout"));
    const wantErr = attach ? true : bool(url.searchParams.get("stderr"));
    if (!attach && !wantOut && !wantErr) throw invalid("you must choose at least one stream");
    const follow = attach || bool(url.searchParams.get("follow"));
    const timestamps = bool(url.searchParams.get("timestamps"));
    // As Docker: anything but a non-negative count (`all`, `-1`, empty) means every line.
    const tailRaw = url.searchParams.get("tail") ?? "";
    const tail = /^\d+$/.test(tailRaw) ? Number(tailRaw) : Infinity;
    const since = parseTime(url.searchParams.get("since"));
    const logPath = svc.disk.logPath(c.id);
    const maxFiles = svc.opts.logMaxFiles;
    const seq = c.runSeq;
    // attach: only what the next run writes. logs -f: the follower reads the current
    // file from where the initial read stopped (its start, or its end after a tail), so no
    // line is read twice.
    const follower = follow ? await LogFollower.open(logPath, !attach && tail === Infinity) : null;
    const frame = (e: LogEntry) => {
      if ((e.stream === "stdout" && !wantOut) || (e.stream === "stderr" && !wantErr)) return null;
      if (since !== undefined && Date.parse(e.time) / 1000 < since) return null;
      // Docker's fixed-width RFC 3339 (nanoseconds), which tools cut by column.
      const stamp = e.time.replace(/\.(\d+)Z$/, (_, f: string) => `.${f.padEnd(9, "0")}Z`);
      const text = timestamps ? `${stamp} ${e.log}` : e.log;
      return encodeFrame(e.stream === "stderr" ? STDERR : STDOUT, enc.encode(text));
    };
    // One chunk per batch of entries (one file read's worth), not one per line.
    const frames = (batch: LogEntry[]) => {
      const parts = batch.map(frame).filter((f) => f !== null);
      const out = new Uint8Array(parts.reduce((n, f) => n + f.length, 0));
      let at = 0;
      for (const f of parts) {
        out.set(f, at);
        at += f.length;
      }
      return out;
    };
    let stopped = false;
    async function* produce(): AsyncGenerator<Uint8Array> {
      try {
        if (!attach) {
          const initial = tail === Infinity
            ? streamLogEntries(logPath, maxFiles, !follower)
            : [await readLogTail(logPath, tail, maxFiles, follower?.offset)];
          for await (const batch of initial) yield frames(batch);
        }
        if (!follower) return;
        const finished = () =>
          attach
            ? c.runSeq > seq && !c.exitHandled && !c.rec.State.Running
            : !c.rec.State.Running && !c.exitHandled;
        const done = c.waitFor(() => c.removed || finished());
        let ended = false;
        done.then(() => ended = true);
        while (!stopped) {
          // Read once more after the end was seen: what the last moments wrote.
          const last = ended;
          for await (const batch of follower.read()) yield frames(batch);
          if (last) break;
          await Promise.race([done, new Promise((r) => setTimeout(r, 50))]);
        }
      } finally {
        follower?.close();
      }
    }
    // Pulled, not pushed: a slow client holds the reads back instead of the daemon
    // queueing the whole log in memory.
    const chunks = produce();
    const body = new ReadableStream<Uint8Array>({
      async pull(ctrl) {
        try {
          for (;;) {
            const { value, done } = await chunks.next();
            if (stopped) return; // Cancelled meanwhile: the stream takes nothing more.
            if (done) return ctrl.close();
            if (value.length) return ctrl.enqueue(value);
          }
        } catch (err) {
          log.error("stream: {error}", { error: errorMessage(err) });
          if (!stopped) ctrl.close();
        }
      },
      async cancel() {
        // Ends a follow loop that is waiting; a generator paused at a yield ends here.
        stopped = true;
        await chunks.return(undefined);
      },
    });
    return new Response(body, {
      headers: { "content-type": "application/vnd.docker.multiplexed-stream" },
    });
  };

  const routes: [string, RegExp, Handler][] = [];
  // `{name}` is one path segment; `{name*}` may span several (image names such as `repo/app:1`).
  const route = (method: string, path: string, h: Handler) =>
    routes.push([
      method,
      new RegExp(
        "^" + path.replace(/\{(\w+)\*\}/g, "(?<$1>.+)").replace(/\{(\w+)\}/g, "(?<$1>[^/]+)") + "$",
      ),
      h,
    ]);

  route("GET", "/_ping", () => new Response("OK", { headers: pingHeaders() }));
  route("HEAD", "/_ping", () => new Response(null, { headers: pingHeaders() }));
  const system = new SystemInfo(ctx);
  route("GET", "/version", async () => json(await system.version()));
  route("GET", "/info", async () => json(await system.info()));

  route("POST", "/containers/create", async (req, url) => {
    const body = await readBody<Record<string, unknown>>(req);
    const { HostConfig: hc, ...config } = body as
      & { HostConfig?: Partial<HostConfig> }
      & Record<string, unknown>;
    checkCreateBody(config, (hc ?? {}) as Record<string, unknown>);
    const id = await svc.create({
      name: url.searchParams.get("name") ?? undefined,
      config: config as { Image: string },
      hostConfig: hc,
    });
    return json({ Id: id, Warnings: [] }, 201);
  });
  route("GET", "/containers/json", async (_r, url) => json(await listContainers(url)));
  route("GET", "/containers/{id}/json", async (_r, url, p) => {
    const info = inspect(p.id);
    const withSize = bool(url.searchParams.get("size"));
    return json(withSize ? { ...info, ...await sizes(svc.store.get(p.id).rec) } : info);
  });
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
    // Headers go out at once: the client then knows the wait is armed.
    return new Response(
      streamOf(async (write) => write(enc.encode(JSON.stringify(await result) + "\n"))),
      { headers: { "content-type": "application/json" } },
    );
  });
  route("DELETE", "/containers/{id}", async (_r, url, p) => {
    await svc.remove(p.id, bool(url.searchParams.get("force")));
    return noContent();
  });
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
  route("POST", "/containers/prune", async (_r, url) => {
    const f = parseFilters(url.searchParams.get("filters"), ["until", "label", "label!"]);
    if ((f.until?.length ?? 0) > 1) throw invalid("only one until filter is allowed");
    const until = parseTime(f.until?.[0] ?? null);
    return json(
      await pruneContainers(svc, {
        until: until === undefined ? undefined : until * 1000,
        labels: f.label,
        notLabels: f["label!"],
      }),
    );
  });
  route("GET", "/containers/{id}/logs", (_r, url, p) => logStream(p.id, url, false));
  route("POST", "/containers/{id}/attach", (_r, url, p) => {
    if (bool(url.searchParams.get("stdin"))) {
      throw invalid("attaching stdin is not supported by corral");
    }
    return logStream(p.id, url, true);
  });
  route("POST", "/containers/{id}/exec", async (req, _u, p) => {
    const body = await readBody<
      {
        Cmd: string[];
        Env?: string[];
        WorkingDir?: string;
        User?: string;
        Tty?: boolean;
        AttachStdin?: boolean;
      }
    >(req);
    if (body.AttachStdin) throw invalid("exec with stdin is not supported by corral");
    return json({ Id: execs.create(p.id, body) }, 201);
  });
  route("POST", "/exec/{id}/start", async (req, _u, p) => {
    const body = await readBody<{ Detach?: boolean; Tty?: boolean }>(req);
    if (body.Tty) throw invalid("exec with a TTY is not supported by corral");
    const run = execs.start(p.id);
    if (body.Detach) {
      run.stdout.cancel();
      run.stderr.cancel();
      return noContent();
    }
    const out = streamOf(async (write) => {
      const pump = async (s: ReadableStream<Uint8Array>, id: number) => {
        for await (const chunk of s) write(encodeFrame(id, chunk));
      };
      await Promise.all([pump(run.stdout, STDOUT), pump(run.stderr, STDERR)]);
      await run.exitCode;
    });
    return new Response(out, {
      headers: { "content-type": "application/vnd.docker.multiplexed-stream" },
    });
  });
  route("GET", "/exec/{id}/json", (_r, _u, p) => json(execs.inspect(p.id)));

  route("GET", "/images/json", () =>
    json(
      images.list().map((i) => ({
        Id: i.Id,
        RepoTags: i.RepoTags,
        RepoDigests: [],
        Created: Math.floor(Date.parse(i.Created) / 1000),
        Size: i.Size,
        VirtualSize: i.Size,
        SharedSize: -1,
        Labels: i.Config.Labels ?? {},
        Containers: -1,
        ParentId: "",
      })),
    ));
  route("GET", "/images/{name*}/json", (_r, _u, p) => {
    const i = images.resolve(decodeURIComponent(p.name));
    return json({
      Id: i.Id,
      RepoTags: i.RepoTags,
      Created: i.Created,
      Size: i.Size,
      Os: "linux",
      Architecture: hostArchitecture(),
      Config: i.Config,
      RootFS: { Type: "layers", Layers: i.Layers.map((l) => `sha256:${l}`) },
    });
  });
  route("DELETE", "/images/{name*}", async (_r, url, p) => {
    const inUse = (imageId: string) => svc.store.list().some((c) => c.rec.ImageID === imageId);
    return json(
      await images.remove(decodeURIComponent(p.name), {
        force: bool(url.searchParams.get("force")),
        inUse,
      }),
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

  route("POST", "/images/load", async (req, url) => {
    refusePlatform(url, "load");
    if (!req.body) {
      throw invalid("load: empty request: send an image archive (docker load -i FILE)");
    }
    const lines = loadMessages(await loadImageArchive(images, req.body));
    const body = lines.map((line) => JSON.stringify({ stream: `${line}\n` }) + "\n").join("");
    return new Response(body, { headers: { "content-type": "application/json" } });
  });
  const save = async (url: URL, names: string[]) => {
    refusePlatform(url, "save");
    const archive = await saveImageArchive(images, names);
    return new Response(archive, { headers: { "content-type": "application/x-tar" } });
  };
  route("GET", "/images/get", (_r, url) => save(url, url.searchParams.getAll("names")));
  route("GET", "/images/{name*}/get", (_r, url, p) => save(url, [decodeURIComponent(p.name)]));

  route("GET", "/events", async (_r, url) => {
    const f = parseFilters(url.searchParams.get("filters"), ["container", "type", "event"]);
    const filter: EventFilter = {
      container: f.container,
      type: f.type,
      event: f.event,
      since: parseTime(url.searchParams.get("since")),
      until: parseTime(url.searchParams.get("until")),
    };
    const body = await eventStream(events, filter);
    return new Response(body, { headers: { "content-type": "application/json" } });
  });

  route("GET", "/corral/gc", () => json(gc.list()));
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
  for (const [method, path, message] of UNSUPPORTED_ENDPOINTS) {
    route(method, path, () => {
      throw invalid(message);
    });
  }

  return async (req: Request): Promise<Response> => {
    const url = new URL(req.url);
    let path = url.pathname;
    const m = path.match(/^\/v(\d+)\.(\d+)(\/.*)$/);
    if (m) {
      const asked = `${m[1]}.${m[2]}`;
      if (compareVersions(asked, API_VERSION) > 0) {
        return errorResponse(
          400,
          `client version ${asked} is too new. Maximum supported API version is ${API_VERSION}`,
        );
      }
      if (compareVersions(asked, MIN_API_VERSION) < 0) {
        return errorResponse(
          400,
          `client version ${asked} is too old. Minimum supported API version is ` +
            `${MIN_API_VERSION}, please upgrade your client to a newer version`,
        );
      }
      path = m[3];
    }
    let pathMatched = false;
    for (const [method, re, h] of routes) {
      const mm = path.match(re);
      if (!mm) continue;
      pathMatched = true;
      if (method !== req.method) continue;
      try {
        return await h(req, url, mm.groups ?? {});
      } catch (err) {
        if (err instanceof HttpError) return errorResponse(err.status, err.message);
        const kind = errorKind(err);
        const status = statusForKind(kind);
        if (status === 304) return new Response(null, { status: 304 });
        if (status >= 500) {
          log.error("{method} {path}: {error}", {
            method: req.method,
            path,
            error: errorMessage(err),
          });
        }
        return errorResponse(status, errorMessage(err));
      }
    }
    if (pathMatched) return errorResponse(405, `method ${req.method} not allowed for ${path}`);
    return errorResponse(404, `page not found: ${req.method} ${path}`);
  };
}

/** Order of two "MAJOR.MINOR" API versions: negative, 0 or positive. */
function compareVersions(a: string, b: string): number {
  const [aMaj, aMin] = a.split(".").map(Number);
  const [bMaj, bMin] = b.split(".").map(Number);
  return aMaj - bMaj || aMin - bMin;
}

function pingHeaders(): HeadersInit {
  return {
    "API-Version": API_VERSION,
    "Docker-Experimental": "false",
    "OSType": "linux",
    "Cache-Control": "no-cache, no-store, must-revalidate",
    "content-type": "text/plain; charset=utf-8",
  };
}
