/**
 * `corral create` and `corral run`: the container flags, the API's create
 * body they make, and run's attach, start and exit code.
 * @module
 */
import { type Command, Option } from "./args.ts";
import { type ApiClient, hijack, parseDetachKeys, parseDuration } from "../api/mod.ts";
import type { HostConfig } from "../container/mod.ts";
import { errorKind, errorMessage, invalid } from "../errdefs/mod.ts";
import { checkAutoRemove, parseRestartPolicy } from "../restart/mod.ts";
import { type Api, enc, ExitCode, type Opts } from "./command.ts";
import { addHostFlags, hostFlagsBody } from "./host_flags.ts";
import { addNetworkFlags, networkFlagsBody } from "./network_flags.ts";
import { pumpFrames } from "./output.ts";
import { pullImage } from "./registry_cmds.ts";
import { collect, parseBytes, parseCount, parseKeyValues, restartDelays } from "./parse.ts";
import { runSession } from "./terminal.ts";

/** Options shared by `run` and `create`. */
function containerOptions(cmd: Command): Command {
  cmd
    .option("--name <name>", "container name")
    .option("-i, --interactive", "keep stdin open (and attach it, in the foreground)")
    .option("-t, --tty", "give the container a terminal")
    .option("--rm", "remove the container when it exits")
    .option("-e, --env <KEY=VALUE>", "environment variable (repeatable)", collect)
    .option("-l, --label <KEY=VALUE>", "label (repeatable)", collect)
    .option(
      "-v, --volume <SRC:CTR[:ro]>",
      "bind mount (/host:/ctr), named volume (name:/ctr) or anonymous volume (/ctr) (repeatable)",
      collect,
    )
    .option("--volumes-from <container[:ro|rw]>", "mount another container's volumes", collect)
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
    .addOption(
      new Option("--pull <policy>", "pull the image before creating").choices([
        "missing",
        "always",
        "never",
      ]).default("missing"),
    )
    .option("--platform <os/arch[/variant]>", "the platform to pull, for a multi-platform image");
  return addNetworkFlags(addHostFlags(cmd)).argument("<image>").argument("[command...]");
}

/** Build the API's create body from CLI flags (validated here and again by the daemon). */
export function createBody(
  image: string,
  command: string[],
  o: Opts,
): { name?: string; body: Record<string, unknown> } {
  const policy = parseRestartPolicy(String(o.restart ?? "no"));
  checkAutoRemove(policy, Boolean(o.rm));
  const network = networkFlagsBody(o);
  const hc: Partial<HostConfig> = {
    ...network.hostConfig,
    RestartPolicy: policy,
    AutoRemove: Boolean(o.rm),
    Binds: (o.volume as string[] | undefined) ?? [],
    ...(o.volumesFrom ? { VolumesFrom: o.volumesFrom as string[] } : {}),
    Memory: o.memory ? parseBytes(String(o.memory)) : 0,
    NanoCpus: 0,
    PidsLimit: 0,
    ...hostFlagsBody(o),
  };
  if (o.cpus !== undefined) {
    const n = Number(o.cpus);
    if (!Number.isFinite(n) || n <= 0) {
      throw invalid(`invalid --cpus "${o.cpus}": expected a positive number`);
    }
    hc.NanoCpus = Math.round(n * 1e9);
  }
  if (o.pidsLimit !== undefined) hc.PidsLimit = parseCount("pids limit")(String(o.pidsLimit));
  Object.assign(hc, restartDelays(o));
  if (o.healthOnFailure) hc.HealthOnFailure = o.healthOnFailure as HostConfig["HealthOnFailure"];
  if (o.healthExitOnUnhealthy) hc.HealthOnFailure = "kill";
  const labels = parseKeyValues(o.label as string[] | undefined);
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
    Tty: Boolean(o.tty),
    OpenStdin: Boolean(o.interactive),
    // As docker run: a foreground -i closes stdin when its attach ends (run sets `stdinOnce`).
    StdinOnce: Boolean(o.interactive && o.stdinOnce),
    AttachStdin: Boolean(o.interactive && o.stdinOnce),
    ...network.config,
    HostConfig: hc,
    ...(network.networking ? { NetworkingConfig: network.networking } : {}),
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

async function createContainer(
  api: ApiClient,
  image: string,
  command: string[],
  o: Opts,
): Promise<string> {
  const { name, body } = createBody(image, command, o);
  const q = name ? `?name=${enc(name)}` : "";
  const create = async () =>
    (await api.json<{ Id: string }>("POST", `/containers/create${q}`, body)).Id;
  const platform = o.platform as string | undefined;
  // As the docker CLI does it: the pull is the client's, its progress on stderr.
  if (o.pull === "always") await pullImage(api, image, platform, Deno.stderr);
  try {
    return await create();
  } catch (err) {
    const missing = errorKind(err) === "not_found" && /^No such image/.test(errorMessage(err));
    if (!missing || o.pull !== "missing") throw err;
  }
  console.error(`Unable to find image '${image}' locally`);
  await pullImage(api, image, platform, Deno.stderr);
  return await create();
}

/** Register `create` and `run`. */
export function addRunCommands(program: Command, api: Api): void {
  containerOptions(program.command("create").description("create a container"))
    // Options after the image are the command's (`sh -c`), as with run.
    .passThroughOptions()
    .action(async (image: string, command: string[], o: Opts) => {
      console.log(await createContainer(api(), image, command, o));
    });

  containerOptions(program.command("run").description("create and start a container"))
    .option("-d, --detach", "run in the background and print the id")
    .option("--detach-keys <keys>", "keys that detach from the container (ctrl-p,ctrl-q)")
    .passThroughOptions()
    .action(async (image: string, command: string[], o: Opts) => {
      const c = api();
      if (o.detachKeys !== undefined) parseDetachKeys(String(o.detachKeys));
      const id = await createContainer(c, image, command, { ...o, stdinOnce: !o.detach });
      if (o.detach) {
        await startOrExplain(c, id, Boolean(o.rm));
        console.log(id);
        return;
      }
      if (o.interactive || o.tty) {
        const code = await interactiveRun(c, id, {
          stdin: Boolean(o.interactive),
          tty: Boolean(o.tty),
          autoRemove: Boolean(o.rm),
          detachKeys: o.detachKeys as string | undefined,
        });
        throw new ExitCode(code);
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
}

/** How an interactive start runs. */
export interface InteractiveStart {
  stdin: boolean;
  tty: boolean;
  autoRemove: boolean;
  detachKeys?: string;
}

/**
 * Attach (hijacked, stdin too with `-i`), arm the wait, start, run the
 * session; the container's exit code, or 0 when the user detached.
 */
export async function interactiveRun(
  c: ApiClient,
  id: string,
  o: InteractiveStart,
  start = true,
): Promise<number> {
  const keys = o.detachKeys ? `&detachKeys=${enc(o.detachKeys)}` : "";
  const h = await hijack(
    c.path,
    "POST",
    `/containers/${enc(id)}/attach?stream=1&stdout=1&stderr=1&stdin=${o.stdin ? 1 : 0}${keys}`,
  );
  const wait = await c.call(
    "POST",
    `/containers/${enc(id)}/wait?condition=${o.autoRemove ? "removed" : "next-exit"}`,
  );
  if (start) await startOrExplain(c, id, o.autoRemove);
  else if (
    !(await c.json<{ State: { Running: boolean } }>("GET", `/containers/${enc(id)}/json`)).State
      .Running
  ) {
    // It exited after the caller saw it running: the attach would wait for a next start.
    h.conn.close();
    wait.body?.cancel().catch(() => {});
    throw invalid("you cannot attach to a stopped container, start it first");
  }
  const end = await runSession(c, h, {
    stdin: o.stdin,
    tty: o.tty,
    resizePath: o.tty ? `/containers/${enc(id)}/resize` : undefined,
    detachKeys: o.detachKeys,
  });
  const status = wait.json() as Promise<{ StatusCode: number }>;
  // The stream also ends when stdin did without StdinOnce (as Docker): the container runs on.
  if (end.detached || !await exitsSoon(c, id, status)) {
    status.catch(() => {}); // Never answered: the process ends first.
    return 0;
  }
  return (await status).StatusCode;
}

/** Whether the container's exit follows the end of its stream (else it runs on). */
async function exitsSoon(
  c: ApiClient,
  id: string,
  status: Promise<unknown>,
): Promise<boolean> {
  // An exit is recorded a few ms after the stream ends; a running container says so.
  let timer: ReturnType<typeof setTimeout> | undefined;
  const exited = await Promise.race([
    status.then(() => true, () => true),
    new Promise<false>((r) => timer = setTimeout(() => r(false), STREAM_END_GRACE_MS)),
  ]);
  clearTimeout(timer);
  if (exited) return true;
  const info = await c.json<{ State: { Running: boolean } }>("GET", `/containers/${enc(id)}/json`);
  return !info.State.Running;
}

/** How long after a stream's end an exit is waited for before the container is asked. */
const STREAM_END_GRACE_MS = 1000;

/**
 * Start the container; when that fails, remove it if it is `--rm`, say why and
 * end with docker run's exit code for the failure.
 */
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
