/**
 * Real Docker API clients, unmodified, against a real daemon: testcontainers
 * (through Deno's npm support), dockerode (on Node), docker-py (on Debian's
 * python3) and the docker CLI's prune and df. Each client runs as a program
 * of its own, as its users run it (tests/clients/), and prints what it saw;
 * the assertions are here. A missing client skips its test with a loud
 * warning, and fails it under CI (`CI` set), where scripts/setup.sh has
 * installed every client.
 * @module
 */
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { buildTar } from "../lib/image/_test_utils.ts";
import { Docker } from "./docker.ts";
import { DENO, integration, REPO, RUN_ARGS, type TestDaemon, withDaemon } from "./harness.ts";
import { skopeoPush, startRegistry } from "./registry.ts";

/** A client program a test needs, and how it gets installed. */
interface Client {
  name: string;
  present: boolean;
  install: string;
}

/** Whether `argv` runs and exits 0. */
function runs(argv: string[]): boolean {
  try {
    return new Deno.Command(argv[0], { args: argv.slice(1), stdout: "null", stderr: "null" })
      .outputSync().success;
  } catch {
    return false;
  }
}

const TESTCONTAINERS: Client = {
  name: "testcontainers",
  present: existsSync(join(REPO, "node_modules/testcontainers/package.json")),
  install: "npm install (a devDependency)",
};
const DOCKERODE: Client = {
  name: "dockerode on Node",
  present: existsSync(join(REPO, "node_modules/dockerode/package.json")) &&
    runs(["node", "--version"]),
  install: "npm install (a devDependency), and Node",
};
const DOCKER_CLI: Client = {
  name: "the docker CLI",
  present: runs(["docker", "--version"]),
  install: "apt-get install docker.io; scripts/setup.sh with CORRAL_WITH_DOCKER_CLI=1",
};
const PYTHON = "/usr/bin/python3";
const DOCKER_PY: Client = {
  name: "docker-py",
  present: runs([PYTHON, "-c", "import docker"]),
  install: "apt-get install python3-docker",
};

/** A test of `client`: skipped loudly without it, failed without it under CI. */
function clientTest(name: string, client: Client, fn: () => Promise<void>): void {
  if (client.present) {
    Deno.test(name, integration, fn);
    return;
  }
  const missing = `${client.name} is missing (${client.install})`;
  if (Deno.env.get("CI")) {
    Deno.test(name, () => {
      throw new Error(`${missing}: CI installs every client with scripts/setup.sh`);
    });
    return;
  }
  console.warn(`\n!!!!!!!! ${missing}: "${name}" is SKIPPED !!!!!!!!\n`);
  Deno.test({ name, ignore: true, fn });
}

/**
 * Run a client program against `d` with nothing of the caller's Docker
 * settings; its last line is the JSON of what it saw. A program that fails
 * or outlives two minutes fails the test, with the daemon's log.
 */
async function runClient(
  d: TestDaemon,
  argv: string[],
  env: Record<string, string> = {},
  // deno-lint-ignore no-explicit-any
): Promise<any> {
  const child = new Deno.Command(argv[0], {
    args: argv.slice(1),
    clearEnv: true,
    env: {
      PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin",
      HOME: Deno.env.get("HOME") ?? "/root",
      DOCKER_HOST: d.host,
      ...env,
    },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const timer = setTimeout(() => child.kill("SIGKILL"), 120_000);
  const out = await child.output();
  clearTimeout(timer);
  const dec = new TextDecoder();
  const stdout = dec.decode(out.stdout).trim();
  if (out.code !== 0) {
    throw new Error(
      `${argv.join(" ")} exited ${out.code}:\n${dec.decode(out.stderr)}${stdout}\n` +
        `--- daemon log ---\n${await d.log()}`,
    );
  }
  return JSON.parse(stdout.split("\n").at(-1)!);
}

/** A host directory with `in.txt`, for bind mounts. */
async function hostDir(d: TestDaemon): Promise<string> {
  const dir = join(d.dir, "shared");
  await Deno.mkdir(dir);
  await Deno.writeTextFile(join(dir, "in.txt"), "from host\n");
  return dir;
}

/** What no client may leave in the daemon's log: a client going away is not an error. */
async function assertNoErrorLogged(d: TestDaemon): Promise<void> {
  const errors = (await d.log()).split("\n").filter((l) => l.includes("[ERR]"));
  assert.deepEqual(errors, []);
}

clientTest(
  "testcontainers: wait strategies, exec, logs, stop; named, labelled, bind mounts; the reaper's pull",
  TESTCONTAINERS,
  () =>
    withDaemon(async (d) => {
      const since = Math.floor(Date.now() / 1000) - 1;
      const program = [DENO, ...RUN_ARGS, join(REPO, "tests/clients/testcontainers.ts")];
      const seen = await runClient(d, [...program, "use", await hostDir(d)], {
        TESTCONTAINERS_RYUK_DISABLED: "true",
      });
      assert.equal(seen.web.name, "/tc-web");
      assert.equal(seen.web.labels.suite, "clients");
      assert.equal(seen.web.exec.stdout, "from host\nhello\n");
      assert.equal(seen.web.exec.stderr, "err\n");
      assert.equal(seen.web.exec.exitCode, 3);
      assert.notEqual(seen.web.writeReadOnly, 0, "the bind mount is read-only");
      assert.equal(seen.web.logs, "ready\noops\n");
      assert.equal(seen.job.logs, "done\n");
      assert.equal(seen.server.hostname, `${seen.server.id.slice(0, 12)}\n`);
      assert.ok(d.net!.mentions(seen.server.ipAddress), seen.server.ipAddress);
      assert.match(seen.timeout, /never printed/);
      const health = await d.pastEvents(since, "type=container");
      assert.ok(health.some((e) => e.Action === "health_status: healthy"), "forHealthCheck");
      assert.deepEqual(await d.api.json("GET", "/containers/json?all=1"), [], "stop() removed");

      // With the reaper on, testcontainers' default, it pulls its image from Docker Hub,
      // which the tests' daemons never reach (LOOPBACK_ONLY).
      const reaper = await runClient(d, [...program, "ryuk"]);
      assert.match(reaper.error, /registry docker\.io unreachable/);
      await assertNoErrorLogged(d);
    }, { network: true }),
);

clientTest(
  "testcontainers starts an image that only a registry has: it is pulled through corral",
  TESTCONTAINERS,
  async () => {
    const reg = await startRegistry();
    try {
      await withDaemon(async (d) => {
        const archive = join(d.dir, "busybox.tar");
        await d.ok("save", "-o", archive, "busybox");
        const image = `${reg.host}/tc/only-in-registry:1`;
        await skopeoPush(`docker-archive:${archive}`, image);
        const program = [DENO, ...RUN_ARGS, join(REPO, "tests/clients/testcontainers.ts")];
        const seen = await runClient(d, [...program, "registry", image], {
          TESTCONTAINERS_RYUK_DISABLED: "true",
        });
        assert.equal(seen.logs, "started from the registry\n");
        const pulled = await d.api.json<{ RepoTags: string[] }>(
          "GET",
          `/images/${encodeURIComponent(image)}/json`,
        );
        assert.deepEqual(pulled.RepoTags, [image]);
        await assertNoErrorLogged(d);
        // In a container (/.dockerenv) testcontainers looks up the bridge network.
      }, { network: true });
    } finally {
      await reg.stop();
    }
  },
);

Deno.test(
  "what testcontainers reads: the bridge network's gateway, every field of NetworkSettings",
  integration,
  () =>
    withDaemon(async (d) => {
      // Inside a container (/.dockerenv) testcontainers asks for IPAM.Config[].Gateway.
      // deno-lint-ignore no-explicit-any
      const bridge = await d.api.json<any>("GET", "/networks/bridge");
      assert.equal(bridge.Name, "bridge");
      assert.equal(bridge.Driver, "bridge");
      const gateway = d.net!.subnets[0].replace(".0/24", ".1");
      assert.deepEqual(bridge.IPAM.Config, [{ Subnet: d.net!.subnets[0], Gateway: gateway }]);
      assert.deepEqual(bridge.Containers, {});
      assert.deepEqual(await d.api.json("GET", `/networks/${bridge.Id.slice(0, 12)}`), bridge);
      const names = (await d.api.json<{ Name: string }[]>("GET", "/networks")).map((n) => n.Name);
      assert.deepEqual(names, ["bridge", "host", "none"]);
      assert.equal((await d.api.request("GET", "/networks/nope")).status, 404);

      await d.ok("run", "-d", "--name", "web", "-p", "80", "busybox", "sleep", "60");
      const ins = await d.inspect("web");
      // deno-lint-ignore no-explicit-any
      const net = ins.NetworkSettings as any;
      const [binding] = net.Ports["80/tcp"];
      assert.equal(binding.HostIp, "0.0.0.0");
      assert.match(binding.HostPort, /^\d+$/);
      assert.deepEqual(Object.keys(net.Networks), ["bridge"]);
      assert.equal(net.Networks.bridge.IPAddress, net.IPAddress);
      assert.equal(net.Gateway, gateway);
      assert.equal(net.IPPrefixLen, 24);
      assert.match(net.MacAddress, /^([0-9a-f]{2}:){5}[0-9a-f]{2}$/);
      assert.equal(net.SandboxKey, join(d.state, "netns", ins.Id));
      // deno-lint-ignore no-explicit-any
      const [summary] = await d.api.json<any[]>("GET", "/containers/json");
      assert.deepEqual(summary.Ports, [{
        IP: "0.0.0.0",
        PrivatePort: 80,
        PublicPort: Number(binding.HostPort),
        Type: "tcp",
      }]);
    }, { network: true }),
);

clientTest(
  "dockerode on Node: create with a name, start, logs, exec, kill, remove, list with filters",
  DOCKERODE,
  () =>
    withDaemon(async (d) => {
      const seen = await runClient(d, [
        "node",
        join(REPO, "tests/clients/dockerode.mjs"),
        await hostDir(d),
      ]);
      assert.deepEqual(seen.inspect, { name: "/dm-web", ports: {} });
      assert.deepEqual(seen.logs, { stdout: "ready\n", stderr: "oops\n" });
      assert.deepEqual(seen.exec, { stdout: "from host\n", stderr: "err\n", exitCode: 3 });
      assert.equal(seen.wait, "abandoned");
      assert.deepEqual(seen.list, {
        label: ["/dm-web"],
        name: ["/dm-other"],
        running: ["/dm-web"],
        last: ["/dm-other"],
      });
      assert.equal(seen.killed, "exited", "kill returns once the container has exited");
      assert.deepEqual(seen.left, []);
      assert.equal(seen.bridge, "bridge");
      assert.deepEqual(seen.dangling, []);
      // The exec's output and the wait were closed early: normal, not logged as errors.
      await assertNoErrorLogged(d);
    }, { network: true }),
);

clientTest(
  "docker-py: run detached, logs, exec_run, attach_socket, bind mounts, volumes, kill then remove ×10, images, prune",
  DOCKER_PY,
  () =>
    withDaemon(async (d) => {
      const seen = await runClient(d, [
        PYTHON,
        join(REPO, "tests/clients/docker_py.py"),
        await hostDir(d),
      ]);
      assert.deepEqual(seen.exec, [0, "from host\n"]);
      assert.deepEqual(seen.exec_list_form, [0, "from host\n"]);
      assert.notEqual(seen.write_read_only, 0, "the bind mount is read-only");
      assert.equal(seen.logs, "ready\n");
      assert.deepEqual(seen.attach_socket, [1, "via-socket\n"], "a stdout frame of what was sent");
      assert.equal(seen.after_kill_remove, 2, "every killed container removed at once");
      assert.equal(seen.volume_read, "persisted\n");
      assert.deepEqual(seen.volume_labels, { suite: "docker-py" });
      assert.deepEqual(seen.anonymous, [["volume", "/cache", "local"]]);
      assert.equal(seen.in_use[0], 409);
      assert.match(seen.in_use[1], /^remove py-data: volume is in use - \[[0-9a-f]{64}\]$/);
      assert.equal(seen.volume_prune, 1, "the unused anonymous volume, not the one in use");
      assert.deepEqual(seen.volumes_left, []);
      assert.match(seen.pull, /registry docker\.io unreachable/, "Docker Hub is never reached");
      assert.deepEqual(seen.dangling, []);
      assert.deepEqual(seen.images, [["busybox:latest"]]);
      assert.deepEqual(seen.image_prune, { ImagesDeleted: [], SpaceReclaimed: 0 });
      assert.deepEqual(seen.container_prune, { ContainersDeleted: [], SpaceReclaimed: 0 });
      assert.deepEqual(seen.networks, ["bridge", "host", "none"]);
      assert.deepEqual(seen.df, ["BuildCache", "Containers", "Images", "LayersSize", "Volumes"]);
    }, { network: true }),
);

clientTest(
  "docker CLI: images filters, history, ps -l and -n, system df, system prune, image prune",
  DOCKER_CLI,
  () =>
    withDaemon(async (d) => {
      const docker = new Docker(d);
      const importAsApp = async (content: string) => {
        const tar = await buildTar([{ path: "f", data: content }]);
        const r = await docker.exec(["import", "-", "app:1"], { stdin: tar });
        assert.equal(r.code, 0, r.stderr);
        return r.stdout.trim();
      };
      const first = await importAsApp("one\n");
      const second = await importAsApp("two\n"); // Takes the tag: the first is dangling.
      const images = (...filters: string[]) =>
        docker.lines("images", "--format", "{{.Repository}}:{{.Tag}}", ...filters);
      assert.deepEqual(await images("-f", "dangling=true"), ["<none>:<none>"]);
      assert.deepEqual(await images("-f", "dangling=false"), ["app:1", "busybox:latest"]);
      assert.deepEqual(await images("-f", "reference=app*"), ["app:1"]);
      assert.deepEqual(await images("-f", "label=nope"), []);
      assert.deepEqual(await docker.lines("history", "-q", "--no-trunc", "app:1"), [second]);

      await docker.ok("run", "-d", "--name", "up", "busybox", "sleep", "60");
      const done = await docker.ok("run", "-d", "--name", "done", "busybox", "true");
      await d.untilStatus("done", "exited");
      const ps = (...flags: string[]) => docker.lines("ps", ...flags, "--format", "{{.Names}}");
      assert.deepEqual(await ps("-l"), ["done"]);
      assert.deepEqual(await ps("-n", "2"), ["done", "up"]);
      assert.deepEqual(await ps(), ["up"]);

      assert.deepEqual(
        await docker.lines("system", "df", "--format", "{{.Type}} {{.TotalCount}} {{.Active}}"),
        ["Images 3 1", "Containers 2 1", "Local Volumes 0 0", "Build Cache 0 0"],
      );
      // The stopped container and the dangling image; the build cache, of which there is none.
      const pruned = await docker.ok("system", "prune", "-f");
      assert.match(pruned, new RegExp(`Deleted Containers:\n${done}`));
      assert.match(pruned, new RegExp(`deleted: ${first}`));
      assert.deepEqual(await images("-f", "dangling=true"), []);
      assert.match(await docker.ok("image", "prune", "-f"), /Total reclaimed space: 0B/);
      // -a: every image no container uses; busybox is used by "up".
      assert.match(await docker.ok("image", "prune", "-a", "-f"), /untagged: app:1/);
      assert.deepEqual(await images(), ["busybox:latest"]);
    }),
);

Deno.test(
  "every Docker route corral does not serve answers a JSON message naming the command",
  integration,
  () =>
    withDaemon(async (d) => {
      const routes: [string, string, RegExp][] = [
        ["POST", "/containers/x/pause", /docker pause/],
        ["GET", "/containers/x/changes", /docker diff/],
        ["PUT", "/containers/x/archive", /docker cp/],
        ["GET", "/containers/x/attach/ws", /docker attach/],
        ["POST", "/commit", /docker commit/],
        ["POST", "/build", /docker build/],
        ["GET", "/images/search?term=x", /docker search/],
        ["GET", "/distribution/alpine/json", /docker manifest/],
        ["GET", "/plugins", /docker plugin/],
        ["POST", "/swarm/init", /docker swarm/],
        ["GET", "/services", /docker service/],
        ["GET", "/nodes/x", /docker node/],
        ["POST", "/networks/create", /network create: a name is required/],
        ["POST", "/networks/host/connect", /network mode \(--network host\)/],
        ["DELETE", "/networks/none", /none is a pre-defined network/],
        ["PUT", "/containers/x/start", /method PUT not allowed .* it takes POST/],
      ];
      for (const [method, path, words] of routes) {
        const res = await d.api.request(method, path);
        assert.ok(res.status >= 400 && res.status < 500, `${method} ${path}: ${res.status}`);
        const { message } = await res.json();
        assert.match(message, words, `${method} ${path}`);
      }
      const head = await d.api.request("HEAD", "/containers/x/archive");
      await head.body?.cancel();
      assert.equal(head.status, 400, "HEAD /containers/x/archive (docker cp) is refused");
    }),
);
