import assert from "node:assert/strict";
import {
  firstFreeSubnet,
  formatIpv4,
  formatSubnet,
  hostRoutes,
  isHostOf,
  overlaps,
  parseIpv4,
  parseRoutes,
  parseSubnet,
} from "./subnet.ts";
import { decideSubnet } from "./networks.ts";
import { errorKind } from "../errdefs/mod.ts";

Deno.test("IPv4 addresses and subnets parse and print back", () => {
  assert.equal(parseIpv4("198.18.0.1"), 0xc6120001);
  assert.equal(formatIpv4(0xc6120001), "198.18.0.1");
  assert.equal(formatIpv4(0xffffffff), "255.255.255.255");
  for (const bad of ["198.18.0", "198.18.0.256", "a.b.c.d", "1.2.3.4.5", ""]) {
    assert.equal(parseIpv4(bad), null, bad);
  }
  assert.equal(formatSubnet(parseSubnet("198.18.4.0/22")), "198.18.4.0/22");
  assert.throws(() => parseSubnet("198.18.0.1/24"), /it should be 198\.18\.0\.0\/24/);
  for (const bad of ["198.18.0.0", "198.18.0.0/33", "198.18.0.0/x", "198.18.0.0/24/1"]) {
    assert.throws(() => parseSubnet(bad), (err) => errorKind(err) === "invalid", bad);
  }
});

Deno.test("overlap and host addresses", () => {
  const a = parseSubnet("198.18.0.0/16");
  assert.ok(overlaps(a, parseSubnet("198.18.7.0/24")));
  assert.ok(overlaps(parseSubnet("198.18.7.0/24"), a));
  assert.ok(!overlaps(a, parseSubnet("198.19.0.0/24")));
  const s = parseSubnet("198.18.1.0/24");
  assert.ok(isHostOf(s, parseIpv4("198.18.1.1")!));
  assert.ok(!isHostOf(s, parseIpv4("198.18.1.0")!));
  assert.ok(!isHostOf(s, parseIpv4("198.18.1.255")!));
});

Deno.test("the first free subnet skips taken ones and moves to the next pool", () => {
  const pools = [{ base: "198.18.0.0/23", size: 24 }, { base: "198.19.0.0/16", size: 20 }];
  assert.equal(formatSubnet(firstFreeSubnet(pools, [])!), "198.18.0.0/24");
  const taken = [parseSubnet("198.18.0.0/24")];
  assert.equal(formatSubnet(firstFreeSubnet(pools, taken)!), "198.18.1.0/24");
  taken.push(parseSubnet("198.18.1.128/25"));
  assert.equal(formatSubnet(firstFreeSubnet(pools, taken)!), "198.19.0.0/20");
  assert.equal(
    firstFreeSubnet([{ base: "198.18.0.0/24", size: 24 }], [parseSubnet("198.18.0.0/16")]),
    null,
  );
  assert.throws(
    () => firstFreeSubnet([{ base: "198.18.0.0/24", size: 16 }], []),
    /invalid address pool/,
  );
});

Deno.test("a network's subnet: asked, checked against routes and networks, or from the pools", () => {
  const routes = [{ iface: "cr-x", destination: parseSubnet("198.18.0.0/24") }];
  const pools = [{ base: "198.18.0.0/22", size: 24 }];
  assert.deepEqual(decideSubnet({ name: "n" }, pools, routes, []), {
    subnet: "198.18.1.0/24",
    gateway: "198.18.1.1",
  });
  assert.throws(
    () => decideSubnet({ name: "n", subnet: "198.18.0.0/25" }, pools, routes, []),
    /collides with the host's route 198\.18\.0\.0\/24 on cr-x/,
  );
  assert.deepEqual(
    decideSubnet(
      { name: "n", subnet: "198.18.2.0/24", gateway: "198.18.2.254" },
      pools,
      routes,
      [],
    ),
    { subnet: "198.18.2.0/24", gateway: "198.18.2.254" },
  );
  assert.throws(
    () =>
      decideSubnet({ name: "n", subnet: "198.18.2.0/24", gateway: "198.18.3.1" }, pools, [], []),
    /not a host address of 198\.18\.2\.0\/24/,
  );
  assert.throws(
    () => decideSubnet({ name: "n", gateway: "198.18.3.1" }, pools, [], []),
    /needs a subnet/,
  );
});

Deno.test("the host's routes are read without the default route", () => {
  for (const route of hostRoutes()) {
    assert.ok(route.destination.prefix > 0);
    assert.ok(route.iface.length > 0);
  }
  // The loop above passes on a host with no routes: a known text too.
  const text =
    "Iface\tDestination\tGateway\tFlags\tRefCnt\tUse\tMetric\tMask\tMTU\tWindow\tIRTT\n" +
    "eth0\t00000000\t0100A8C0\t0003\t0\t0\t0\t00000000\t0\t0\t0\n" +
    "eth0\t0000A8C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n";
  assert.deepEqual(
    parseRoutes(text).map((r) => [r.iface, formatSubnet(r.destination)]),
    [["eth0", "192.168.0.0/24"]],
  );
});
