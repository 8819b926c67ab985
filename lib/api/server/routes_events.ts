/**
 * `GET /events`: Docker-shaped events as JSON lines, filtered by container,
 * type and action, between `since` and `until`.
 * @module
 */
import { type EventFilter, eventStream } from "../../events/mod.ts";
import { parseFilters, parseTime } from "./request.ts";
import { jsonLines } from "./response.ts";
import type { AddRoute, ApiContext } from "./server.ts";

/** Register the events route. */
export function eventRoutes(route: AddRoute, { events }: ApiContext): void {
  route("GET", "/events", async (_r, url) => {
    const f = parseFilters(url.searchParams.get("filters"), ["container", "type", "event"]);
    const filter: EventFilter = {
      container: f.container,
      type: f.type,
      event: f.event,
      since: parseTime(url.searchParams.get("since")),
      until: parseTime(url.searchParams.get("until")),
    };
    return jsonLines(await eventStream(events, filter));
  });
}
