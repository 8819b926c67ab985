/**
 * The daemon itself: `/_ping`, `/version`, `/info`, `/system/df`, the build
 * cache's prune (there is none) and corral's `/corral/gc`.
 * @module
 */
import { API_VERSION } from "../version.ts";
import { diskUsage } from "./disk_usage.ts";
import { json } from "./response.ts";
import type { AddRoute, ApiContext } from "./server.ts";
import { SystemInfo } from "./system.ts";

/** Register the system routes. */
export function systemRoutes(route: AddRoute, ctx: ApiContext): void {
  route("GET", "/_ping", () => new Response("OK", { headers: pingHeaders() }));
  route("HEAD", "/_ping", () => new Response(null, { headers: pingHeaders() }));
  const system = new SystemInfo(ctx);
  route("GET", "/version", async () => json(await system.version()));
  route("GET", "/info", async () => json(await system.info()));
  route(
    "GET",
    "/system/df",
    async (_r, url) => json(await diskUsage(ctx, url.searchParams.getAll("type"))),
  );
  // corral builds nothing, so it has no build cache (docker system prune asks).
  route("POST", "/build/prune", () => json({ CachesDeleted: [], SpaceReclaimed: 0 }));
  route("GET", "/corral/gc", () => json(ctx.gc.list()));
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
