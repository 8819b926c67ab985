/**
 * Networks: `GET /networks` (with Docker's filters), `GET /networks/{id}`,
 * `POST /networks/create`, `DELETE /networks/{id}`, `POST /networks/prune`,
 * `POST /networks/{id}/connect` and `/disconnect`. The default `bridge` and
 * user-defined networks are the network module's; `host` and `none` are
 * Docker's built-in modes, listed and inspected like networks but never
 * created, removed or connected to.
 * @module
 */
import { createHash } from "node:crypto";
import { invalid } from "../../errdefs/mod.ts";
import { matchesLabel } from "../../container/mod.ts";
import {
  DEFAULT_NETWORK,
  type NetworkRecord,
  type NetworkResource,
  type NetworkSpec,
} from "../../network/mod.ts";
import { HttpError, parseFilters, pruneFilter, readBody } from "./request.ts";
import { json, noContent } from "./response.ts";
import type { AddRoute, ApiContext } from "./server.ts";

/** Docker's built-in modes shown as networks: name and driver. */
const BUILTIN_MODES = [["host", "host"], ["none", "null"]] as const;

/** Register the network routes. */
export function networkRoutes(route: AddRoute, ctx: ApiContext): void {
  const { networks, service } = ctx;
  const created = new Date().toISOString();
  const builtins = BUILTIN_MODES.map(([name, driver]) => builtinNetwork(name, driver, created));
  const nameOf = (id: string) => service.store.find(id)?.name ?? "";
  const all = () => [...networks.list().map((n) => networks.inspect(n.Id, nameOf)), ...builtins];
  const find = (ref: string) => findBuiltin(builtins, ref) ?? networks.inspect(ref, nameOf);

  route("GET", "/networks", (_r, url) => json(listNetworks(all(), url)));
  route("GET", "/networks/{id}", (_r, _u, p) => json(find(p.id)));
  route("POST", "/networks/create", async (req) => {
    const spec = networkSpec(await readBody<Record<string, unknown>>(req));
    if (findBuiltin(builtins, spec.name)) {
      throw new HttpError(403, `operation is not permitted on predefined ${spec.name} network`);
    }
    const record = await networks.createNetwork(spec);
    return json({ Id: record.Id, Warning: "" }, 201);
  });
  route("DELETE", "/networks/{id}", async (_r, _u, p) => {
    const builtin = findBuiltin(builtins, p.id);
    if (builtin || networks.inspect(p.id).Name === DEFAULT_NETWORK) {
      const name = builtin?.Name ?? DEFAULT_NETWORK;
      throw new HttpError(403, `${name} is a pre-defined network and cannot be removed`);
    }
    await networks.removeNetwork(p.id);
    return noContent();
  });
  route("POST", "/networks/prune", async (_r, url) => {
    const f = pruneFilter(
      parseFilters(url.searchParams.get("filters"), ["until", "label", "label!"]),
    );
    const keep = (n: NetworkRecord) =>
      (f.until !== undefined && Date.parse(n.Created) >= f.until) ||
      !(f.labels ?? []).every((l) => matchesLabel(n.Labels, l)) ||
      (f.notLabels ?? []).some((l) => matchesLabel(n.Labels, l));
    return json({ NetworksDeleted: await networks.prune(keep) });
  });
  route("POST", "/networks/{id}/connect", async (req, _u, p) => {
    const body = await readBody<{ Container?: string; EndpointConfig?: Record<string, unknown> }>(
      req,
    );
    refuseBuiltin(builtins, p.id, "connect");
    if (!body.Container) throw invalid("connect: no container given");
    await service.connect(body.Container, p.id, body.EndpointConfig ?? {});
    return json(null);
  });
  route("POST", "/networks/{id}/disconnect", async (req, _u, p) => {
    const body = await readBody<{ Container?: string }>(req);
    refuseBuiltin(builtins, p.id, "disconnect");
    if (!body.Container) throw invalid("disconnect: no container given");
    await service.disconnect(body.Container, p.id);
    return json(null);
  });
}

/** `POST /networks/create`'s body as a network spec: bridge driver, one IPv4 pool at most. */
function networkSpec(body: Record<string, unknown>): NetworkSpec {
  const { Name, Driver, Internal, Labels, Options, IPAM, EnableIPv6 } = body;
  if (typeof Name !== "string" || Name === "") throw invalid("network create: a name is required");
  if (Driver !== undefined && Driver !== "" && Driver !== "bridge") {
    throw invalid(
      `network driver ${JSON.stringify(Driver)} is not supported by corral: bridge only`,
    );
  }
  if (EnableIPv6 === true) throw invalid("IPv6 networks are not supported by corral");
  const pools = (IPAM as { Config?: unknown } | undefined)?.Config ?? [];
  if (!Array.isArray(pools) || pools.length > 1) {
    throw invalid("network create: one IPv4 subnet at most (IPAM.Config)");
  }
  const pool = (pools[0] ?? {}) as Record<string, unknown>;
  for (const key of ["Subnet", "Gateway"]) {
    if (pool[key] !== undefined && typeof pool[key] !== "string") {
      throw invalid(`network create: IPAM.Config[0].${key} must be a string`);
    }
  }
  if (pool.IPRange) throw invalid("network create: --ip-range is not supported by corral");
  return {
    name: Name,
    ...(pool.Subnet ? { subnet: pool.Subnet as string } : {}),
    ...(pool.Gateway ? { gateway: pool.Gateway as string } : {}),
    internal: Internal === true,
    labels: stringRecord(Labels, "Labels"),
    options: stringRecord(Options, "Options"),
  };
}

function stringRecord(v: unknown, what: string): Record<string, string> {
  if (v === undefined || v === null) return {};
  if (
    typeof v !== "object" || Array.isArray(v) ||
    !Object.values(v).every((s) => typeof s === "string")
  ) {
    throw invalid(`network create: ${what} must be an object of strings`);
  }
  return { ...(v as Record<string, string>) };
}

/** A built-in mode shown as a network; its id is the same in every daemon and across restarts. */
function builtinNetwork(name: string, driver: string, created: string): NetworkResource {
  return {
    Name: name,
    Id: createHash("sha256").update(`corral network ${name}`).digest("hex"),
    Created: created,
    Scope: "local",
    Driver: driver as "bridge",
    EnableIPv6: false,
    IPAM: { Driver: "default", Options: {}, Config: [] },
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

/** A built-in mode by name, id or unique id prefix; undefined when `ref` is not one. */
function findBuiltin(builtins: NetworkResource[], ref: string): NetworkResource | undefined {
  return builtins.find((n) =>
    n.Name === ref || n.Id === ref || (ref.length >= 12 && n.Id.startsWith(ref))
  );
}

function refuseBuiltin(builtins: NetworkResource[], ref: string, action: string): void {
  const builtin = findBuiltin(builtins, ref);
  if (builtin) {
    throw new HttpError(
      403,
      `container cannot be ${action}ed ${
        action === "connect" ? "to" : "from"
      } the ${builtin.Name} network: it is a network mode (--network ${builtin.Name})`,
    );
  }
}

/**
 * `GET /networks` with Docker's filters: `name` and `id` (parts of them),
 * `driver`, `scope`, `type` (`builtin`: the default network and the modes;
 * `custom`: user-defined), `label` and `dangling` (custom networks no
 * container is attached to).
 */
function listNetworks(networks: NetworkResource[], url: URL): NetworkResource[] {
  const f = parseFilters(url.searchParams.get("filters"), [
    "name",
    "id",
    "driver",
    "scope",
    "type",
    "label",
    "dangling",
  ]);
  const builtin = (n: NetworkResource) => n.Name === DEFAULT_NETWORK || n.Driver !== "bridge";
  const dangling = f.dangling?.map((d) => d === "true" || d === "1");
  return networks.filter((n) =>
    (!f.name || f.name.some((v) => n.Name.includes(v))) &&
    (!f.id || f.id.some((v) => n.Id.includes(v))) &&
    (!f.driver || f.driver.includes(n.Driver)) &&
    (!f.scope || f.scope.includes(n.Scope)) &&
    (!f.type || f.type.includes(builtin(n) ? "builtin" : "custom")) &&
    (!f.label || f.label.every((l) => matchesLabel(n.Labels, l))) &&
    (!dangling ||
      dangling.every((d) => d === (!builtin(n) && Object.keys(n.Containers).length === 0)))
  );
}
