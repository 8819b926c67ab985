import assert from "node:assert/strict";
import { errorKind } from "../errdefs/mod.ts";
import { formatReference, parseReference, splitDigest, tryParseReference } from "./reference.ts";

Deno.test("parseReference accepts Docker names and defaults the tag", () => {
  const cases: [string, string][] = [
    ["busybox", "busybox:latest"],
    ["busybox:1.36", "busybox:1.36"],
    ["library/busy_box-x.y:V_1.0-rc", "busy_box-x.y:V_1.0-rc"],
    ["docker.io/library/busybox", "busybox:latest"],
    ["index.docker.io/team/app:v1", "team/app:v1"],
    ["localhost:5000/app", "localhost:5000/app:latest"],
    ["Registry.example.com/team/app:v2", "Registry.example.com/team/app:v2"],
    ["a__b", "a__b:latest"],
  ];
  for (const [ref, key] of cases) assert.equal(formatReference(parseReference(ref)), key, ref);
});

Deno.test("parseReference refuses malformed names as invalid", () => {
  const bad = [
    "",
    "Busybox",
    "busybox:",
    "busybox:-x",
    `busybox:${"t".repeat(129)}`,
    "../etc",
    "a//b",
    "-a",
    "a-",
    "name@sha256:" + "0".repeat(64),
    "0".repeat(64),
    "with space",
  ];
  for (const ref of bad) {
    assert.throws(() => parseReference(ref), (err) => errorKind(err) === "invalid", ref);
  }
  assert.equal(tryParseReference("Busybox"), "repository name must be lowercase");
});

Deno.test("digest references: name@sha256, Docker Hub's long forms shortened", () => {
  const digest = `sha256:${"0f".repeat(32)}`;
  assert.deepEqual(splitDigest(`docker.io/library/busybox@${digest}`), {
    name: "busybox",
    digest,
  });
  assert.deepEqual(splitDigest(`127.0.0.1:5000/app:1@${digest}`), {
    name: "127.0.0.1:5000/app",
    digest,
  });
  assert.equal(splitDigest("busybox:1"), null);
  assert.throws(() => splitDigest("busybox@md5:00"), /the digest must be sha256/);
});
