/**
 * The network module on the real CNI plugins, real namespaces and real
 * iptables. Each test has its own bridge and a subnet of 198.18.0.0/15, sends
 * traffic only between its own namespaces and to 127.0.0.1, and removes what
 * it made.
 */
import assert from "node:assert/strict";
import { inNetns, randomHex, reserveTestBlock, withTestNet } from "./_test_net.ts";
import { NetworkManager } from "./manager.ts";
import { parsePortSpecs } from "./ports.ts";
import { ipCommand } from "./networks.ts";
import { spawnClean } from "../sys/mod.ts";
import { errorKind } from "../errdefs/mod.ts";

Deno.test("two namespaces on one network get addresses and reach each other", async () => {
  await withTestNet(async ({ manager, newContainer, subnet }) => {
    const a = await newContainer();
    const b = await newContainer();
    const ea = await manager.attach(a.id, a.netns, { network: "bridge" });
    const eb = await manager.attach(b.id, b.netns, { network: "bridge" });
    const prefix = subnet.split(".").slice(0, 3).join(".");
    assert.ok(ea.IPAddress.startsWith(prefix) && eb.IPAddress.startsWith(prefix));
    assert.notEqual(ea.IPAddress, eb.IPAddress);
    assert.equal(ea.Gateway, `${prefix}.1`);
    assert.equal(ea.IPPrefixLen, 24);
    assert.match(ea.MacAddress, /^([0-9a-f]{2}:){5}[0-9a-f]{2}$/);
    assert.match(ea.EndpointID, /^[0-9a-f]{64}$/);
    assert.equal(ea.NetworkID, manager.inspect("bridge").Id);
    await inNetns(a.netns, ["busybox", "ping", "-c1", "-W1", eb.IPAddress]);
    await inNetns(b.netns, ["busybox", "ping", "-c1", "-W1", ea.IPAddress]);
    // The loopback plugin brought lo up.
    await inNetns(a.netns, ["busybox", "ping", "-c1", "-W1", "127.0.0.1"]);
    const containers = manager.inspect("bridge", (id) => id === a.id ? "a" : "b").Containers;
    assert.equal(containers[a.id].Name, "a");
    assert.equal(containers[b.id].IPv4Address, `${eb.IPAddress}/24`);
    assert.deepEqual(manager.endpoints(a.id), { bridge: ea });
  });
});

/** Serve `hello` over HTTP on port 80 inside a namespace (busybox httpd, foreground). */
async function serveHello(netns: string): Promise<{ stop(): Promise<void> }> {
  const dir = await Deno.makeTempDir({ prefix: "corral-net-www-" });
  await Deno.writeTextFile(`${dir}/hello`, "hello from the netns\n");
  const child = spawnClean("nsenter", {
    args: [`--net=${netns}`, "busybox", "httpd", "-f", "-p", "80", "-h", dir],
    stdout: "null",
    stderr: "null",
  });
  let exited = false;
  child.status.then(() => exited = true);
  const stop = async () => {
    if (!exited) child.kill("SIGKILL");
    await child.status;
    await Deno.remove(dir, { recursive: true });
  };
  // Wait until it listens (the namespace's own loopback answers), failing
  // plainly if it exits or never does, rather than at the test's next step.
  const deadline = Date.now() + 30_000;
  for (;;) {
    const ok = await inNetns(netns, ["busybox", "wget", "-q", "-O-", "http://127.0.0.1/hello"])
      .then(() => true, () => false);
    if (ok) return { stop };
    if (exited || Date.now() > deadline) {
      await stop();
      throw new Error(`busybox httpd in ${netns} ${exited ? "exited" : "never answered"}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

Deno.test("a published port reaches a server in the namespace from the host and other containers", async () => {
  await withTestNet(async ({ manager, newContainer, subnet }) => {
    const c = await newContainer();
    const other = await newContainer();
    // The gateway is the host's address on the test's own bridge.
    const gateway = subnet.replace(".0/24", ".1");
    const { bindings } = parsePortSpecs(["127.0.0.1::80", `${gateway}::80`]);
    const ports = await manager.allocatePorts(c.id, bindings);
    assert.equal(ports.length, 2);
    await manager.attach(c.id, c.netns, { network: "bridge", ports });
    await manager.attach(other.id, other.netns, { network: "bridge" });
    const server = await serveHello(c.netns);
    try {
      const res = await fetch(`http://127.0.0.1:${ports[0].hostPort}/hello`);
      assert.equal(await res.text(), "hello from the netns\n");
      const url = `http://${gateway}:${ports[1].hostPort}/hello`;
      assert.equal(
        await inNetns(other.netns, ["busybox", "wget", "-q", "-O-", url]),
        "hello from the netns\n",
      );
    } finally {
      await server.stop();
    }
  });
});

Deno.test("DEL removes the veth, the lease and the rules; detach twice is fine", async () => {
  await withTestNet(async ({ manager, newContainer, bridge }) => {
    const c = await newContainer();
    const ports = await manager.allocatePorts(c.id, parsePortSpecs(["127.0.0.1::80"]).bindings);
    await manager.attach(c.id, c.netns, { network: "bridge", ports });
    const before = await manager.leaks(c.id);
    assert.equal(before.veths.length, 1);
    assert.ok(before.veths[0].startsWith(`${bridge}/`));
    assert.equal(before.leases.length, 1);
    assert.ok(before.iptablesRules.length >= 4, before.iptablesRules.join("\n"));
    assert.deepEqual(before.attachments, [c.id]);
    await assert.rejects(manager.removeNetns(c.id), (err) => errorKind(err) === "conflict");
    await manager.detach(c.id);
    await manager.detach(c.id);
    await manager.detach(randomHex(64));
    await manager.removeNetns(c.id);
    await manager.removeNetns(c.id);
    manager.releasePorts(c.id);
    assert.deepEqual(await manager.leaks(c.id), {
      veths: [],
      leases: [],
      iptablesRules: [],
      netns: [],
      attachments: [],
    });
  });
});

Deno.test("a network with an attached container cannot be removed; prune spares it", async () => {
  await withTestNet(
    async ({ manager, newContainer }) => {
      const used = await manager.createNetwork({ name: `used-${randomHex(6)}` });
      const unused = await manager.createNetwork({ name: `unused-${randomHex(6)}` });
      const c = await newContainer();
      const endpoint = await manager.attach(c.id, c.netns, { network: used.Name, aliases: ["db"] });
      assert.deepEqual(endpoint.Aliases, ["db"]);
      await assert.rejects(
        manager.removeNetwork(used.Name),
        (err) => errorKind(err) === "conflict" && /has active endpoints/.test(String(err)),
      );
      assert.deepEqual(await manager.prune(), [unused.Name]);
      await manager.detach(c.id, used.Id);
      await manager.removeNetwork(used.Id.slice(0, 12));
      assert.deepEqual(manager.list().map((n) => n.Name), ["bridge"]);
    },
    (block) => ({
      defaultSubnet: block.subnets[0],
      addressPools: [{ base: block.cidr, size: 28 }],
    }),
  );
});

Deno.test("networks and attachments persist across a new manager, which can DEL", async () => {
  await withTestNet(
    async ({ manager, newContainer, reopen }) => {
      const created = await manager.createNetwork({
        name: "backend",
        internal: true,
        labels: { app: "x" },
      });
      const c = await newContainer();
      const endpoint = await manager.attach(c.id, c.netns, { network: "backend" });
      const again = await reopen();
      assert.deepEqual(again.inspect("backend"), manager.inspect("backend"));
      assert.equal(again.inspect("bridge").Id, manager.inspect("bridge").Id);
      assert.equal(again.inspect(created.Id).Labels.app, "x");
      assert.equal(again.inspect("backend").Internal, true);
      assert.deepEqual(again.endpoints(c.id), { backend: endpoint });
      await again.check(c.id);
      await again.detach(c.id);
      assert.deepEqual((await again.leaks(c.id)).leases, []);
      assert.deepEqual((await again.leaks(c.id)).iptablesRules, []);
    },
    (block) => ({
      defaultSubnet: block.subnets[0],
      addressPools: [{ base: block.cidr, size: 28 }],
    }),
  );
});

Deno.test("the default subnet avoids a host route; a configured colliding one is refused", async () => {
  const block = reserveTestBlock();
  const [taken, free] = block.subnets;
  const routed = `cr-${randomHex(8)}`;
  await ipCommand(["link", "add", "name", routed, "type", "bridge"]);
  try {
    await ipCommand(["addr", "add", taken.replace(".0/24", ".1/24"), "dev", routed]);
    await ipCommand(["link", "set", routed, "up"]);
    const pools = [{ base: taken, size: 24 }, { base: free, size: 24 }];
    await withTestNet(async ({ manager, newContainer }) => {
      assert.equal(manager.inspect("bridge").IPAM.Config[0].Subnet, free);
      const c = await newContainer();
      const endpoint = await manager.attach(c.id, c.netns, { network: "bridge" });
      assert.equal(endpoint.IPAddress, free.replace(".0/24", ".2"));
    }, { defaultSubnet: undefined, addressPools: pools });

    const root = await Deno.makeTempDir({ prefix: "corral-net-root-" });
    try {
      const manager = new NetworkManager(root, `${root}/state`, {
        bridgeName: `cr-${randomHex(8)}`,
        defaultSubnet: taken,
      });
      await assert.rejects(
        manager.load(),
        (err) => errorKind(err) === "conflict" && String(err).includes(`on ${routed}`),
      );
    } finally {
      await Deno.remove(root, { recursive: true });
    }
  } finally {
    await ipCommand(["link", "del", routed]);
    block.release();
  }
});

Deno.test("a static address; a taken one fails the attach and leaves nothing behind", async () => {
  await withTestNet(async ({ manager, newContainer, subnet }) => {
    const ip = subnet.replace(".0/24", ".77");
    const a = await newContainer();
    const b = await newContainer();
    const endpoint = await manager.attach(a.id, a.netns, { network: "bridge", ip });
    assert.equal(endpoint.IPAddress, ip);
    assert.deepEqual(endpoint.IPAMConfig, { IPv4Address: ip });
    await assert.rejects(manager.attach(b.id, b.netns, { network: "bridge", ip }), /cannot attach/);
    const left = await manager.leaks(b.id);
    assert.deepEqual([left.leases, left.iptablesRules, left.attachments], [[], [], []]);
    assert.equal((await manager.leaks()).veths.length, 1);
    await assert.rejects(
      manager.attach(b.id, b.netns, { network: "bridge", ip: "198.17.0.5" }),
      (err) => errorKind(err) === "invalid",
    );
    await assert.rejects(
      manager.attach(a.id, a.netns, { network: "bridge" }),
      (err) => errorKind(err) === "conflict",
    );
  });
});

Deno.test("network names: unique, Docker's rules, not a pre-defined one", async () => {
  await withTestNet(
    async ({ manager }) => {
      const internal = await manager.createNetwork({ name: "db.net_1", internal: true });
      await assert.rejects(
        manager.createNetwork({ name: "db.net_1" }),
        (err) => errorKind(err) === "conflict" && /already exists/.test(String(err)),
      );
      for (const name of ["host", "none", "bridge", "-x", "a b", ""]) {
        await assert.rejects(
          manager.createNetwork({ name }),
          (err) => errorKind(err) === "invalid",
        );
      }
      await assert.rejects(manager.removeNetwork("bridge"), /pre-defined/);
      await assert.rejects(manager.removeNetwork("nope"), (err) => errorKind(err) === "not_found");
      const ports = [{ hostIp: "", hostPort: 1, containerPort: 1, protocol: "tcp" as const }];
      await assert.rejects(
        manager.attach(randomHex(64), "/nonexistent", { network: internal.Id, ports }),
        /internal/,
      );
    },
    (block) => ({
      defaultSubnet: block.subnets[0],
      addressPools: [{ base: block.cidr, size: 28 }],
    }),
  );
});
