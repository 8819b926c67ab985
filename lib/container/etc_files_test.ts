import assert from "node:assert/strict";
import { errorKind } from "../errdefs/mod.ts";
import { type EtcFilesInput, hostsFile, resolvConf, validateEtcFiles } from "./etc_files.ts";

const none: EtcFilesInput = {
  hostname: "web",
  extraHosts: [],
  dns: [],
  dnsSearch: [],
  dnsOptions: [],
};

Deno.test("hosts: localhost and the --add-host entries", () => {
  const text = hostsFile({ ...none, extraHosts: ["db:10.0.0.2", "v6:[fd00::1]", "eq=10.0.0.3"] });
  assert.match(text, /^127\.0\.0\.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n/);
  assert.match(text, /\n10\.0\.0\.2\tdb\nfd00::1\tv6\n10\.0\.0\.3\teq\n$/);
});

Deno.test("resolv.conf: the host's reachable servers, or --dns, --dns-search, --dns-option", () => {
  const host =
    "# generated\nnameserver 127.0.0.53\nnameserver 10.1.1.1\nsearch lan corp\noptions ndots:2\n";
  assert.equal(resolvConf(host, none), "nameserver 10.1.1.1\nsearch lan corp\noptions ndots:2\n");
  assert.equal(
    resolvConf(host, { ...none, dns: ["192.0.2.1"], dnsSearch: ["x"], dnsOptions: ["rotate"] }),
    "nameserver 192.0.2.1\nsearch x\noptions rotate\n",
  );
  assert.equal(
    resolvConf("nameserver 127.0.0.1\n", none),
    "nameserver 8.8.8.8\nnameserver 8.8.4.4\n",
  );
  assert.equal(
    resolvConf("nameserver 127.0.0.53\n", { ...none, hostNetwork: true }),
    "nameserver 127.0.0.53\n",
  );
});

Deno.test("bad names, hosts and servers are refused with Docker's messages", () => {
  const bad: [Partial<EtcFilesInput>, RegExp][] = [
    [{ hostname: "-web" }, /invalid hostname format/],
    [{ extraHosts: ["db"] }, /invalid IP address in add-host/],
    [{ extraHosts: ["db:300.1.1.1"] }, /invalid IP address/],
    [{ dns: ["dns.example"] }, /is not an ip address/],
    [{ dnsSearch: ["a b"] }, /invalid DNS search/],
  ];
  for (const [over, message] of bad) {
    assert.throws(() => validateEtcFiles({ ...none, ...over }), (e: Error) => {
      assert.match(e.message, message);
      return errorKind(e) === "invalid";
    });
  }
  validateEtcFiles({
    ...none,
    extraHosts: ["db:10.0.0.2", "v6:fd00::1", "gw:host-gateway"],
    dns: ["::1", "10.0.0.1"],
  });
});

Deno.test("hosts: the container's address, its network's members, host-gateway", () => {
  const text = hostsFile({
    ...none,
    extraHosts: ["gw:host-gateway"],
    entries: [
      { ip: "198.18.0.2", names: ["web"] },
      { ip: "198.18.0.3", names: ["db", "database", "0123456789ab"] },
    ],
    hostGateway: "198.18.0.1",
  });
  assert.match(
    text,
    /\n198\.18\.0\.2\tweb\n198\.18\.0\.3\tdb database 0123456789ab\n198\.18\.0\.1\tgw\n$/,
  );
  // No network: no gateway to name, the entry is left out.
  assert.doesNotMatch(hostsFile({ ...none, extraHosts: ["gw:host-gateway"] }), /gw/);
});
