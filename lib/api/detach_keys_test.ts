import assert from "node:assert/strict";
import { DetachScanner, parseDetachKeys } from "./detach_keys.ts";

Deno.test("detach keys: Docker's names, and a clear refusal of others", () => {
  assert.deepEqual(parseDetachKeys("ctrl-p,ctrl-q"), [16, 17]);
  assert.deepEqual(parseDetachKeys("ctrl-@,ctrl-[,ctrl-_,a"), [0, 27, 31, 97]);
  assert.throws(() => parseDetachKeys("ctrl-1"), /invalid detach keys "ctrl-1"/);
  assert.throws(() => parseDetachKeys("ab"), /invalid detach keys/);
});

Deno.test("the detach scanner holds back a partial match and lets it go when broken", () => {
  const scan = new DetachScanner([16, 17]);
  const bytes = (...b: number[]) => new Uint8Array(b);
  assert.deepEqual(scan.push(bytes(104, 16)), { pass: bytes(104), detached: false });
  // ctrl-p then x: both were input.
  assert.deepEqual(scan.push(bytes(120)), { pass: bytes(16, 120), detached: false });
  // ctrl-p ctrl-p ctrl-q: the first ctrl-p is input, the rest detaches, across chunks.
  assert.deepEqual(scan.push(bytes(16)), { pass: bytes(), detached: false });
  assert.deepEqual(scan.push(bytes(16, 17)), { pass: bytes(16), detached: true });
});
