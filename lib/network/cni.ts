/**
 * Calling CNI plugins the CNI way (spec 1.0.0): a network configuration list
 * run plugin by plugin, the configuration on stdin, the call in the
 * environment (`CNI_COMMAND`, `CNI_CONTAINERID`, `CNI_NETNS`, `CNI_IFNAME`,
 * `CNI_PATH`), ADD in order passing each result on as `prevResult`, DEL in
 * reverse order and CHECK in order with the cached ADD result.
 * @module
 */
import { spawnClean } from "../sys/mod.ts";

/** The CNI version corral speaks (Debian's plugins 1.1.1 speak it). */
export const CNI_VERSION = "1.0.0";

/** One plugin's configuration in a list. */
export interface CniPluginConf {
  type: string;
  /** The runtime-config keys the plugin takes (e.g. `portMappings`). */
  capabilities?: Record<string, boolean>;
  [key: string]: unknown;
}

/** A network configuration list (a "conflist"). */
export interface CniConfList {
  cniVersion: string;
  name: string;
  plugins: CniPluginConf[];
}

/** The result of an ADD (the parts corral reads). */
export interface CniResult {
  cniVersion: string;
  interfaces?: { name: string; mac?: string; sandbox?: string }[];
  ips?: { address: string; gateway?: string; interface?: number }[];
  [key: string]: unknown;
}

/** Who a call is for and where. */
export interface CniTarget {
  containerId: string;
  /** The namespace's path; `""` when it is gone (DEL then frees what is outside it). */
  netns: string;
  ifName: string;
  /** Values for the plugins' capabilities, e.g. `{ portMappings: [...] }`. */
  runtimeConfig: Record<string, unknown>;
}

/** A plugin's failure, with CNI's error code and message. */
export class CniError extends Error {
  readonly code: number;
  constructor(plugin: string, command: string, code: number, message: string) {
    super(`CNI ${plugin} ${command} failed (code ${code}): ${message}`);
    this.name = "CniError";
    this.code = code;
  }
}

/** The plugins corral calls. */
const PLUGINS = ["bridge", "host-local", "portmap", "loopback"];

/**
 * The plugins corral calls that `cniPath` lacks.
 *
 * @example
 * ```ts
 * missingPlugins("/usr/lib/cni"); // [] once containernetworking-plugins is installed
 * ```
 */
export function missingPlugins(cniPath: string): string[] {
  return PLUGINS.filter((plugin) => {
    try {
      return !Deno.statSync(`${cniPath}/${plugin}`).isFile;
    } catch {
      return true;
    }
  });
}

/** How long one plugin call may take (the iptables lock can be held by another program). */
const PLUGIN_TIMEOUT_MS = 60_000;

/** The configuration one plugin of a list is given. */
function pluginConf(
  list: CniConfList,
  plugin: CniPluginConf,
  target: CniTarget,
  prevResult: CniResult | null,
): Record<string, unknown> & { type: string } {
  const runtimeConfig = Object.fromEntries(
    Object.keys(plugin.capabilities ?? {})
      .filter((cap) => plugin.capabilities?.[cap] && target.runtimeConfig[cap] !== undefined)
      .map((cap) => [cap, target.runtimeConfig[cap]]),
  );
  return {
    ...plugin,
    cniVersion: list.cniVersion,
    name: list.name,
    ...(Object.keys(runtimeConfig).length > 0 ? { runtimeConfig } : {}),
    ...(prevResult ? { prevResult } : {}),
  };
}

/**
 * Run one plugin.
 *
 * @example
 * ```ts
 * const target = { containerId: "c1", netns: "/run/corral/netns/c1", ifName: "lo", runtimeConfig: {} };
 * await invokePlugin("/usr/lib/cni", "ADD", { cniVersion: CNI_VERSION, name: "lo", type: "loopback" }, target);
 * ```
 */
export async function invokePlugin(
  cniPath: string,
  command: "ADD" | "DEL" | "CHECK",
  conf: Record<string, unknown> & { type: string },
  target: CniTarget,
): Promise<CniResult | null> {
  const child = spawnClean(`${cniPath}/${conf.type}`, {
    clearEnv: true,
    env: {
      CNI_COMMAND: command,
      CNI_CONTAINERID: target.containerId,
      CNI_NETNS: target.netns,
      CNI_IFNAME: target.ifName,
      CNI_ARGS: "",
      CNI_PATH: cniPath,
      // The plugins find iptables and the IPAM plugin's siblings on PATH.
      PATH: `${Deno.env.get("PATH") ?? ""}:/usr/sbin:/usr/bin:/sbin:/bin`,
    },
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(PLUGIN_TIMEOUT_MS),
  });
  const writer = child.stdin.getWriter();
  try {
    await writer.write(new TextEncoder().encode(JSON.stringify(conf)));
    await writer.close();
  } catch {
    // The plugin exited before reading its configuration: its output says why.
  }
  const out = await child.output();
  const stdout = new TextDecoder().decode(out.stdout).trim();
  if (!out.success) {
    const parsed = (() => {
      try {
        return JSON.parse(stdout) as { code?: number; msg?: string; details?: string };
      } catch {
        return {};
      }
    })();
    const message = [parsed.msg, parsed.details].filter(Boolean).join(": ") ||
      new TextDecoder().decode(out.stderr).trim() || stdout || `exit ${out.code}`;
    throw new CniError(conf.type, command, parsed.code ?? out.code, message);
  }
  return stdout === "" ? null : JSON.parse(stdout) as CniResult;
}

/**
 * ADD a list: each plugin in order, each given the previous one's result.
 * Returns the last result (the one DEL and CHECK are given).
 */
export async function addList(
  cniPath: string,
  list: CniConfList,
  target: CniTarget,
): Promise<CniResult> {
  let result: CniResult | null = null;
  for (const plugin of list.plugins) {
    result = await invokePlugin(cniPath, "ADD", pluginConf(list, plugin, target, result), target);
  }
  if (!result) throw new CniError(list.name, "ADD", 0, "no result");
  return result;
}

/**
 * DEL a list: each plugin in reverse order with the cached ADD result (null
 * when the ADD never finished). The plugins make DEL idempotent: what is
 * already gone is not an error.
 */
export async function delList(
  cniPath: string,
  list: CniConfList,
  target: CniTarget,
  prevResult: CniResult | null,
): Promise<void> {
  for (const plugin of [...list.plugins].reverse()) {
    await invokePlugin(cniPath, "DEL", pluginConf(list, plugin, target, prevResult), target);
  }
}

/** CHECK a list: each plugin in order with the cached ADD result; throws what is wrong. */
export async function checkList(
  cniPath: string,
  list: CniConfList,
  target: CniTarget,
  prevResult: CniResult,
): Promise<void> {
  for (const plugin of list.plugins) {
    await invokePlugin(cniPath, "CHECK", pluginConf(list, plugin, target, prevResult), target);
  }
}
