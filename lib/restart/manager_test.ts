import assert from "node:assert/strict";
import type { RestartPolicy, RestartPolicyName } from "../container/model.ts";
import { type Backoff, DEFAULT_BACKOFF, RestartManager, waitOrCancel } from "./manager.ts";

const policy = (Name: RestartPolicyName, MaximumRetryCount = 0): RestartPolicy => ({
  Name,
  MaximumRetryCount,
});

Deno.test("the decision table of the five policies", () => {
  // [policy, exit code, manually stopped, restart?]
  const table: [RestartPolicyName, number, boolean, boolean][] = [
    ["no", 0, false, false],
    ["no", 1, false, false],
    ["no", 129, false, false],
    ["always", 0, false, true],
    ["always", 1, false, true],
    ["always", 137, false, true],
    // Only a cancel holds `always`; the persisted flag alone does not (daemon start).
    ["always", 0, true, true],
    ["unless-stopped", 0, false, true],
    ["unless-stopped", 1, false, true],
    ["unless-stopped", 0, true, false],
    ["unless-stopped", 1, true, false],
    ["on-failure", 0, false, false],
    ["on-failure", 1, false, true],
    ["on-failure", 137, false, true],
    ["on-failure", 1, true, false],
    ["on-reboot", 129, false, true],
    ["on-reboot", 130, false, false],
    ["on-reboot", 1, false, false],
    ["on-reboot", 0, false, false],
    ["on-reboot", 129, true, false],
  ];
  for (const [name, code, stopped, want] of table) {
    const got = new RestartManager(policy(name)).shouldRestart(code, stopped, 50);
    assert.equal(got.restart, want, `${name} exit ${code} manually stopped ${stopped}`);
    assert.equal(got.delayMs, want ? DEFAULT_BACKOFF.initialMs : 0);
  }
});

Deno.test("a cancel stops every policy until reset", () => {
  for (const name of ["always", "unless-stopped", "on-failure", "on-reboot"] as const) {
    const rm = new RestartManager(policy(name));
    rm.cancel();
    assert.equal(rm.cancelled, true);
    assert.equal(rm.shouldRestart(129, false, 50).restart, false, name);
    rm.reset();
    assert.equal(rm.cancelled, false);
    assert.equal(rm.shouldRestart(129, false, 50).restart, true, name);
  }
});

Deno.test("on-failure:3 restarts exactly three failures in a row", () => {
  const rm = new RestartManager(policy("on-failure", 3));
  const decisions = Array.from({ length: 5 }, () => rm.shouldRestart(1, false, 5).restart);
  assert.deepEqual(decisions, [true, true, true, false, false]);
  assert.equal(rm.failureCount, 3, "a failure that is not restarted is not counted");
});

Deno.test("on-failure without a count has no bound", () => {
  const rm = new RestartManager(policy("on-failure"));
  for (let i = 0; i < 100; i++) assert.equal(rm.shouldRestart(2, false, 5).restart, true);
  assert.equal(rm.failureCount, 100);
});

Deno.test("the failure count is seeded from the persisted state and reset by exit 0", () => {
  const seeded = new RestartManager(policy("on-failure", 3), 2);
  assert.equal(seeded.shouldRestart(1, false, 5).restart, true);
  assert.equal(seeded.failureCount, 3);
  assert.equal(seeded.shouldRestart(1, false, 5).restart, false);

  const exhausted = new RestartManager(policy("on-failure", 3), 3);
  assert.equal(exhausted.shouldRestart(1, false, 5).restart, false);
  // Deciding again from the same persisted state gives the same answer.
  assert.equal(exhausted.shouldRestart(1, false, 5).restart, false);
  assert.equal(exhausted.failureCount, 3);

  const always = new RestartManager(policy("always"), 2);
  assert.equal(always.shouldRestart(0, false, 5).restart, true);
  assert.equal(always.failureCount, 0, "exit 0 resets the count");
  assert.equal(always.shouldRestart(3, false, 5).restart, true);
  assert.equal(always.failureCount, 1);

  const reset = new RestartManager(policy("on-failure", 1), 1);
  reset.reset();
  assert.equal(reset.failureCount, 0);
  assert.equal(reset.shouldRestart(1, false, 5).restart, true);
});

Deno.test("the backoff doubles from 100 ms and stops at the cap", () => {
  const rm = new RestartManager(policy("always"));
  const delays = Array.from({ length: 14 }, () => rm.shouldRestart(1, false, 5).delayMs);
  assert.deepEqual(delays, [
    100,
    200,
    400,
    800,
    1600,
    3200,
    6400,
    12800,
    25600,
    51200,
    60000,
    60000,
    60000,
    60000,
  ]);
});

Deno.test("a run of resetAfter or more starts the backoff again", () => {
  const rm = new RestartManager(policy("always"));
  const ranFor = [5, 5, 5, 9_999, 10_000, 5, 5, 60_000, 5];
  const delays = ranFor.map((ms) => rm.shouldRestart(0, false, ms).delayMs);
  assert.deepEqual(delays, [100, 200, 400, 800, 100, 200, 400, 100, 200]);
});

Deno.test("custom backoff: initial, cap and reset threshold", () => {
  const backoff: Backoff = { initialMs: 250, maxMs: 1000, resetAfterMs: 1000 };
  const rm = new RestartManager(policy("always"), 0, backoff);
  const ranFor = [5, 5, 5, 5, 5, 999, 1000, 5];
  const delays = ranFor.map((ms) => rm.shouldRestart(0, false, ms).delayMs);
  assert.deepEqual(delays, [250, 500, 1000, 1000, 1000, 1000, 250, 500]);

  const tiny = new RestartManager(policy("always"), 0, { ...backoff, initialMs: 5000 });
  assert.equal(tiny.shouldRestart(0, false, 5).delayMs, 1000, "the cap bounds the first delay");
});

Deno.test("an exit that is not restarted does not move the backoff", () => {
  const rm = new RestartManager(policy("on-reboot"));
  assert.equal(rm.shouldRestart(129, false, 5).delayMs, 100);
  assert.deepEqual(rm.shouldRestart(1, false, 5), { restart: false, delayMs: 0 });
  assert.equal(rm.shouldRestart(129, false, 5).delayMs, 200);
  rm.reset();
  assert.equal(rm.shouldRestart(129, false, 5).delayMs, 100, "a user start resets the backoff");
});

Deno.test("a policy change applies to the next decision", () => {
  const rm = new RestartManager(policy("no"));
  assert.equal(rm.shouldRestart(1, false, 5).restart, false);
  rm.policy = policy("on-failure", 1);
  assert.equal(rm.shouldRestart(1, false, 5).restart, true);
  assert.equal(rm.shouldRestart(1, false, 5).restart, false);
});

Deno.test("waitOrCancel resolves true after the delay", async () => {
  const cancel = new AbortController();
  const t0 = performance.now();
  assert.equal(await waitOrCancel(30, cancel.signal), true);
  assert.ok(performance.now() - t0 >= 25);
});

Deno.test("waitOrCancel resolves false at once when cancelled", async () => {
  const cancel = new AbortController();
  const t0 = performance.now();
  const waited = waitOrCancel(60_000, cancel.signal);
  setTimeout(() => cancel.abort(), 10);
  assert.equal(await waited, false);
  assert.ok(performance.now() - t0 < 1000, "the timer did not run to its end");

  const t1 = performance.now();
  assert.equal(await waitOrCancel(60_000, cancel.signal), false, "an aborted signal never waits");
  // A sanity bound far below the 60 s it would wait, not a speed target.
  assert.ok(performance.now() - t1 < 1000);
});
