/**
 * Container networking on the real CNI plugins, real namespaces and real
 * iptables, through the daemon: published ports answering on 127.0.0.1,
 * user-defined networks with names, network modes, daemon SIGKILL and host
 * reboot, and a teardown that fails and is retried by the gc. Each daemon
 * has its own bridge and block of 198.18.0.0/15 (the harness reserves it);
 * traffic goes only between the test's containers and to 127.0.0.1, and the
 * harness checks no veth, namespace, lease or iptables rule is left.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import {
  freePort,
  httpGet,
  integration,
  simulateReboot,
  TestDaemon,
  withDaemon,
} from "./harness.ts";

const net = { network: true } as const;

/** busybox httpd serving the container's /etc (its hostname file names it). */
const HTTPD = ["busybox", "httpd", "-f", "-p", "80", "-h", "/etc"];

Deno.test(
  "a published port answers on 127.0.0.1; -p PORT picks a free one; a taken port is refused, the first keeps it",
  integration,
  () =>
    withDaemon(async (d) => {
      const port = freePort();
      const web = await d.ok("run", "-d", "--name", "web", "-p", `127.0.0.1:${port}:80`, ...HTTPD);
      assert.equal(await httpGet(port, "hostname"), `${web.slice(0, 12)}\n`);
      assert.equal(await d.ok("port", "web"), `80/tcp -> 127.0.0.1:${port}`);
      assert.match(await d.ok("ps"), new RegExp(`127\\.0\\.0\\.1:${port}->80/tcp\\s+web`));

      const info = await d.inspect("web") as unknown as {
        NetworkSettings: {
          IPAddress: string;
          Gateway: string;
          Ports: Record<string, { HostIp: string; HostPort: string }[]>;
          Networks: Record<string, { IPAddress: string; Gateway: string; NetworkID: string }>;
        };
        HostConfig: { NetworkMode: string };
      };
      const ns = info.NetworkSettings;
      assert.equal(info.HostConfig.NetworkMode, "bridge");
      assert.ok(d.net!.mentions(ns.IPAddress), ns.IPAddress);
      assert.equal(ns.Gateway, d.net!.subnets[0].replace(".0/24", ".1"));
      assert.deepEqual(ns.Ports, { "80/tcp": [{ HostIp: "127.0.0.1", HostPort: String(port) }] });
      assert.equal(ns.Networks.bridge.IPAddress, ns.IPAddress);
      const bridge = await d.api.json<{ Id: string; IPAM: { Config: { Gateway: string }[] } }>(
        "GET",
        "/networks/bridge",
      );
      assert.equal(bridge.IPAM.Config[0].Gateway, ns.Gateway);
      assert.equal(ns.Networks.bridge.NetworkID, bridge.Id);
      // docker stats' NET I/O: the container's eth0 served the requests above.
      const stats = await d.api.json<
        { networks: Record<string, { rx_bytes: number; tx_bytes: number }> }
      >(
        "GET",
        "/containers/web/stats?stream=false&one-shot=true",
      );
      assert.deepEqual(Object.keys(stats.networks), ["eth0"]);
      assert.ok(stats.networks.eth0.tx_bytes > 0 && stats.networks.eth0.rx_bytes > 0);

      // The port is the first container's: a second one fails to start, clearly.
      const second = await d.cli("run", "-d", "-p", `127.0.0.1:${port}:80`, ...HTTPD);
      assert.notEqual(second.code, 0);
      assert.match(
        second.stderr,
        new RegExp(`127.0.0.1:${port} failed: port is already allocated`),
      );
      assert.equal(await httpGet(port, "hostname"), `${web.slice(0, 12)}\n`);

      // -p 80: a free host port, on every address; another container reaches
      // the server on its address, and on the host's published port.
      const other = await d.ok("run", "-d", "-p", "80", ...HTTPD);
      const [, published] = (await d.ok("port", other, "80")).split(":");
      assert.equal(await httpGet(Number(published), "hostname"), `${other.slice(0, 12)}\n`);
      const fetched = await d.ok(
        "run",
        "--rm",
        "busybox",
        "wget",
        "-q",
        "-O-",
        `http://${ns.IPAddress}/hostname`,
      );
      assert.equal(fetched, web.slice(0, 12));
    }, net),
);

Deno.test(
  "-P publishes the image's EXPOSE ports; a restarted container keeps its published ports",
  integration,
  () =>
    withDaemon(async (d) => {
      const rootfs = join(d.dir, "rootfs");
      await Deno.mkdir(join(rootfs, "bin"), { recursive: true });
      await Deno.copyFile("/bin/busybox", join(rootfs, "bin/busybox"));
      await Deno.mkdir(join(rootfs, "etc"));
      await Deno.writeTextFile(join(rootfs, "etc/hello"), "exposed\n");
      const tar = await new Deno.Command("tar", { args: ["-C", rootfs, "-c", "."] }).output();
      const changes = [
        "EXPOSE 80/tcp 9000",
        'CMD ["/bin/busybox", "httpd", "-f", "-p", "80", "-h", "/etc"]',
      ]
        .map((c) => `changes=${encodeURIComponent(c)}`).join("&");
      const res = await d.api.request(
        "POST",
        `/images/create?fromSrc=-&repo=exposed&tag=1&${changes}`,
        tar.stdout,
      );
      assert.equal(res.status, 200, await res.text());
      const image = await d.api.json<{ Config: { ExposedPorts: Record<string, unknown> } }>(
        "GET",
        "/images/exposed:1/json",
      );
      assert.deepEqual(image.Config.ExposedPorts, { "80/tcp": {}, "9000/tcp": {} });

      const id = await d.ok("run", "-d", "-P", "--restart", "always", "exposed:1");
      const lines = (await d.ok("port", id)).split("\n").sort();
      assert.equal(lines.length, 2, lines.join("\n"));
      const port = Number(lines[0].match(/^80\/tcp -> 0\.0\.0\.0:(\d+)$/)![1]);
      assert.equal(await httpGet(port, "hello"), "exposed\n");

      // Killed, restarted by its policy: the same ports.
      const before = await d.ok("port", id);
      const pid = (await d.inspect(id)).State.Pid;
      Deno.kill(pid, "SIGKILL");
      await d.until(
        async () => {
          const st = (await d.inspect(id)).State;
          return st.Running && st.Pid !== pid;
        },
        15_000,
        "restarted",
      );
      assert.equal(await d.ok("port", id), before);
      assert.equal(await httpGet(port, "hello"), "exposed\n");
      await d.ok("restart", "-t", "0", id);
      assert.equal(await d.ok("port", id), before);
    }, net),
);

Deno.test(
  "containers on a user-defined network reach each other by name, alias and short id; other networks do not resolve",
  integration,
  () =>
    withDaemon(async (d) => {
      await d.ok("network", "create", "backend");
      await d.ok("network", "create", "other");
      const db = await d.ok(
        "run",
        "-d",
        "--name",
        "db",
        "--network",
        "backend",
        "--network-alias",
        "database",
        "busybox",
        "sleep",
        "300",
      );
      const app = await d.ok(
        "run",
        "-d",
        "--name",
        "app",
        "--network",
        "backend",
        "busybox",
        "sleep",
        "300",
      );
      for (const name of ["db", "database", db.slice(0, 12)]) {
        await d.ok("exec", "app", "ping", "-c1", "-W2", name);
      }
      // The one started first knows the one started later.
      await d.ok("exec", "db", "ping", "-c1", "-W2", "app");
      await d.ok("exec", "db", "ping", "-c1", "-W2", app.slice(0, 12));
      // Another network's containers are not named, nor reached.
      const outsider = await d.cli(
        "run",
        "--rm",
        "--network",
        "other",
        "busybox",
        "ping",
        "-c1",
        "-W1",
        "db",
      );
      assert.notEqual(outsider.code, 0);
      assert.match(outsider.stdout + outsider.stderr, /bad address 'db'/);

      // connect: the outsider network's container joins, and is known.
      const late = await d.ok(
        "run",
        "-d",
        "--name",
        "late",
        "--network",
        "other",
        "busybox",
        "sleep",
        "300",
      );
      await d.ok("network", "connect", "--alias", "tardy", "backend", "late");
      await d.ok("exec", "late", "ping", "-c1", "-W2", "db");
      await d.ok("exec", "app", "ping", "-c1", "-W2", "tardy");
      await d.ok("network", "disconnect", "backend", "late");
      const gone = await d.cli("exec", "app", "ping", "-c1", "-W1", "late");
      assert.notEqual(gone.code, 0);
      assert.equal((await d.inspect(late)).State.Running, true);

      // A network in use is not removed; ls, inspect and prune as Docker's.
      const rm = await d.cli("network", "rm", "backend");
      assert.notEqual(rm.code, 0);
      assert.match(rm.stderr, /has active endpoints/);
      const inspect = JSON.parse(await d.ok("network", "inspect", "backend"))[0];
      assert.deepEqual(
        Object.values(inspect.Containers as Record<string, { Name: string }>).map((c) => c.Name)
          .sort(),
        ["app", "db"],
      );
      assert.ok(d.net!.mentions(inspect.IPAM.Config[0].Subnet), inspect.IPAM.Config[0].Subnet);
      assert.match(await d.ok("network", "ls"), /backend\s+bridge\s+local/);
      await d.ok("rm", "-f", "db", "app", "late");
      assert.equal(await d.ok("network", "prune", "-f"), "Deleted Networks:\nbackend\nother");
      assert.doesNotMatch(await d.ok("network", "ls"), /backend|other/);
    }, net),
);

Deno.test(
  "network modes: none has only a loopback, host shares the host's, container:ID shares another's",
  integration,
  () =>
    withDaemon(async (d) => {
      const none = await d.ok(
        "run",
        "--rm",
        "--network",
        "none",
        "busybox",
        "ls",
        "/sys/class/net",
      );
      assert.equal(none, "lo");
      const host = await d.ok(
        "run",
        "--rm",
        "--network",
        "host",
        "busybox",
        "ls",
        "/sys/class/net",
      );
      assert.match(host, new RegExp(`\\b${d.bridge}\\b`));
      const port = freePort();
      await d.ok("run", "-d", "--name", "web", "-p", `127.0.0.1:${port}:80`, ...HTTPD);
      await httpGet(port, "hostname");
      const shared = await d.ok(
        "run",
        "--rm",
        "--network",
        "container:web",
        "busybox",
        "wget",
        "-q",
        "-O-",
        "http://127.0.0.1/hostname",
      );
      assert.equal(shared, (await d.inspect("web")).Id.slice(0, 12));
      // Bad input: one clear line, nothing created.
      for (
        const [args, message] of [
          [["--network", "nope"], /network nope not found/],
          [["--network", "container:nope"], /No such container: nope/],
          [["-p", "127.0.0.1:99999:80"], /invalid port/],
          [["--network-alias", "x"], /need --network NAME/],
          [["--network", "bridge", "--ip", "198.18.0.9"], /user-defined networks/],
        ] as [string[], RegExp][]
      ) {
        const r = await d.cli("create", ...args, "busybox", "true");
        assert.notEqual(r.code, 0, args.join(" "));
        assert.match(r.stderr, message, args.join(" "));
        assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
      }
      assert.equal((await d.ok("ps", "-a", "-q")).split("\n").length, 1, "only web");
    }, net),
);

Deno.test(
  "a daemon SIGKILL keeps containers reachable; exits while down are torn down at restore",
  integration,
  () =>
    withDaemon(async (d) => {
      const port = freePort();
      const web = await d.ok("run", "-d", "-p", `127.0.0.1:${port}:80`, ...HTTPD);
      const doomed = await d.ok("run", "-d", "-p", "80", "busybox", "sleep", "300");
      await httpGet(port, "hostname");
      const doomedPid = (await d.inspect(doomed)).State.Pid;
      await d.kill9();
      assert.equal(await httpGet(port, "hostname"), `${web.slice(0, 12)}\n`);
      Deno.kill(doomedPid, "SIGKILL");
      await d.start();
      await d.untilStatus(doomed, "exited");
      assert.equal(await httpGet(port, "hostname"), `${web.slice(0, 12)}\n`);
      assert.deepEqual(await d.networkLeaksOf(doomed), []);
      // The restored container still holds its port.
      const taken = await d.cli("run", "-d", "-p", `127.0.0.1:${port}:80`, "busybox", "true");
      assert.match(taken.stderr, /port is already allocated/);
    }, net),
);

Deno.test(
  "after a host reboot a container started again by its policy gets its network and ports back",
  integration,
  () =>
    withDaemon(async (d) => {
      const port = freePort();
      const id = await d.ok(
        "run",
        "-d",
        "--restart",
        "always",
        "-p",
        `127.0.0.1:${port}:80`,
        ...HTTPD,
      );
      await httpGet(port, "hostname");
      await simulateReboot(d, [id]);
      await d.start();
      await d.until(async () => (await d.inspect(id)).RestartCount === 1, 15_000, "started again");
      assert.equal(await httpGet(port, "hostname"), `${id.slice(0, 12)}\n`);
      assert.equal(await d.ok("port", id), `80/tcp -> 127.0.0.1:${port}`);
    }, net),
);

Deno.test(
  "a network teardown that fails puts the container in the gc, which retries until it succeeds",
  integration,
  async () => {
    // The real plugins, but `bridge` fails DEL while the marker exists.
    const cni = await Deno.makeTempDir({ prefix: "corral-cni-" });
    const marker = join(cni, "fail-del");
    try {
      for (const e of Deno.readDirSync("/usr/lib/cni")) {
        if (e.name !== "bridge") await Deno.symlink(`/usr/lib/cni/${e.name}`, join(cni, e.name));
      }
      await Deno.writeTextFile(
        join(cni, "bridge"),
        `#!/bin/sh\nif [ "$CNI_COMMAND" = DEL ] && [ -e ${marker} ]; then\n` +
          `  echo '{"cniVersion":"1.0.0","code":11,"msg":"injected DEL failure"}'; exit 1\nfi\n` +
          `exec /usr/lib/cni/bridge\n`,
        { mode: 0o755 },
      );
      await withDaemon(async (d) => {
        const id = await d.ok("run", "-d", "-p", "80", "busybox", "sleep", "300");
        await Deno.writeTextFile(marker, "");
        await d.ok("kill", id);
        await d.untilStatus(id, "gc");
        assert.match((await d.inspect(id)).State.GC!.LastError, /injected DEL failure/);
        assert.match(await d.ok("gc"), new RegExp(id.slice(0, 12)));
        // Across a daemon restart too.
        await d.stop();
        await d.start();
        assert.equal((await d.inspect(id)).State.Status, "gc");
        await Deno.remove(marker);
        await d.untilStatus(id, "exited", 20_000);
        assert.deepEqual(await d.networkLeaksOf(id), []);
      }, { ...net, args: ["--cni-path", cni] });
    } finally {
      await Deno.remove(cni, { recursive: true });
    }
  },
);

Deno.test(
  "run --rm -p churn leaves no veth, namespace, lease or rule (checked by the harness)",
  integration,
  () =>
    withDaemon(async (d) => {
      for (let i = 0; i < 10; i++) {
        assert.equal(
          await d.ok("run", "--rm", "-p", "80", "busybox", "echo", String(i)),
          String(i),
        );
      }
      assert.deepEqual(await d.networkLeaks(), []);
    }, net),
);

Deno.test(
  "a daemon whose --bip collides with a route of the host does not start, and says which",
  integration,
  () =>
    withDaemon(async (d) => {
      // d's bridge routes its subnet: a second daemon asking for it must refuse.
      const taken = d.net!.subnets[0].replace(".0/24", ".1/24");
      const dir = await Deno.makeTempDir({ prefix: "corral-test-" });
      const other = new TestDaemon(dir, ["--bridge", `cr-x${dir.slice(-6)}`, "--bip", taken]);
      try {
        await assert.rejects(other.start(), (err: Error) => {
          const route = `the host's route ${d.net!.subnets[0]} on ${d.bridge}`;
          assert.ok(err.message.includes(route), err.message);
          return true;
        });
      } finally {
        await other.cleanup().catch(() => {});
      }
    }, net),
);
