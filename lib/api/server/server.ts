/**
 * The HTTP API on a unix socket, shaped as the Docker Engine API (same paths
 * under `/v1.NN/`, JSON field names and status codes) so the docker CLI and
 * Docker SDKs can drive corral. This is the router: the routes are in the
 * `routes_*.ts` files, one per resource.
 * @module
 */
import type { ContainerService, ExecManager } from "../../container/mod.ts";
import { type ErrorKind, errorKind, errorMessage, invalid } from "../../errdefs/mod.ts";
import type { EventLog } from "../../events/mod.ts";
import type { GcHandler } from "../../gc/mod.ts";
import type { ImageStore } from "../../image/mod.ts";
import type { RegistryService } from "../../registry/mod.ts";
import type { VolumeStore } from "../../volume/mod.ts";
import type { NetworkManager } from "../../network/mod.ts";
import { API_VERSION, MIN_API_VERSION } from "../version.ts";
import { HttpError } from "./request.ts";
import { json } from "./response.ts";
import { attachRoutes } from "./routes_attach.ts";
import { containerRoutes } from "./routes_containers.ts";
import { eventRoutes } from "./routes_events.ts";
import { execRoutes } from "./routes_exec.ts";
import { imageRoutes } from "./routes_images.ts";
import { logRoutes } from "./routes_logs.ts";
import { networkRoutes } from "./routes_networks.ts";
import { registryRoutes } from "./routes_registry.ts";
import { systemRoutes } from "./routes_system.ts";
import { volumeRoutes } from "./routes_volumes.ts";
import { UNSUPPORTED_ENDPOINTS } from "./unsupported.ts";
import { getLogger } from "@logtape/logtape";

const log = getLogger(["corral", "api"]);

/** What the API serves. */
export interface ApiContext {
  service: ContainerService;
  images: ImageStore;
  registry: RegistryService;
  volumes: VolumeStore;
  events: EventLog;
  gc: GcHandler;
  execs: ExecManager;
  networks: NetworkManager;
  root: string;
}

/** The path's parameters, by name. */
export type Params = Record<string, string>;

/** Answers one route. */
export type Handler = (req: Request, url: URL, p: Params) => Promise<Response> | Response;

/**
 * Adds a route: in `path`, `{name}` is one path segment and `{name*}` may
 * span several (image names such as `repo/app:1`); `method` `*` is any method.
 *
 * @example
 * ```ts
 * declare const route: AddRoute;
 * route("GET", "/images/{name*}/json", (_req, _url, p) => Response.json({ name: p.name }));
 * ```
 */
export type AddRoute = (method: string, path: string, handler: Handler) => void;

interface Route {
  method: string;
  pattern: RegExp;
  handler: Handler;
}

/** The HTTP status of each error kind, as the Docker Engine API uses them. */
const STATUS_OF_KIND: Record<ErrorKind, number> = {
  invalid: 400,
  not_found: 404,
  conflict: 409,
  not_modified: 304,
  unauthorized: 401,
  unavailable: 503,
  internal: 500,
};

/** Build the router for a context. */
export function createHandler(ctx: ApiContext): (req: Request) => Promise<Response> {
  const routes: Route[] = [];
  const route: AddRoute = (method, path, handler) => {
    const pattern = path.replace(/\{(\w+)\*\}/g, "(?<$1>.+)").replace(/\{(\w+)\}/g, "(?<$1>[^/]+)");
    routes.push({ method, pattern: new RegExp("^" + pattern + "$"), handler });
  };
  // The first route that matches both method and path answers.
  systemRoutes(route, ctx);
  containerRoutes(route, ctx);
  logRoutes(route, ctx);
  attachRoutes(route, ctx);
  execRoutes(route, ctx);
  registryRoutes(route, ctx);
  imageRoutes(route, ctx);
  eventRoutes(route, ctx);
  networkRoutes(route, ctx);
  volumeRoutes(route, ctx);
  for (const [method, path, message] of UNSUPPORTED_ENDPOINTS) {
    route(method, path, () => {
      throw invalid(message);
    });
  }
  return (req) => dispatch(routes, req);
}

async function dispatch(routes: Route[], req: Request): Promise<Response> {
  const url = new URL(req.url);
  let path = url.pathname;
  const versioned = path.match(/^\/v(\d+)\.(\d+)(\/.*)$/);
  if (versioned) {
    const refused = refuseVersion(`${versioned[1]}.${versioned[2]}`);
    if (refused) return refused;
    path = versioned[3];
  }
  const allowed = new Set<string>();
  for (const { method, pattern, handler } of routes) {
    const m = path.match(pattern);
    if (!m) continue;
    allowed.add(method);
    if (method !== req.method && method !== "*") continue;
    try {
      return await handler(req, url, m.groups ?? {});
    } catch (err) {
      return errorAnswer(err, req.method, path);
    }
  }
  if (allowed.size) {
    const methods = [...allowed].join(" or ");
    return errorResponse(405, `method ${req.method} not allowed for ${path}: it takes ${methods}`);
  }
  return errorResponse(404, `page not found: ${req.method} ${path}`);
}

const errorResponse = (status: number, message: string) => json({ message }, status);

/** The 400 for an API version outside the range served, or null. */
function refuseVersion(asked: string): Response | null {
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
  return null;
}

/** A route's error as Docker answers it: the kind's status and `{"message"}`. */
function errorAnswer(err: unknown, method: string, path: string): Response {
  if (err instanceof HttpError) return errorResponse(err.status, err.message);
  const status = STATUS_OF_KIND[errorKind(err)];
  if (status === 304) return new Response(null, { status: 304 });
  // The others are the caller's mistakes, answered to the caller; 503 is a service
  // (restore, a registry) that cannot answer now, not a failure of corral's.
  if (status >= 500 && status !== 503) {
    log.error("{method} {path}: {error}", { method, path, error: errorMessage(err) });
  }
  return errorResponse(status, errorMessage(err));
}

/** Order of two "MAJOR.MINOR" API versions: negative, 0 or positive. */
function compareVersions(a: string, b: string): number {
  const [aMaj, aMin] = a.split(".").map(Number);
  const [bMaj, bMin] = b.split(".").map(Number);
  return aMaj - bMaj || aMin - bMin;
}
