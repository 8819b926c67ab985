import assert from "node:assert/strict";
import {
  type Backoff,
  decideRestart,
  DEFAULT_BACKOFF,
  type RestartFacts,
  waitOrCancel,
} from "./decide.ts";
import type { RestartPolicy, RestartPolicyName } from "./policy.ts";

const policy = (Name: RestartPolicyName, MaximumRetryCount = 0): RestartPolicy => ({
  Name,
  MaximumRetryCount,
});

/** Successive exits of one container, each decision's facts persisted for the next. */
function exits(p: RestartPolicy, backoff: Backoff = DEFAULT_BACKOFF, from = {}) {
  let facts: RestartFacts = {
    policy: p,
    failureCount: 0,
    lastDelayMs: 0,
    manuallyStopped: false,
    ...from,
  };
  return {
    exit(exitCode: number, ranForMs = 5) {
      const d = decideRestart(facts, { exitCode, ranForMs }, backoff);
      facts = { ...facts, failureCount: d.failureCount, lastDelayMs: d.lastDelayMs };
      return d;
    },
    get facts() {
      return facts;
    },
    set policy(p: RestartPolicy) {
      facts = { ...facts, policy: p };
    },
  };
}

Deno.test("the decision table of the five policies", () => {
  // [policy, exit code, manually stopped, restart?]
  const table: [RestartPolicyName, number, boolean, boolean][] = [
    ["no", 0, false, false],
    ["no", 1, false, false],
    ["no", 129, false, false],
    ["always", 0, false, true],
    ["always", 1, false, true],
    ["always", 137, false, true],
    ["always", 0, true, false],
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
    const facts = {
      policy: policy(name),
      failureCount: 0,
      lastDelayMs: 0,
      manuallyStopped: stopped,
    };
    const got = decideRestart(facts, { exitCode: code, ranForMs: 50 });
    assert.equal(got.restart, want, `${name} exit ${code} manually stopped ${stopped}`);
    assert.equal(got.delayMs, want ? DEFAULT_BACKOFF.initialMs : 0);
  }
});

Deno.test("at daemon start a user stop holds every policy but always (Docker's rule)", () => {
  for (const name of ["always", "unless-stopped", "on-failure", "on-reboot"] as const) {
    const facts = { policy: policy(name), failureCount: 0, lastDelayMs: 0, manuallyStopped: true };
    const got = decideRestart(facts, { exitCode: 129, ranForMs: 50 }, DEFAULT_BACKOFF, true);
    assert.equal(got.restart, name === "always", name);
  }
});

Deno.test("on-failure:3 restarts exactly three failures in a row", () => {
  const c = exits(policy("on-failure", 3));
  const decisions = Array.from({ length: 5 }, () => c.exit(1).restart);
  assert.deepEqual(decisions, [true, true, true, false, false]);
  assert.equal(c.facts.failureCount, 3, "a failure that is not restarted is not counted");
});

Deno.test("on-failure without a count has no bound", () => {
  const c = exits(policy("on-failure"));
  for (let i = 0; i < 100; i++) assert.equal(c.exit(2).restart, true);
  assert.equal(c.facts.failureCount, 100);
});

Deno.test("the failure count comes from the persisted state and is reset by exit 0", () => {
  const seeded = exits(policy("on-failure", 3), DEFAULT_BACKOFF, { failureCount: 2 });
  assert.equal(seeded.exit(1).restart, true);
  assert.equal(seeded.facts.failureCount, 3);
  assert.equal(seeded.exit(1).restart, false);

  // Deciding again from the same persisted state gives the same answer.
  const facts = {
    policy: policy("on-failure", 3),
    failureCount: 3,
    lastDelayMs: 0,
    manuallyStopped: false,
  };
  const once = decideRestart(facts, { exitCode: 1, ranForMs: 5 });
  assert.deepEqual(decideRestart(facts, { exitCode: 1, ranForMs: 5 }), once);
  assert.equal(once.restart, false);
  assert.equal(once.failureCount, 3);

  const always = exits(policy("always"), DEFAULT_BACKOFF, { failureCount: 2 });
  assert.equal(always.exit(0).restart, true);
  assert.equal(always.facts.failureCount, 0, "exit 0 resets the count");
  assert.equal(always.exit(3).restart, true);
  assert.equal(always.facts.failureCount, 1);
});

Deno.test("the backoff doubles from 100 ms and stops at the cap", () => {
  const c = exits(policy("always"));
  const delays = Array.from({ length: 14 }, () => c.exit(1).delayMs);
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
  const c = exits(policy("always"));
  const ranFor = [5, 5, 5, 9_999, 10_000, 5, 5, 60_000, 5];
  const delays = ranFor.map((ms) => c.exit(0, ms).delayMs);
  assert.deepEqual(delays, [100, 200, 400, 800, 100, 200, 400, 100, 200]);
});

Deno.test("custom backoff: initial, cap and reset threshold", () => {
  const backoff: Backoff = { initialMs: 250, maxMs: 1000, resetAfterMs: 1000 };
  const c = exits(policy("always"), backoff);
  const ranFor = [5, 5, 5, 5, 5, 999, 1000, 5];
  const delays = ranFor.map((ms) => c.exit(0, ms).delayMs);
  assert.deepEqual(delays, [250, 500, 1000, 1000, 1000, 1000, 250, 500]);

  const tiny = exits(policy("always"), { ...backoff, initialMs: 5000 });
  assert.equal(tiny.exit(0).delayMs, 1000, "the cap bounds the first delay");
});

Deno.test("an exit that is not restarted does not move the backoff", () => {
  const c = exits(policy("on-reboot"));
  assert.equal(c.exit(129).delayMs, 100);
  assert.equal(c.exit(1).restart, false);
  assert.equal(c.exit(129).delayMs, 200);
});

Deno.test("a policy change applies to the next decision", () => {
  const c = exits(policy("no"));
  assert.equal(c.exit(1).restart, false);
  c.policy = policy("on-failure", 1);
  assert.equal(c.exit(1).restart, true);
  assert.equal(c.exit(1).restart, false);
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
