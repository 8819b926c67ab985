/**
 * The `run`/`create` network flags, with the docker CLI's names: `-p`,
 * `-P`, `--expose`, `--network`, `--network-alias`, `--ip`. `-p` values are
 * parsed here into Docker's `ExposedPorts` and `PortBindings`; the daemon
 * checks everything again.
 * @module
 */
import type { Command } from "commander";
import { invalid } from "../errdefs/mod.ts";
import { parsePortSpecs } from "../network/mod.ts";
import type { Opts } from "./command.ts";
import { collect } from "./parse.ts";

/** Add the network flags to `run` or `create`. */
export function addNetworkFlags(cmd: Command): Command {
  return cmd
    .option(
      "-p, --publish <[IP:]HOST:CTR[/PROTO]>",
      "publish a container port on the host (repeatable)",
      collect,
    )
    .option("-P, --publish-all", "publish every exposed port on a free host port")
    .option("--expose <PORT[/PROTO]>", "expose a port or range without publishing it", collect)
    .option("--network <network>", "bridge, none, host, container:ID or a network's name")
    .option("--net <network>", "the same as --network")
    .option("--network-alias <alias>", "another name on the network (repeatable)", collect)
    .option("--ip <address>", "a fixed IPv4 address on the network");
}

/**
 * The create body's network fields the flags give.
 *
 * @example
 * ```ts
 * const { config, hostConfig } = networkFlagsBody({ publish: ["127.0.0.1:8080:80"] });
 * hostConfig.PortBindings; // { "80/tcp": [{ HostIp: "127.0.0.1", HostPort: "8080" }] }
 * config.ExposedPorts; // { "80/tcp": {} }
 * ```
 */
export function networkFlagsBody(o: Opts): {
  config: Record<string, unknown>;
  hostConfig: Record<string, unknown>;
  networking?: Record<string, unknown>;
} {
  const { exposed, bindings } = parsePortSpecs((o.publish as string[] | undefined) ?? []);
  const expose = parsePortSpecs((o.expose as string[] | undefined) ?? []).exposed;
  const network = (o.network ?? o.net) as string | undefined;
  const aliases = (o.networkAlias as string[] | undefined) ?? [];
  const ip = o.ip as string | undefined;
  const hostConfig: Record<string, unknown> = {
    NetworkMode: network ?? "default",
    PortBindings: bindings,
    PublishAllPorts: Boolean(o.publishAll),
  };
  const config = { ExposedPorts: { ...expose, ...exposed } };
  if (!aliases.length && ip === undefined) return { config, hostConfig };
  if (!network) {
    throw invalid("--network-alias and --ip need --network NAME (a user-defined network)");
  }
  const endpoint: Record<string, unknown> = {};
  if (aliases.length) endpoint.Aliases = aliases;
  if (ip !== undefined) endpoint.IPAMConfig = { IPv4Address: ip };
  return { config, hostConfig, networking: { EndpointsConfig: { [network]: endpoint } } };
}
