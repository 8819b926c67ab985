/**
 * The container commands other than create and run (`run_cmds.ts`) and exec
 * (`exec_cmd.ts`): start, stop, restart, kill, rm, ps, inspect, wait, logs,
 * rename and update.
 * @module
 */
import type { Command } from "./args.ts";
import type { HostConfig } from "../container/mod.ts";
import { CorralError, invalid } from "../errdefs/mod.ts";
import { parseRestartPolicy } from "../restart/mod.ts";
import { type ApiClient, parseDetachKeys } from "../api/mod.ts";
import { type Api, enc, ExitCode, inspectEach, type Opts } from "./command.ts";
import { interactiveRun } from "./run_cmds.ts";
import { parseMemorySwap } from "./host_flags.ts";
import { ago, humanSize, printRows, pumpFrames } from "./output.ts";
import { collect, parseBytes, parseCount, parseFilterFlags, restartDelays } from "./parse.ts";

/** `start -a[i]` and `attach`: the container's stdin (when it has one) and output. */
async function attachTo(c: ApiClient, ref: string, o: Opts, start: boolean): Promise<number> {
  if (o.detachKeys !== undefined) parseDetachKeys(String(o.detachKeys));
  const info = await c.json<
    {
      Id: string;
      Config: { Tty?: boolean; OpenStdin?: boolean };
      HostConfig: HostConfig;
    }
  >(
    "GET",
    `/containers/${enc(ref)}/json`,
  );
  return await interactiveRun(c, info.Id, {
    stdin: Boolean(o.interactive) && Boolean(info.Config.OpenStdin),
    tty: Boolean(info.Config.Tty),
    autoRemove: Boolean(info.HostConfig.AutoRemove),
    detachKeys: o.detachKeys as string | undefined,
  }, start);
}

/** Register start, attach, stop, restart, kill and rm. */
export function addLifecycleCommands(program: Command, api: Api): void {
  program.command("start").description("start containers").argument("<container...>")
    .option("-a, --attach", "attach to the container's output and end with its exit code")
    .option("-i, --interactive", "attach stdin too")
    .option("--detach-keys <keys>", "keys that detach from the container (ctrl-p,ctrl-q)")
    .action(async (refs: string[], o: Opts) => {
      if (!o.attach && !o.interactive) {
        return eachContainer(
          api,
          refs,
          (r) => ["POST", `/containers/${enc(r)}/start`],
          (r) => `container ${r} is already running`,
        );
      }
      if (refs.length !== 1) {
        throw invalid("you cannot start and attach multiple containers at once");
      }
      throw new ExitCode(await attachTo(api(), refs[0], o, true));
    });
  program.command("attach").description("attach to a running container's stdin and output")
    .option("--no-stdin", "do not attach stdin")
    .option("--detach-keys <keys>", "keys that detach from the container (ctrl-p,ctrl-q)")
    .argument("<container>")
    .action(async (ref: string, o: Opts) => {
      throw new ExitCode(await attachTo(api(), ref, { ...o, interactive: o.stdin }, false));
    });
  program.command("stop").description("stop containers (SIGKILL after the timeout)")
    .option("-t, --time <seconds>", "seconds to wait before killing", parseCount("timeout"))
    .argument("<container...>")
    .action((refs: string[], o: Opts) =>
      eachContainer(
        api,
        refs,
        (r) => ["POST", `/containers/${enc(r)}/stop${timeQuery(o)}`],
        (r) => `container ${r} is not running`,
      )
    );
  program.command("restart").description("restart containers")
    .option("-t, --time <seconds>", "seconds to wait before killing", parseCount("timeout"))
    .argument("<container...>")
    .action((refs: string[], o: Opts) =>
      eachContainer(api, refs, (r) => ["POST", `/containers/${enc(r)}/restart${timeQuery(o)}`])
    );
  program.command("kill").description("send a signal to containers")
    .option("-s, --signal <signal>", "signal name or number", "KILL")
    .argument("<container...>")
    .action((refs: string[], o: Opts) =>
      eachContainer(
        api,
        refs,
        (r) => ["POST", `/containers/${enc(r)}/kill?signal=${enc(String(o.signal))}`],
      )
    );
  program.command("rm").description("remove containers")
    .option("-f, --force", "kill a running container first")
    .option("-v, --volumes", "remove the container's anonymous volumes too")
    .argument("<container...>")
    .action((refs: string[], o: Opts) => {
      const query = new URLSearchParams();
      if (o.force) query.set("force", "1");
      if (o.volumes) query.set("v", "1");
      const q = query.size ? `?${query}` : "";
      return eachContainer(api, refs, (r) => ["DELETE", `/containers/${enc(r)}${q}`]);
    });
}

/** stop's and restart's `-t`, as the query that passes it on. */
function timeQuery(o: Opts): string {
  return o.time !== undefined ? `?t=${o.time}` : "";
}

/**
 * One request per container, in turn, printing each name as docker does. A
 * 304 (already in that state) is a conflict, with `unchanged`'s message.
 */
async function eachContainer(
  api: Api,
  refs: string[],
  request: (ref: string) => [method: string, path: string, body?: unknown],
  unchanged?: (ref: string) => string,
): Promise<void> {
  for (const r of refs) {
    const res = await api().call(...request(r));
    if (res.status === 304 && unchanged) throw new CorralError("conflict", unchanged(r));
    console.log(r);
  }
}

/** Register ps, inspect, wait and logs. */
export function addQueryCommands(program: Command, api: Api): void {
  program.command("ps").description("list containers")
    .option("-a, --all", "show all containers (default: running)")
    .option("-q, --quiet", "only ids")
    .option("-f, --filter <k=v>", "filter: status, name, label, id (repeatable)", collect)
    .option("-s, --size", "show each container's writable layer size (and with its image)")
    .option("-n, --last <n>", "the n last created containers (any state)", parseCount("--last"))
    .option("-l, --latest", "the last created container (any state)")
    .option("--no-trunc", "full ids and commands")
    .option("--format <format>", "a Go template (`table …` for columns), or json")
    .action(async (o: Opts) => {
      const filters = parseFilterFlags(o.filter as string[] | undefined);
      // As docker ps: -l is -n 1, and either lists stopped containers too (the API's limit).
      const limit = o.latest ? 1 : o.last === undefined ? -1 : Number(o.last);
      const q = `?all=${o.all ? 1 : 0}&size=${o.size ? 1 : 0}&limit=${limit}&filters=${
        enc(JSON.stringify(filters))
      }`;
      const list = await api().json<Record<string, unknown>[]>("GET", `/containers/json${q}`);
      printContainers(list, o);
    });
  program.command("inspect").description("show containers as JSON").argument("<container...>")
    .option("-f, --format <template>", "each container through a Go template (or json)")
    .action((refs: string[], o: Opts) =>
      inspectEach(api(), refs.map((r) => `/containers/${enc(r)}/json`), o.format as string)
    );
  program.command("wait").description("wait for containers to stop; print their exit codes")
    .argument("<container...>")
    .action(async (refs: string[]) => {
      for (const r of refs) {
        const res = await api().json<{ StatusCode: number }>("POST", `/containers/${enc(r)}/wait`);
        console.log(res.StatusCode);
      }
    });
  program.command("logs").description("print a container's output")
    .option("-f, --follow", "keep following")
    .option("--tail <n>", "only the last n lines", "all")
    .option("-t, --timestamps", "show timestamps")
    .argument("<container>")
    .action(async (ref: string, o: Opts) => {
      if (o.tail !== "all" && !/^\d+$/.test(String(o.tail))) {
        throw invalid(`invalid --tail "${o.tail}"`);
      }
      const q = `stdout=1&stderr=1&follow=${o.follow ? 1 : 0}&tail=${o.tail}&timestamps=${
        o.timestamps ? 1 : 0
      }`;
      const res = await api().call("GET", `/containers/${enc(ref)}/logs?${q}`);
      await pumpFrames(res.body!);
    });
}

/** One of a `ps` entry's `Ports`. */
interface PsPort {
  IP?: string;
  PrivatePort: number;
  PublicPort?: number;
  Type: string;
}

/**
 * docker ps's PORTS column: `0.0.0.0:8080->80/tcp` when published, `80/tcp`
 * when only exposed.
 *
 * @example
 * ```ts
 * portsColumn([{ IP: "0.0.0.0", PrivatePort: 80, PublicPort: 8080, Type: "tcp" }]);
 * // "0.0.0.0:8080->80/tcp"
 * ```
 */
export function portsColumn(ports: PsPort[] = []): string {
  return ports.map((p) =>
    p.PublicPort
      ? `${p.IP}:${p.PublicPort}->${p.PrivatePort}/${p.Type}`
      : `${p.PrivatePort}/${p.Type}`
  ).join(", ");
}

/** `ps`'s columns by the names its templates use, and their headers. */
const PS_HEADERS: Record<string, unknown> = {
  ID: "CONTAINER ID",
  Image: "IMAGE",
  Command: "COMMAND",
  CreatedAt: "CREATED AT",
  RunningFor: "CREATED",
  Ports: "PORTS",
  State: "STATE",
  Status: "STATUS",
  Size: "SIZE",
  Names: "NAMES",
  Labels: "LABELS",
  Networks: "NETWORKS",
  Label: () => "LABEL",
};

/** `ps` without `--format`, as docker ps shows it. */
const PS_TABLE = "table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.RunningFor}}\t{{.Status}}\t" +
  "{{.Ports}}\t{{.Names}}";

/** A container of the list as `ps` templates see it (the docker CLI's names). */
function psRow(c: Record<string, unknown>, full: boolean): Record<string, unknown> {
  const text = String(c.Command);
  // Docker shortens a long command to 20 characters, the last one an ellipsis.
  const command = full || text.length <= 20 ? text : `${text.slice(0, 19)}…`;
  const labels = (c.Labels ?? {}) as Record<string, string>;
  const networks = (c.NetworkSettings as { Networks?: Record<string, unknown> } | undefined)
    ?.Networks ?? {};
  return {
    ID: full ? String(c.Id) : String(c.Id).slice(0, 12),
    Image: String(c.Image),
    Command: JSON.stringify(command),
    CreatedAt: new Date(Number(c.Created) * 1000).toISOString(),
    RunningFor: ago(Number(c.Created)),
    Ports: portsColumn(c.Ports as PsPort[] | undefined),
    State: String(c.State),
    Status: String(c.Status),
    Size: c.SizeRw === undefined
      ? ""
      : `${humanSize(Number(c.SizeRw))} (virtual ${humanSize(Number(c.SizeRootFs))})`,
    Names: (c.Names as string[]).map((n) => n.slice(1)).join(","),
    Labels: Object.entries(labels).sort(([a], [b]) => a < b ? -1 : 1).map(([k, v]) => `${k}=${v}`)
      .join(","),
    // A method, as the docker CLI's: `{{.Label "com.example.key"}}`.
    Label: (key: string) => labels[key] ?? "",
    Networks: Object.keys(networks).join(","),
  };
}

/** ps's answer as ids, the list's JSON lines, or rows through a template (docker's table). */
function printContainers(list: Record<string, unknown>[], o: Opts): void {
  // `--no-trunc` is the negation of a `trunc` flag, as the parser reads `--no-X`.
  const rows = list.map((c) => psRow(c, o.trunc === false));
  if (o.quiet) return rows.forEach((r) => console.log(r.ID));
  // The list's own objects, as earlier corral versions printed them.
  if (o.format === "json") return list.forEach((c) => console.log(JSON.stringify(c)));
  const table = PS_TABLE + (o.size ? "\t{{.Size}}" : "");
  printRows(rows, o.format ? String(o.format) : table, PS_HEADERS, table);
}

/** Register rename and update. */
export function addChangeCommands(program: Command, api: Api): void {
  program.command("rename").description("rename a container").argument("<container>").argument(
    "<new-name>",
  )
    .action(async (ref: string, name: string) => {
      await api().call("POST", `/containers/${enc(ref)}/rename?name=${enc(name)}`);
    });
  program.command("update").description("change the restart policy or limits of a container")
    .option("--restart <policy>", "new restart policy")
    .option("--restart-delay <duration>", "first restart delay")
    .option("--restart-max-delay <duration>", "restart delay cap")
    .option("-m, --memory <bytes>", "memory limit")
    .option("--pids-limit <n>", "max processes", parseCount("pids limit"))
    .option("-c, --cpu-shares <n>", "relative CPU weight", parseCount("cpu shares"))
    .option("--cpuset-cpus <list>", "CPUs the container may use, e.g. 0-2,5")
    .option("--memory-reservation <bytes>", "memory soft limit")
    .option("--memory-swap <bytes>", "memory plus swap limit, -1 for unlimited swap")
    .argument("<container...>")
    .action(async (refs: string[], o: Opts) => {
      const body: Partial<HostConfig> = {};
      if (o.restart) body.RestartPolicy = parseRestartPolicy(String(o.restart));
      Object.assign(body, restartDelays(o));
      if (o.memory) body.Memory = parseBytes(String(o.memory));
      if (o.pidsLimit !== undefined) body.PidsLimit = o.pidsLimit as number;
      if (o.cpuShares !== undefined) body.CpuShares = o.cpuShares as number;
      if (o.cpusetCpus) body.CpusetCpus = String(o.cpusetCpus);
      if (o.memoryReservation) body.MemoryReservation = parseBytes(String(o.memoryReservation));
      if (o.memorySwap) body.MemorySwap = parseMemorySwap(String(o.memorySwap));
      if (Object.keys(body).length === 0) {
        throw invalid("update: nothing to change (use --restart, --memory, ...)");
      }
      await eachContainer(api, refs, (r) => ["POST", `/containers/${enc(r)}/update`, body]);
    });
}
