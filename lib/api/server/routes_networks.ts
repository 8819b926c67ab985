/**
 * Networks: `GET /networks`, `GET /networks/{id}` and `POST /networks/prune`.
 * corral has no networks of its own yet: every container gets an empty
 * network namespace of its own (Docker's `none`). Docker's clients still look
 * for Docker's built-in networks: testcontainers inspects `bridge` when it
 * runs inside a container, to take the host's address from
 * `IPAM.Config[].Gateway`. So `none` and `bridge` answer, in Docker's shape,
 * with no address pool and no containers (a client finding no gateway falls
 * back to localhost). Creating, removing, connecting and disconnecting are
 * refused by name.
 * @module
 */
import { createHash } from "node:crypto";
import { invalid, notFound } from "../../errdefs/mod.ts";
import { HttpError, parseFilters } from "./request.ts";
import { json } from "./response.ts";
import type { AddRoute } from "./server.ts";

/** A network as `GET /networks/{id}` shows it. */
interface NetworkView {
  Name: string;
  Id: string;
  Created: string;
  Scope: "local";
  Driver: string;
  EnableIPv6: false;
  IPAM: { Driver: "default"; Options: null; Config: [] };
  Internal: false;
  Attachable: false;
  Ingress: false;
  ConfigFrom: { Network: "" };
  ConfigOnly: false;
  Containers: Record<string, never>;
  Options: Record<string, never>;
  Labels: Record<string, never>;
}

/** Docker's built-in networks corral answers for: name and driver. */
const BUILTIN_NETWORKS = [["bridge", "bridge"], ["none", "null"]] as const;

/** Register the network routes. */
export function networkRoutes(route: AddRoute): void {
  const created = new Date().toISOString();
  const networks = BUILTIN_NETWORKS.map(([name, driver]) => builtinNetwork(name, driver, created));
  route("GET", "/networks", (_r, url) => json(listNetworks(networks, url)));
  route("GET", "/networks/{id}", (_r, _u, p) => json(findNetwork(networks, p.id)));
  // Nothing to prune: built-in networks are never pruned.
  route("POST", "/networks/prune", () => json({ NetworksDeleted: [] }));
  route("POST", "/networks/create", () => {
    throw invalid("docker network create is not supported by corral: containers have no network");
  });
  route("DELETE", "/networks/{id}", (_r, _u, p) => {
    const { Name } = findNetwork(networks, p.id);
    throw new HttpError(403, `${Name} is a pre-defined network and cannot be removed`);
  });
  for (const action of ["connect", "disconnect"]) {
    route("POST", `/networks/{id}/${action}`, () => {
      throw invalid(
        `docker network ${action} is not supported by corral: containers have no network`,
      );
    });
  }
}

/** A built-in network; its id is the same in every daemon and across restarts. */
function builtinNetwork(name: string, driver: string, created: string): NetworkView {
  return {
    Name: name,
    Id: createHash("sha256").update(`corral network ${name}`).digest("hex"),
    Created: created,
    Scope: "local",
    Driver: driver,
    EnableIPv6: false,
    IPAM: { Driver: "default", Options: null, Config: [] },
    Internal: false,
    Attachable: false,
    Ingress: false,
    ConfigFrom: { Network: "" },
    ConfigOnly: false,
    Containers: {},
    Options: {},
    Labels: {},
  };
}

/** A network by name, id or unique id prefix, as Docker looks one up. */
function findNetwork(networks: NetworkView[], ref: string): NetworkView {
  const exact = networks.find((n) => n.Name === ref || n.Id === ref);
  if (exact) return exact;
  const byPrefix = networks.filter((n) => n.Id.startsWith(ref));
  if (byPrefix.length === 1) return byPrefix[0];
  throw notFound(`network ${ref} not found`);
}

/**
 * `GET /networks` with Docker's filters: `name` and `id` (parts of them),
 * `driver`, `scope`, `type` (`builtin` or `custom`), `label` and `dangling`
 * (only custom networks are dangling, and built-in ones have no labels).
 */
function listNetworks(networks: NetworkView[], url: URL): NetworkView[] {
  const f = parseFilters(url.searchParams.get("filters"), [
    "name",
    "id",
    "driver",
    "scope",
    "type",
    "label",
    "dangling",
  ]);
  if (f.label?.length || f.dangling?.some((d) => d === "true" || d === "1")) return [];
  return networks.filter((n) =>
    (!f.name || f.name.some((v) => n.Name.includes(v))) &&
    (!f.id || f.id.some((v) => n.Id.includes(v))) &&
    (!f.driver || f.driver.includes(n.Driver)) &&
    (!f.scope || f.scope.includes(n.Scope)) &&
    (!f.type || f.type.includes("builtin"))
  );
}
