/**
 * A testcontainers program as a user writes one, run by tests/clients_test.ts
 * against a test daemon (`DOCKER_HOST`); it prints what it saw as one JSON
 * object. `deno run -A testcontainers.ts use HOST_DIR` uses containers (with
 * `TESTCONTAINERS_RYUK_DISABLED=true`); `deno run -A testcontainers.ts
 * ryuk` starts one with the reaper on, testcontainers' default, and reports
 * the error; `deno run -A testcontainers.ts registry IMAGE` starts IMAGE,
 * which only a registry has, and reports its log.
 * @module
 */
import type { Readable } from "node:stream";
import { GenericContainer, Wait } from "testcontainers";

/**
 * What a log stream gives: until `text` is in it, or else until its end (a
 * container that exited). Waiting longer than 20 s fails.
 */
function readLog(stream: Readable, text?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let seen = "";
    const timer = setTimeout(() => reject(new Error(`the log stream stalled at: ${seen}`)), 20_000);
    const done = () => {
      clearTimeout(timer);
      stream.destroy();
      resolve(seen);
    };
    stream.on("data", (chunk: string) => {
      seen += chunk;
      if (text !== undefined && seen.includes(text)) done();
    });
    stream.on("end", done);
  });
}

/** Containers used the ways testcontainers' users use them. */
async function use(hostDir: string): Promise<Record<string, unknown>> {
  const web = await new GenericContainer("busybox")
    .withName("tc-web")
    .withLabels({ suite: "clients" })
    .withEnvironment({ GREETING: "hello" })
    .withBindMounts([{ source: hostDir, target: "/data", mode: "ro" }])
    .withCommand(["sh", "-c", "echo ready; echo oops >&2; exec sleep 600"])
    .withWaitStrategy(Wait.forLogMessage("ready"))
    .start();
  const report: Record<string, unknown> = {
    web: {
      name: web.getName(),
      labels: web.getLabels(),
      exec: await web.exec(["sh", "-c", "cat /data/in.txt; echo $GREETING; echo err >&2; exit 3"]),
      writeReadOnly: (await web.exec(["touch", "/data/new"])).exitCode,
      logs: await readLog(await web.logs(), "oops"),
    },
  };
  const healthy = await new GenericContainer("busybox")
    .withCommand(["sh", "-c", "sleep 1; touch /tmp/up; exec sleep 600"])
    .withHealthCheck({
      test: ["CMD-SHELL", "test -f /tmp/up"],
      interval: 100,
      timeout: 1000,
      retries: 100,
      startPeriod: 0,
    })
    .withWaitStrategy(Wait.forHealthCheck())
    .start();
  // A server on an exposed port, reached from the host as testcontainers users do.
  const server = await new GenericContainer("busybox")
    .withExposedPorts(80)
    .withCommand(["httpd", "-f", "-p", "80", "-h", "/etc"])
    .withWaitStrategy(Wait.forHttp("/hostname", 80))
    .start();
  const url = `http://${server.getHost()}:${server.getMappedPort(80)}/hostname`;
  report.server = {
    id: server.getId(),
    hostname: await (await fetch(url)).text(),
    ipAddress: server.getIpAddress("bridge"),
  };
  const job = await new GenericContainer("busybox")
    .withCommand(["sh", "-c", "echo done"])
    .withWaitStrategy(Wait.forOneShotStartup())
    .start();
  // The log of a container that has exited: everything, then the end.
  report.job = { logs: await readLog(await job.logs()) };
  // A wait that times out: testcontainers stops and removes the container.
  report.timeout = await new GenericContainer("busybox")
    .withCommand(["sh", "-c", "exec sleep 600"])
    .withWaitStrategy(Wait.forLogMessage("never printed"))
    .withStartupTimeout(1000)
    .start()
    .then(() => null, (err: Error) => err.message);
  // stop() removes the container too.
  for (const c of [job, healthy, web, server]) await c.stop();
  return report;
}

/** With the reaper on, its image is the first one testcontainers starts. */
async function ryuk(): Promise<Record<string, unknown>> {
  const error = await new GenericContainer("busybox").withCommand(["true"]).start()
    .then(() => null, (err: Error) => err.message);
  return { error };
}

/** An image testcontainers has to pull first. */
async function fromRegistry(image: string): Promise<Record<string, unknown>> {
  const job = await new GenericContainer(image)
    .withCommand(["sh", "-c", "echo started from the registry"])
    .withWaitStrategy(Wait.forOneShotStartup())
    .start();
  const logs = await readLog(await job.logs());
  await job.stop();
  return { logs };
}

const [mode, arg] = Deno.args;
console.log(JSON.stringify(
  mode === "ryuk" ? await ryuk() : mode === "registry" ? await fromRegistry(arg) : await use(arg),
));
