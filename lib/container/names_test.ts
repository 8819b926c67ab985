import assert from "node:assert/strict";
import { generateName, newId, validateName } from "./mod.ts";
import { errorKind } from "../errdefs/mod.ts";

Deno.test("container names follow [a-zA-Z0-9][a-zA-Z0-9_.-]*", () => {
  assert.equal(validateName("web-1"), "web-1");
  assert.equal(validateName("/web_1.x"), "web_1.x");
  for (const bad of ["", "-x", ".x", "a b", "a/b", "é", "x".repeat(129)]) {
    assert.throws(() => validateName(bad), (e) => errorKind(e) === "invalid", bad);
  }
});

Deno.test("ids are 64 hex digits; generated names avoid taken ones", () => {
  assert.match(newId(), /^[0-9a-f]{64}$/);
  const taken = new Set<string>();
  for (let i = 0; i < 300; i++) taken.add(generateName((n) => taken.has(n)));
  assert.equal(taken.size, 300);
});

Deno.test("a name over the length limit is refused for its length, not its characters", () => {
  assert.throws(() => validateName("a".repeat(300)), /300 characters, at most 128/);
});
