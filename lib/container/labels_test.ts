import assert from "node:assert/strict";
import { matchesLabel } from "./mod.ts";

Deno.test("label filters: KEY is set, KEY=VALUE exactly (values may hold '=')", () => {
  const labels = { app: "web", expr: "a=b", empty: "" };
  assert.equal(matchesLabel(labels, "app"), true);
  assert.equal(matchesLabel(labels, "app=web"), true);
  assert.equal(matchesLabel(labels, "app=we"), false);
  assert.equal(matchesLabel(labels, "expr=a=b"), true);
  assert.equal(matchesLabel(labels, "empty="), true);
  assert.equal(matchesLabel(labels, "db"), false);
  assert.equal(matchesLabel(labels, "toString"), false, "no inherited keys");
});
