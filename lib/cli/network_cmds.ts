/**
 * `corral network create|ls|inspect|rm|prune|connect|disconnect` and
 * `corral port`, with the docker CLI's flags and output.
 * @module
 */
import type { Command } from "./args.ts";
import { CorralError, notFound } from "../errdefs/mod.ts";
import type { PortMap } from "../network/mod.ts";
import { type Api, enc, inspectEach, type Opts } from "./command.ts";
import { printTable } from "./output.ts";
import { collect, parseFilterFlags, parseKeyValues } from "./parse.ts";

interface NetworkView {
  Id: string;
  Name: string;
  Driver: string;
  Scope: string;
}

/** Register `network` with its subcommands. */
export function addNetworkCommands(program: Command, api: Api): void {
  const network = program.command("network").description("manage networks");
  network.command("create").description("create a network")
    .option("-d, --driver <driver>", "bridge (the only driver)", "bridge")
    .option("--subnet <CIDR>", "the network's subnet (default: one from the address pools)")
    .option("--gateway <address>", "the subnet's gateway (default: its first address)")
    .option("--internal", "no traffic to or from outside the network")
    .option("--label <KEY=VALUE>", "label (repeatable)", collect)
    .option("-o, --opt <KEY=VALUE>", "driver option (repeatable)", collect)
    .argument("<name>")
    .action(async (name: string, o: Opts) => {
      const pool = { Subnet: o.subnet, Gateway: o.gateway };
      const res = await api().json<{ Id: string }>("POST", "/networks/create", {
        Name: name,
        Driver: o.driver,
        Internal: Boolean(o.internal),
        Labels: parseKeyValues(o.label as string[] | undefined),
        Options: parseKeyValues(o.opt as string[] | undefined),
        IPAM: { Driver: "default", Config: o.subnet || o.gateway ? [pool] : [] },
      });
      console.log(res.Id);
    });
  network.command("ls").alias("list").description("list networks")
    .option("-f, --filter <KEY=VALUE>", "filter (repeatable)", collect)
    .option("-q, --quiet", "only ids")
    .action(async (o: Opts) => {
      const filters = JSON.stringify(parseFilterFlags(o.filter as string[] | undefined));
      const list = await api().json<NetworkView[]>("GET", `/networks?filters=${enc(filters)}`);
      if (o.quiet) return list.forEach((n) => console.log(n.Id.slice(0, 12)));
      printTable(
        ["NETWORK ID", "NAME", "DRIVER", "SCOPE"],
        list.map((n) => [n.Id.slice(0, 12), n.Name, n.Driver, n.Scope]),
      );
    });
  network.command("inspect").description("show networks as JSON").argument("<network...>")
    .option("-f, --format <template>", "each network through a Go template (or json)")
    .action((refs: string[], o: Opts) =>
      inspectEach(api(), refs.map((r) => `/networks/${enc(r)}`), o.format as string)
    );
  network.command("rm").alias("remove").description("remove networks").argument("<network...>")
    .action(async (refs: string[]) => {
      let failed: unknown = null;
      for (const r of refs) {
        try {
          await api().json("DELETE", `/networks/${enc(r)}`);
          console.log(r);
        } catch (err) {
          if (!(err instanceof CorralError)) throw err;
          console.error(`corral: ${err.message}`);
          failed = err;
        }
      }
      if (failed) throw failed;
    });
  network.command("prune").description("remove networks no container uses")
    .option("-f, --force", "do not ask (corral never asks)")
    .option("--filter <KEY=VALUE>", "until=, label= (repeatable)", collect)
    .action(async (o: Opts) => {
      const filters = JSON.stringify(parseFilterFlags(o.filter as string[] | undefined));
      const res = await api().json<{ NetworksDeleted: string[] }>(
        "POST",
        `/networks/prune?filters=${enc(filters)}`,
      );
      if (res.NetworksDeleted.length) {
        console.log(`Deleted Networks:\n${res.NetworksDeleted.join("\n")}`);
      }
    });
  network.command("connect").description("connect a container to a network")
    .option("--alias <alias>", "another name on the network (repeatable)", collect)
    .option("--ip <address>", "a fixed IPv4 address")
    .argument("<network>").argument("<container>")
    .action(async (net: string, container: string, o: Opts) => {
      const aliases = (o.alias as string[] | undefined) ?? [];
      await api().json("POST", `/networks/${enc(net)}/connect`, {
        Container: container,
        EndpointConfig: {
          ...(aliases.length ? { Aliases: aliases } : {}),
          ...(o.ip ? { IPAMConfig: { IPv4Address: o.ip } } : {}),
        },
      });
    });
  network.command("disconnect").description("disconnect a container from a network")
    .option("-f, --force", "as docker's flag (corral always disconnects)")
    .argument("<network>").argument("<container>")
    .action(async (net: string, container: string) => {
      await api().json("POST", `/networks/${enc(net)}/disconnect`, { Container: container });
    });
  program.command("port").description("list a container's published ports")
    .argument("<container>").argument("[port]", "PORT[/PROTO]")
    .action(async (ref: string, port: string | undefined) => {
      const info = await api().json<{ NetworkSettings: { Ports: PortMap } }>(
        "GET",
        `/containers/${enc(ref)}/json`,
      );
      for (const line of portLines(info.NetworkSettings.Ports, port)) console.log(line);
    });
}

/**
 * `docker port`'s lines: `80/tcp -> 0.0.0.0:8080`, or only the addresses for
 * one port.
 *
 * @example
 * ```ts
 * portLines({ "80/tcp": [{ HostIp: "0.0.0.0", HostPort: "8080" }] }); // ["80/tcp -> 0.0.0.0:8080"]
 * portLines({ "80/tcp": [{ HostIp: "0.0.0.0", HostPort: "8080" }] }, "80"); // ["0.0.0.0:8080"]
 * ```
 */
export function portLines(ports: PortMap, port?: string): string[] {
  if (port !== undefined) {
    const key = port.includes("/") ? port : `${port}/tcp`;
    const bindings = ports[key];
    if (!bindings?.length) {
      throw notFound(`no public port '${key}' published`);
    }
    return bindings.map((b) => `${b.HostIp}:${b.HostPort}`);
  }
  return Object.entries(ports).flatMap(([key, bindings]) =>
    (bindings ?? []).map((b) => `${key} -> ${b.HostIp}:${b.HostPort}`)
  );
}
