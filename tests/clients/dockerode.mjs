/**
 * A dockerode program as a user writes one, run with Node by
 * tests/clients_test.ts against a test daemon (`DOCKER_HOST`):
 * `node dockerode.mjs HOST_DIR`. It prints what it saw as one JSON object.
 * @module
 */
import { PassThrough } from "node:stream";
import Docker from "dockerode";

const docker = new Docker();
const hostDir = process.argv[2];

/** stdout and stderr of a multiplexed stream, until `text` is in one (then it is closed) or it ends. */
function demuxed(stream, text) {
  return new Promise((resolve, reject) => {
    const seen = { stdout: "", stderr: "" };
    const timer = setTimeout(
      () => reject(new Error(`the stream stalled at: ${JSON.stringify(seen)}`)),
      20_000,
    );
    const done = () => {
      clearTimeout(timer);
      stream.destroy();
      resolve(seen);
    };
    const outputs = { stdout: new PassThrough(), stderr: new PassThrough() };
    let ended = 0;
    for (const [name, output] of Object.entries(outputs)) {
      output.on("data", (chunk) => {
        seen[name] += chunk;
        if (text !== undefined && seen[name].includes(text)) done();
      });
      // Done once both have handed over what the stream carried.
      output.on("end", () => ++ended === 2 && done());
    }
    docker.modem.demuxStream(stream, outputs.stdout, outputs.stderr);
    stream.on("end", () => Object.values(outputs).forEach((o) => o.end()));
  });
}

/** Run `cmd` in `container`: its output and exit code. */
async function exec(container, cmd) {
  const e = await container.exec({ Cmd: cmd, AttachStdout: true, AttachStderr: true });
  const output = await demuxed(await e.start({}));
  return { ...output, exitCode: (await e.inspect()).ExitCode };
}

const report = {};
// `name` goes in the query, and stays in the body, which Docker ignores.
const web = await docker.createContainer({
  name: "dm-web",
  Image: "busybox",
  Cmd: ["sh", "-c", "echo ready; echo oops >&2; exec sleep 600"],
  Labels: { suite: "dockerode" },
  HostConfig: { Binds: [`${hostDir}:/data:ro`] },
});
await web.start();
const info = await web.inspect();
report.inspect = { name: info.Name, ports: info.NetworkSettings.Ports };
report.logs = await demuxed(
  await web.logs({ follow: true, stdout: true, stderr: true, tail: -1 }),
  "oops",
);
report.exec = await exec(web, ["sh", "-c", "cat /data/in.txt; echo err >&2; exit 3"]);

// Clients that go away early: an exec's output, a wait.
const flood = await web.exec({ Cmd: ["sh", "-c", "yes | head -c 5000000"], AttachStdout: true });
const floodStream = await flood.start({});
await new Promise((resolve) => floodStream.once("data", resolve));
floodStream.destroy();
const abandon = new AbortController();
const waiting = web.wait({ abortSignal: abandon.signal }).catch(() => "abandoned");
setTimeout(() => abandon.abort(), 200);
report.wait = await waiting;

const other = await docker.createContainer({ name: "dm-other", Image: "busybox", Cmd: ["true"] });
const names = async (opts) => (await docker.listContainers(opts)).map((c) => c.Names[0]);
report.list = {
  label: await names({ all: true, filters: { label: ["suite=dockerode"] } }),
  name: await names({ all: true, filters: { name: ["dm-other"] } }),
  running: await names({ filters: { status: ["running"] } }),
  last: await names({ limit: 1 }),
};
await web.kill();
report.killed = (await web.inspect()).State.Status;
await web.remove();
await other.remove();
report.left = await names({ all: true });
report.bridge = (await docker.getNetwork("bridge").inspect()).Driver;
report.dangling = await docker.listImages({ filters: { dangling: ["true"] } });
console.log(JSON.stringify(report));
