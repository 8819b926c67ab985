import assert from "node:assert/strict";
import { formatPortSpecs, parsePortKey, parsePortSpecs, publishedPorts } from "./ports.ts";
import { PortAllocator } from "./port_allocator.ts";
import { errorKind } from "../errdefs/mod.ts";
import { createSocket } from "node:dgram";

Deno.test("Docker's -p forms parse into ExposedPorts and PortBindings", () => {
  const { exposed, bindings } = parsePortSpecs([
    "80",
    "8080:81/tcp",
    "127.0.0.1:8081:82",
    "127.0.0.1::83/udp",
    "8000-8001:90-91",
    "9000-9010:92",
    "8082:81",
  ]);
  assert.deepEqual(Object.keys(exposed), [
    "80/tcp",
    "81/tcp",
    "82/tcp",
    "83/udp",
    "90/tcp",
    "91/tcp",
    "92/tcp",
  ]);
  assert.deepEqual(bindings, {
    "80/tcp": [{ HostIp: "", HostPort: "" }],
    "81/tcp": [{ HostIp: "", HostPort: "8080" }, { HostIp: "", HostPort: "8082" }],
    "82/tcp": [{ HostIp: "127.0.0.1", HostPort: "8081" }],
    "83/udp": [{ HostIp: "127.0.0.1", HostPort: "" }],
    "90/tcp": [{ HostIp: "", HostPort: "8000" }],
    "91/tcp": [{ HostIp: "", HostPort: "8001" }],
    "92/tcp": [{ HostIp: "", HostPort: "9000-9010" }],
  });
  assert.deepEqual(parsePortSpecs(formatPortSpecs(bindings)).bindings, bindings);
  assert.deepEqual(parsePortKey("53/udp"), { port: 53, protocol: "udp" });
  assert.deepEqual(parsePortKey("53"), { port: 53, protocol: "tcp" });
});

Deno.test("bad -p values are refused with the value named", () => {
  for (
    const bad of [
      "",
      "0",
      "65536",
      "80/sctp",
      "8000-8002:80-81",
      "a:80",
      "1.2.3:80:80",
      "[::1]:80:80",
      "1:2:3:4",
      "90-80",
      "80:",
    ]
  ) {
    assert.throws(() => parsePortSpecs([bad]), (err) => errorKind(err) === "invalid", bad);
  }
});

Deno.test("bound ports show in NetworkSettings.Ports' shape", () => {
  assert.deepEqual(
    publishedPorts([
      { hostIp: "", hostPort: 8080, containerPort: 80, protocol: "tcp" },
      { hostIp: "127.0.0.1", hostPort: 5353, containerPort: 53, protocol: "udp" },
    ]),
    {
      "80/tcp": [{ HostIp: "0.0.0.0", HostPort: "8080" }],
      "53/udp": [{ HostIp: "127.0.0.1", HostPort: "5353" }],
    },
  );
});

/** A port nothing on the loopback listens on now (TCP). */
function freeLoopbackPort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

Deno.test("a host port held by another container or in use on the host is refused", async () => {
  const ports = new PortAllocator();
  const port = freeLoopbackPort();
  const bind = (ip: string, p: number | string) => ({
    "80/tcp": [{ HostIp: ip, HostPort: String(p) }],
  });
  const [held] = await ports.allocate("a", bind("127.0.0.1", port));
  assert.deepEqual(held, {
    hostIp: "127.0.0.1",
    hostPort: port,
    containerPort: 80,
    protocol: "tcp",
  });
  await assert.rejects(
    ports.allocate("b", bind("127.0.0.1", port)),
    (err) =>
      errorKind(err) === "conflict" &&
      (err as Error).message === `Bind for 127.0.0.1:${port} failed: port is already allocated`,
  );
  // Every address collides with one address.
  await assert.rejects(ports.allocate("b", bind("", port)), /port is already allocated/);
  // The first container keeps it, and may ask again (a restart).
  assert.deepEqual(await ports.allocate("a", bind("127.0.0.1", port)), [held]);
  ports.release("a");
  assert.deepEqual(await ports.allocate("b", bind("127.0.0.1", port)), [{ ...held }]);
  ports.release("b");

  const listener = Deno.listen({ hostname: "127.0.0.1", port });
  try {
    await assert.rejects(
      ports.allocate("c", bind("127.0.0.1", port)),
      (err) => errorKind(err) === "conflict" && /already in use on the host/.test(String(err)),
    );
    assert.deepEqual(ports.heldBy("c"), []);
  } finally {
    listener.close();
  }
});

Deno.test("an empty HostPort gets a free ephemeral port, a range its first free one", async () => {
  const port = freeLoopbackPort();
  const ports = new PortAllocator({ start: port, end: port + 20 });
  const listener = Deno.listen({ hostname: "127.0.0.1", port });
  try {
    const [chosen] = await ports.allocate("a", {
      "53/udp": [{ HostIp: "127.0.0.1", HostPort: "" }],
    });
    assert.ok(chosen.hostPort >= port && chosen.hostPort <= port + 20);
    const [tcp] = await ports.allocate("b", { "80/tcp": [{ HostIp: "127.0.0.1", HostPort: "" }] });
    // The listener holds the range's first port.
    assert.ok(tcp.hostPort > port && tcp.hostPort <= port + 20);
    const [ranged] = await ports.allocate("c", {
      "80/tcp": [{ HostIp: "127.0.0.1", HostPort: `${tcp.hostPort}-${tcp.hostPort + 1}` }],
    });
    assert.equal(ranged.hostPort, tcp.hostPort + 1);
    ports.register("d", [{ hostIp: "", hostPort: 1, containerPort: 1, protocol: "udp" }]);
    assert.throws(
      () =>
        ports.register("e", [{
          hostIp: "127.0.0.1",
          hostPort: 1,
          containerPort: 2,
          protocol: "udp",
        }]),
      /port is already allocated/,
    );
  } finally {
    listener.close();
  }
});

Deno.test("a UDP port bound on the host is refused", async () => {
  const socket = createSocket("udp4");
  await new Promise<void>((resolve) => socket.bind(0, "127.0.0.1", () => resolve()));
  try {
    const port = socket.address().port;
    await assert.rejects(
      new PortAllocator().allocate("a", {
        "53/udp": [{ HostIp: "127.0.0.1", HostPort: `${port}` }],
      }),
      (err) => errorKind(err) === "conflict" && /already in use on the host/.test(String(err)),
    );
  } finally {
    socket.close();
  }
});
