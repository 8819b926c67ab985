/**
 * The pure parts of the registry client: Docker's name normalisation, the
 * insecure-registry rule, server addresses, `WWW-Authenticate` challenges,
 * `X-Registry-Auth`, `--platform` and the progress bar.
 * @module
 */
import assert from "node:assert/strict";
import { decodeRegistryAuth, encodeRegistryAuth, parseChallenge } from "./auth.ts";
import { parsePlatform } from "./manifest.ts";
import { humanBytes, layerProgress } from "./progress.ts";
import { apiHost, describeReference, isInsecureAllowed, remoteReference } from "./reference.ts";
import { normalizeServer } from "./service.ts";

const DIGEST = `sha256:${"ab".repeat(32)}`;

Deno.test("references resolve to a registry and a repository as Docker normalises them", () => {
  assert.deepEqual(remoteReference("busybox"), {
    registry: "docker.io",
    repository: "library/busybox",
    name: "busybox",
    tag: "latest",
  });
  assert.deepEqual(remoteReference("docker.io/library/busybox:1.36"), {
    registry: "docker.io",
    repository: "library/busybox",
    name: "busybox",
    tag: "1.36",
  });
  assert.equal(remoteReference("team/app").repository, "team/app");
  assert.deepEqual(remoteReference("127.0.0.1:5000/team/app", "v2"), {
    registry: "127.0.0.1:5000",
    repository: "team/app",
    name: "127.0.0.1:5000/team/app",
    tag: "v2",
  });
  assert.deepEqual(remoteReference("localhost/app", DIGEST), {
    registry: "localhost",
    repository: "app",
    name: "localhost/app",
    digest: DIGEST,
  });
  assert.equal(describeReference(remoteReference(`busybox@${DIGEST}`)), `busybox@${DIGEST}`);
  assert.equal(apiHost("docker.io"), "registry-1.docker.io");
  assert.throws(() => remoteReference("Busybox"), /must be lowercase/);
  assert.throws(() => remoteReference("busybox@sha256:12"), /the digest must be sha256/);
});

Deno.test("plain HTTP: loopback always, other registries only when listed", () => {
  for (const r of ["127.0.0.1:5000", "127.3.2.1", "localhost:80", "[::1]:5000"]) {
    assert.ok(isInsecureAllowed(r, []), r);
  }
  assert.ok(!isInsecureAllowed("10.0.0.1:5000", []));
  assert.ok(!isInsecureAllowed("128.0.0.1:5000", []));
  assert.ok(isInsecureAllowed("reg.lan:5000", ["reg.lan:5000"]));
  assert.ok(isInsecureAllowed("reg.lan:5000", ["reg.lan"]));
  assert.ok(!isInsecureAllowed("other.lan:5000", ["reg.lan"]));
});

Deno.test("login server addresses as the docker CLI sends them", () => {
  assert.equal(normalizeServer("http://127.0.0.1:5000/v2/"), "127.0.0.1:5000");
  assert.equal(normalizeServer("https://index.docker.io/v1/"), "docker.io");
  assert.equal(normalizeServer(""), "docker.io");
  assert.equal(normalizeServer("reg.lan:443"), "reg.lan:443");
  assert.throws(() => normalizeServer("reg lan"), /invalid registry address/);
});

Deno.test("WWW-Authenticate challenges and X-Registry-Auth", () => {
  assert.deepEqual(
    parseChallenge(
      'Bearer realm="http://127.0.0.1:1/token",service="reg",scope="repository:a/b:pull,push"',
    ),
    {
      scheme: "bearer",
      params: {
        realm: "http://127.0.0.1:1/token",
        service: "reg",
        scope: "repository:a/b:pull,push",
      },
    },
  );
  assert.deepEqual(parseChallenge('Basic realm="corral-test"'), {
    scheme: "basic",
    params: { realm: "corral-test" },
  });
  assert.equal(parseChallenge("Negotiate abc"), null);
  assert.equal(parseChallenge(null), null);
  const creds = { username: "ü", password: "p:w/+=" };
  assert.deepEqual(decodeRegistryAuth(encodeRegistryAuth(creds, "reg")), creds);
  assert.equal(decodeRegistryAuth(""), null);
  assert.equal(decodeRegistryAuth(btoa("{}")), null, "no user: anonymous, as the CLI sends it");
  assert.throws(() => decodeRegistryAuth("%%%"), /X-Registry-Auth/);
});

Deno.test("--platform and the progress bar", () => {
  assert.deepEqual(parsePlatform("linux/arm64/v8"), {
    os: "linux",
    architecture: "arm64",
    variant: "v8",
  });
  assert.equal(parsePlatform("").os, "linux");
  assert.throws(() => parsePlatform("linux"), /use os\/architecture/);
  assert.throws(() => parsePlatform("windows/amd64"), /unsupported platform/);
  const msg = layerProgress("abc", "Downloading", 500_000, 1_000_000);
  assert.deepEqual(msg.progressDetail, { current: 500_000, total: 1_000_000 });
  assert.match(msg.progress!, /^\[={24}> {25}\] +500kB\/1MB$/);
  assert.equal(humanBytes(999), "999B");
  assert.equal(humanBytes(1_536_000), "1.536MB");
});
