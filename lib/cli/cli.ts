/**
 * The `corral` command line: a Docker-like client of the daemon, plus
 * `corral daemon` itself.
 * @module
 */
import { Command, CommanderError, Option } from "commander";
import { ApiClient, CORRAL_VERSION, DEFAULT_HOST, parseDuration } from "../api/mod.ts";
import type { HostConfig } from "../container/mod.ts";
import { CorralError, errorMessage, invalid, unavailable } from "../errdefs/mod.ts";
import { checkAutoRemove, parseRestartPolicy } from "../restart/mod.ts";
import { ago, humanSize, printTable, pumpFrames } from "./output.ts";
import { collect, parseBytes, parseCount, parseFilterFlags } from "./parse.ts";
import { runDaemonCommand } from "./daemon_cmd.ts";

/** Thrown to end the program with an exit code (the container's, for run/exec/wait). */
export class ExitCode extends Error {
  constructor(readonly code: number) {
    super(`exit ${code}`);
  }
}

type Opts = Record<string, unknown>;

function client(program: Command): ApiClient {
  const host = (program.opts().host as string | undefined) ?? Deno.env.get("CORRAL_HOST") ??
    DEFAULT_HOST;
  return new ApiClient(host);
}

const enc = (s: string) => encodeURIComponent(s);

/** Options shared by `run` and `create`. */
function containerOptions(cmd: Command): Command {
  return cmd
    .option("--name <name>", "container name")
    .option("--rm", "remove the container when it exits")
    .option("-e, --env <KEY=VALUE>", "environment variable (repeatable)", collect)
    .option("-l, --label <KEY=VALUE>", "label (repeatable)", collect)
    .option("-v, --volume <HOST:CTR[:ro]>", "bind mount (repeatable)", collect)
    .option("-w, --workdir <dir>", "working directory inside the container")
    .option("-u, --user <user>", "user[:group] inside the container")
    .option("--hostname <name>", "container host name")
    .option("--entrypoint <cmd>", "override the image's entrypoint")
    .option("--restart <policy>", "no, always, unless-stopped, on-failure[:N], on-reboot", "no")
    .option("--restart-delay <duration>", "first restart delay (default: daemon's, 100ms)")
    .option("--restart-max-delay <duration>", "restart delay cap (default: daemon's, 60s)")
    .option("-m, --memory <bytes>", "memory limit, e.g. 64m")
    .option("--cpus <n>", "number of CPUs")
    .option("--pids-limit <n>", "max number of processes")
    .option("--stop-signal <signal>", "signal to stop the container", "SIGTERM")
    .option(
      "--stop-timeout <seconds>",
      "seconds to wait before SIGKILL on stop",
      parseCount("stop timeout"),
    )
    .option("--health-cmd <cmd>", "health check command (run with sh -c)")
    .option("--health-interval <duration>", "time between health checks (default 30s)")
    .option("--health-timeout <duration>", "health check timeout (default 30s)")
    .option(
      "--health-retries <n>",
      "failures before unhealthy (default 3)",
      parseCount("health retries"),
    )
    .option("--health-start-period <duration>", "grace period for failures (default 0s)")
    .option("--no-healthcheck", "disable the image's health check")
    .addOption(
      new Option("--health-on-failure <action>", "action when unhealthy").choices([
        "none",
        "kill",
        "restart",
        "stop",
      ]),
    )
    .option(
      "--health-exit-on-unhealthy",
      "kill the container when unhealthy (iSulad's name for kill)",
    )
    .argument("<image>")
    .argument("[command...]");
}

/** Build the API's create body from CLI flags (validated here and again by the daemon). */
export function createBody(
  image: string,
  command: string[],
  o: Opts,
): { name?: string; body: Record<string, unknown> } {
  const policy = parseRestartPolicy(String(o.restart ?? "no"));
  checkAutoRemove(policy, Boolean(o.rm));
  const hc: Partial<HostConfig> = {
    RestartPolicy: policy,
    AutoRemove: Boolean(o.rm),
    Binds: (o.volume as string[] | undefined) ?? [],
    Memory: o.memory ? parseBytes(String(o.memory)) : 0,
    NanoCpus: 0,
    PidsLimit: 0,
  };
  if (o.cpus !== undefined) {
    const n = Number(o.cpus);
    if (!Number.isFinite(n) || n <= 0) {
      throw invalid(`invalid --cpus "${o.cpus}": expected a positive number`);
    }
    hc.NanoCpus = Math.round(n * 1e9);
  }
  if (o.pidsLimit !== undefined) hc.PidsLimit = parseCount("pids limit")(String(o.pidsLimit));
  if (o.restartDelay) hc.RestartDelay = positiveDuration("--restart-delay", String(o.restartDelay));
  if (o.restartMaxDelay) {
    hc.RestartMaxDelay = positiveDuration("--restart-max-delay", String(o.restartMaxDelay));
  }
  if (o.healthOnFailure) hc.HealthOnFailure = o.healthOnFailure as HostConfig["HealthOnFailure"];
  if (o.healthExitOnUnhealthy) hc.HealthOnFailure = "kill";
  const labels: Record<string, string> = {};
  for (const l of (o.label as string[] | undefined) ?? []) {
    const i = l.indexOf("=");
    labels[i < 0 ? l : l.slice(0, i)] = i < 0 ? "" : l.slice(i + 1);
  }
  const body: Record<string, unknown> = {
    Image: image,
    Cmd: command.length ? command : undefined,
    Env: (o.env as string[] | undefined) ?? [],
    Labels: labels,
    WorkingDir: o.workdir ?? "",
    User: o.user ?? "",
    Hostname: o.hostname ?? "",
    StopSignal: o.stopSignal,
    StopTimeout: o.stopTimeout,
    HostConfig: hc,
  };
  if (o.entrypoint !== undefined) {
    body.Entrypoint = o.entrypoint === "" ? [] : [String(o.entrypoint)];
  }
  const ns = (v: unknown) => v ? Math.round(parseDuration(String(v)) * 1e6) : 0;
  if (o.healthcheck === false) body.Healthcheck = { Test: ["NONE"] };
  else if (
    o.healthCmd || o.healthInterval || o.healthTimeout || o.healthRetries || o.healthStartPeriod
  ) {
    // Timings without a command apply to the image's health check.
    body.Healthcheck = {
      Test: o.healthCmd ? ["CMD-SHELL", String(o.healthCmd)] : [],
      Interval: ns(o.healthInterval),
      Timeout: ns(o.healthTimeout),
      Retries: o.healthRetries ?? 0,
      StartPeriod: ns(o.healthStartPeriod),
    };
  }
  return { name: o.name as string | undefined, body };
}

function positiveDuration(flag: string, text: string): number {
  const ms = parseDuration(text);
  if (ms <= 0) throw invalid(`invalid ${flag} "${text}": must be greater than 0`);
  return ms;
}

async function createContainer(
  api: ApiClient,
  image: string,
  command: string[],
  o: Opts,
): Promise<string> {
  const { name, body } = createBody(image, command, o);
  const q = name ? `?name=${enc(name)}` : "";
  const res = await api.json<{ Id: string }>("POST", `/containers/create${q}`, body);
  return res.Id;
}

/** The whole program. */
export function buildProgram(): Command {
  const program = new Command("corral")
    .description("corral: a small, fast container engine")
    .version(CORRAL_VERSION, "--version", "print the client version")
    .option("-H, --host <unix://PATH>", "daemon socket (env CORRAL_HOST)")
    .enablePositionalOptions()
    .showSuggestionAfterError(true)
    .configureOutput({ outputError: (str, write) => write(str.split("\n")[0] + "\n") })
    .exitOverride();
  // One client (one connection pool) for the whole command.
  let apiClient: ApiClient | undefined;
  const api = () => apiClient ??= client(program);

  program.command("daemon").description("run the corral daemon")
    .option("--root <dir>", "persistent state", "/var/lib/corral")
    .option("--state <dir>", "runtime state (fifos, bundles)", "/run/corral")
    .option("--host <unix://PATH>", "socket to serve")
    .option("--runtime <path>", "OCI runtime binary", "runc")
    .option("--cgroup-parent <name>", "parent cgroup of every container", "corral")
    .option("--restart-delay <duration>", "first restart backoff delay", "100ms")
    .option("--restart-max-delay <duration>", "restart backoff cap", "60s")
    .option("--restart-reset-after <duration>", "running this long resets the backoff", "10s")
    .option("--no-default-image", "do not create the embedded busybox image")
    .option("--max-image-size <size>", "cap on an import or load, uncompressed (default 32g)")
    .option("--log-level <level>", "debug, info, warning, error", "info")
    .action(async (o: Opts) =>
      await runDaemonCommand({ ...o, host: o.host ?? program.opts().host })
    );

  containerOptions(program.command("create").description("create a container"))
    .action(async (image: string, command: string[], o: Opts) => {
      console.log(await createContainer(api(), image, command, o));
    });

  containerOptions(program.command("run").description("create and start a container"))
    .option("-d, --detach", "run in the background and print the id")
    .passThroughOptions()
    .action(async (image: string, command: string[], o: Opts) => {
      const c = api();
      const id = await createContainer(c, image, command, o);
      if (o.detach) {
        await startOrExplain(c, id, Boolean(o.rm));
        console.log(id);
        return;
      }
      // Arm attach and wait before start, so nothing of a short run is missed.
      const attach = await c.call("POST", `/containers/${id}/attach?stream=1&stdout=1&stderr=1`);
      const wait = await c.call(
        "POST",
        `/containers/${id}/wait?condition=${o.rm ? "removed" : "next-exit"}`,
      );
      await startOrExplain(c, id, Boolean(o.rm));
      await pumpFrames(attach.body!);
      const res = await wait.json() as { StatusCode: number };
      throw new ExitCode(res.StatusCode);
    });

  program.command("start").description("start containers").argument("<container...>")
    .action(async (refs: string[]) => {
      for (const r of refs) {
        const res = await api().call("POST", `/containers/${enc(r)}/start`);
        if (res.status === 304) {
          throw new CorralError("conflict", `container ${r} is already running`);
        }
        console.log(r);
      }
    });
  program.command("stop").description("stop containers (SIGKILL after the timeout)")
    .option("-t, --time <seconds>", "seconds to wait before killing", parseCount("timeout"))
    .argument("<container...>")
    .action(async (refs: string[], o: Opts) => {
      for (const r of refs) {
        const q = o.time !== undefined ? `?t=${o.time}` : "";
        const res = await api().call("POST", `/containers/${enc(r)}/stop${q}`);
        if (res.status === 304) throw new CorralError("conflict", `container ${r} is not running`);
        console.log(r);
      }
    });
  program.command("restart").description("restart containers")
    .option("-t, --time <seconds>", "seconds to wait before killing", parseCount("timeout"))
    .argument("<container...>")
    .action(async (refs: string[], o: Opts) => {
      for (const r of refs) {
        await api().call(
          "POST",
          `/containers/${enc(r)}/restart${o.time !== undefined ? `?t=${o.time}` : ""}`,
        );
        console.log(r);
      }
    });
  program.command("kill").description("send a signal to containers")
    .option("-s, --signal <signal>", "signal name or number", "KILL")
    .argument("<container...>")
    .action(async (refs: string[], o: Opts) => {
      for (const r of refs) {
        await api().call("POST", `/containers/${enc(r)}/kill?signal=${enc(String(o.signal))}`);
        console.log(r);
      }
    });
  program.command("rm").description("remove containers")
    .option("-f, --force", "kill a running container first")
    .argument("<container...>")
    .action(async (refs: string[], o: Opts) => {
      for (const r of refs) {
        await api().call("DELETE", `/containers/${enc(r)}${o.force ? "?force=1" : ""}`);
        console.log(r);
      }
    });
  program.command("ps").description("list containers")
    .option("-a, --all", "show all containers (default: running)")
    .option("-q, --quiet", "only ids")
    .option("-f, --filter <k=v>", "filter: status, name, label, id (repeatable)", collect)
    .option("-s, --size", "show each container's writable layer size (and with its image)")
    .option("--format <format>", "json: one JSON object per line")
    .action(async (o: Opts) => {
      const filters = parseFilterFlags(o.filter as string[] | undefined);
      const q = `?all=${o.all ? 1 : 0}&size=${o.size ? 1 : 0}&filters=${
        enc(JSON.stringify(filters))
      }`;
      const list = await api().json<Record<string, unknown>[]>("GET", `/containers/json${q}`);
      if (o.format && o.format !== "json") {
        throw invalid(`unsupported format "${o.format}": use json`);
      }
      if (o.quiet) return list.forEach((c) => console.log(String(c.Id).slice(0, 12)));
      if (o.format === "json") return list.forEach((c) => console.log(JSON.stringify(c)));
      const size = (c: Record<string, unknown>) =>
        `${humanSize(Number(c.SizeRw))} (virtual ${humanSize(Number(c.SizeRootFs))})`;
      printTable(
        [
          "CONTAINER ID",
          "IMAGE",
          "COMMAND",
          "CREATED",
          "STATUS",
          "NAMES",
          ...o.size ? ["SIZE"] : [],
        ],
        list.map((c) => [
          String(c.Id).slice(0, 12),
          String(c.Image),
          JSON.stringify(String(c.Command).slice(0, 20)),
          ago(Number(c.Created)),
          String(c.Status),
          (c.Names as string[]).map((n) => n.slice(1)).join(","),
          ...o.size ? [size(c)] : [],
        ]),
      );
    });
  program.command("inspect").description("show containers as JSON").argument("<container...>")
    .action(async (refs: string[]) => {
      const out: unknown[] = [];
      let missing: CorralError | null = null;
      for (const r of refs) {
        try {
          out.push(await api().json("GET", `/containers/${enc(r)}/json`));
        } catch (err) {
          if (!(err instanceof CorralError) || err.kind !== "not_found") throw err;
          missing = err;
        }
      }
      console.log(JSON.stringify(out, null, 2));
      if (missing) throw missing;
    });
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
  program.command("exec").description("run a command in a running container")
    .option("-e, --env <KEY=VALUE>", "environment variable (repeatable)", collect)
    .option("-w, --workdir <dir>", "working directory")
    .option("-u, --user <user>", "user[:group]")
    .argument("<container>").argument("<command...>")
    .passThroughOptions()
    .action(async (ref: string, command: string[], o: Opts) => {
      const c = api();
      const { Id } = await c.json<{ Id: string }>("POST", `/containers/${enc(ref)}/exec`, {
        Cmd: command,
        Env: o.env ?? [],
        WorkingDir: o.workdir ?? "",
        User: o.user ?? "",
        AttachStdout: true,
        AttachStderr: true,
      });
      const res = await c.call("POST", `/exec/${Id}/start`, { Detach: false, Tty: false });
      await pumpFrames(res.body!);
      const inst = await c.json<{ ExitCode: number }>("GET", `/exec/${Id}/json`);
      throw new ExitCode(inst.ExitCode ?? 0);
    });
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
    .argument("<container...>")
    .action(async (refs: string[], o: Opts) => {
      const body: Partial<HostConfig> = {};
      if (o.restart) body.RestartPolicy = parseRestartPolicy(String(o.restart));
      if (o.restartDelay) {
        body.RestartDelay = positiveDuration("--restart-delay", String(o.restartDelay));
      }
      if (o.restartMaxDelay) {
        body.RestartMaxDelay = positiveDuration("--restart-max-delay", String(o.restartMaxDelay));
      }
      if (o.memory) body.Memory = parseBytes(String(o.memory));
      if (o.pidsLimit !== undefined) body.PidsLimit = o.pidsLimit as number;
      if (Object.keys(body).length === 0) {
        throw invalid("update: nothing to change (use --restart, --memory, ...)");
      }
      for (const r of refs) {
        await api().call("POST", `/containers/${enc(r)}/update`, body);
        console.log(r);
      }
    });
  program.command("events").description("stream events")
    .option("-f, --filter <k=v>", "container=, type=, event= (repeatable)", collect)
    .option("--since <time>", "show events since (unix seconds or RFC 3339)")
    .option("--until <time>", "stop at (unix seconds or RFC 3339)")
    .option("--format <format>", "json")
    .action(async (o: Opts) => {
      if (o.format !== undefined && o.format !== "json") {
        throw invalid(`unsupported format "${o.format}": only json`);
      }
      const filters = parseFilterFlags(o.filter as string[] | undefined);
      let q = `?filters=${enc(JSON.stringify(filters))}`;
      if (o.since) q += `&since=${enc(String(o.since))}`;
      if (o.until) q += `&until=${enc(String(o.until))}`;
      const res = await api().call("GET", `/events${q}`);
      const dec = new TextDecoder();
      let buf = "";
      for await (const chunk of res.body!) {
        buf += dec.decode(chunk, { stream: true });
        let nl;
        while ((nl = buf.indexOf("\n")) >= 0) {
          const line = buf.slice(0, nl);
          buf = buf.slice(nl + 1);
          const e = JSON.parse(line);
          // The daemon ends the stream with a message when it dropped this client.
          if (e.message) throw unavailable(e.message);
          console.log(o.format === "json" ? line : formatEvent(e));
        }
      }
    });
  program.command("gc").description("list containers whose cleanup is being retried")
    .action(async () => {
      const list = await api().json<{ id: string; tries: number; lastError: string }[]>(
        "GET",
        "/corral/gc",
      );
      printTable(
        ["CONTAINER ID", "TRIES", "LAST ERROR"],
        list.map((e) => [e.id.slice(0, 12), String(e.tries), e.lastError]),
      );
    });

  const images = program.command("image").description("manage images");
  const listImages = async () => {
    const list = await api().json<
      { Id: string; RepoTags: string[]; Created: number; Size: number }[]
    >("GET", "/images/json");
    printTable(
      ["REPOSITORY", "TAG", "IMAGE ID", "CREATED", "SIZE"],
      list.flatMap((i) =>
        (i.RepoTags.length ? i.RepoTags : ["<none>:<none>"]).map((t) => {
          const k = t.lastIndexOf(":");
          return [
            t.slice(0, k),
            t.slice(k + 1),
            i.Id.replace("sha256:", "").slice(0, 12),
            ago(i.Created),
            humanSize(i.Size),
          ];
        })
      ),
    );
  };
  images.command("ls").description("list images").action(listImages);
  program.command("images").description("list images").action(listImages);
  images.command("import").description("import a rootfs (.tar, .tar.gz or directory) as an image")
    .argument("<source>").argument("<name>")
    .action(async (source: string, name: string) => {
      // Resolved here: the daemon's working directory is not the caller's.
      let info: Deno.FileInfo;
      try {
        info = await Deno.stat(source);
      } catch (err) {
        throw invalid(`cannot read ${source}: ${errorMessage(err)}`);
      }
      if (info.isDirectory) {
        const body = { Source: await Deno.realPath(source), Name: name };
        console.log((await api().json<{ Id: string }>("POST", "/corral/images/import", body)).Id);
        return;
      }
      // A file's content is sent: it is read with the caller's rights, not the daemon's.
      const path = `/images/create?fromSrc=-&repo=${enc(name)}`;
      const res = await api().json<{ status: string }>("POST", path, await openInput(source));
      console.log(res.status);
    });
  // load and save, as `docker load`/`docker save`: under `image` and at the top.
  for (const parent of [program, images]) {
    parent.command("load").description("load images from a docker save or OCI archive")
      .option("-i, --input <file>", "read the archive from a file (default: standard input)")
      .action(async (o: Opts) => {
        if (!o.input && Deno.stdin.isTerminal()) {
          throw invalid("no archive to load: use -i FILE or redirect standard input");
        }
        const input = o.input ? await openInput(String(o.input)) : Deno.stdin.readable;
        const res = await api().call("POST", "/images/load", input);
        for (const line of (await res.text()).split("\n").filter(Boolean)) {
          const msg = JSON.parse(line) as { stream?: string };
          if (msg.stream) Deno.stdout.writeSync(new TextEncoder().encode(msg.stream));
        }
      });
    parent.command("save").description("write images to a docker save archive")
      .option("-o, --output <file>", "write to a file (default: standard output)")
      .argument("<image...>")
      .action(async (refs: string[], o: Opts) => {
        if (!o.output && Deno.stdout.isTerminal()) {
          throw invalid("refusing to write an archive to a terminal: use -o FILE or redirect");
        }
        const q = refs.map((r) => `names=${enc(r)}`).join("&");
        const res = await api().call("GET", `/images/get?${q}`);
        await saveOutput(res.body!, o.output ? String(o.output) : null);
      });
  }
  images.command("busybox").description("build the minimal image from the host's static busybox")
    .argument("[name]", "image name", "busybox:latest")
    .action(async (name: string) => {
      const res = await api().json<{ Id: string }>("POST", "/corral/images/busybox", {
        Name: name,
      });
      console.log(res.Id);
    });
  images.command("rm").description("remove images").option(
    "-f, --force",
    "even if containers use it",
  )
    .argument("<image...>")
    .action(async (refs: string[], o: Opts) => {
      for (const r of refs) {
        const res = await api().json<{ Untagged?: string; Deleted?: string }[]>(
          "DELETE",
          `/images/${enc(r)}${o.force ? "?force=1" : ""}`,
        );
        for (const x of res) {
          console.log(x.Untagged ? `Untagged: ${x.Untagged}` : `Deleted: ${x.Deleted}`);
        }
      }
    });

  program.command("version").description("client and daemon versions").action(async () => {
    console.log(`Client: corral ${CORRAL_VERSION} (deno ${Deno.version.deno})`);
    try {
      const v = await api().json<{ Version: string; ApiVersion: string }>("GET", "/version");
      console.log(`Server: corral ${v.Version} (API ${v.ApiVersion})`);
    } catch (err) {
      console.log(`Server: ${errorMessage(err)}`);
    }
  });
  return program;
}

/** An archive to load, or one clear error when it cannot be read. */
async function openInput(path: string): Promise<ReadableStream<Uint8Array>> {
  try {
    return (await Deno.open(path)).readable;
  } catch (err) {
    throw invalid(`cannot read ${path}: ${errorMessage(err)}`);
  }
}

/**
 * Write a saved archive to `path` (all of it, then renamed into place, so a
 * failed save leaves no partial file) or to standard output.
 */
async function saveOutput(body: ReadableStream<Uint8Array>, path: string | null): Promise<void> {
  if (path === null) return await body.pipeTo(Deno.stdout.writable, { preventClose: true });
  const temp = `${path}.corral-partial`;
  try {
    await Deno.writeFile(temp, body);
    await Deno.rename(temp, path);
  } catch (err) {
    await Deno.remove(temp).catch(() => {});
    throw invalid(`cannot write ${path}: ${errorMessage(err)}`);
  }
}

async function startOrExplain(c: ApiClient, id: string, autoRemove: boolean): Promise<void> {
  try {
    await c.call("POST", `/containers/${id}/start`);
  } catch (err) {
    if (autoRemove) await c.call("DELETE", `/containers/${id}?force=1`).catch(() => {});
    console.error(`corral: ${errorMessage(err)}`);
    // Loaded only on this path: the runtime module costs a CLI call ~45 ms.
    const { startFailureExitCode } = await import("../runtime/mod.ts");
    throw new ExitCode(startFailureExitCode(errorMessage(err)));
  }
}

function formatEvent(
  e: {
    Type: string;
    Action: string;
    Actor: { ID: string; Attributes: Record<string, string> };
    timeNano: number;
  },
): string {
  const attrs = Object.entries(e.Actor.Attributes).map(([k, v]) => `${k}=${v}`).join(", ");
  const t = new Date(e.timeNano / 1e6).toISOString();
  return `${t} ${e.Type} ${e.Action} ${e.Actor.ID}${attrs ? ` (${attrs})` : ""}`;
}

/**
 * Run the CLI with `args`; returns the exit code. User mistakes print one
 * line, never a stack trace.
 *
 * @example
 * ```ts
 * Deno.exit(await runCli(Deno.args));
 * ```
 */
export async function runCli(args: string[]): Promise<number> {
  try {
    const program = buildProgram();
    await program.parseAsync(args, { from: "user" });
    return 0;
  } catch (err) {
    if (err instanceof ExitCode) return err.code;
    if (err instanceof CommanderError) {
      return err.code === "commander.helpDisplayed" || err.code === "commander.version" ||
          err.code === "commander.help"
        ? 0
        : 2;
    }
    if (err instanceof CorralError) {
      console.error(`corral: ${err.message}`);
      return 1;
    }
    console.error(`corral: ${errorMessage(err)}`);
    return 1;
  }
}
