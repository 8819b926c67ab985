import assert from "node:assert/strict";
import { errorKind } from "../errdefs/mod.ts";
import type { RestartPolicy } from "./policy.ts";
import {
  checkAutoRemove,
  formatRestartPolicy,
  parseRestartPolicy,
  validateRestartPolicy,
} from "./policy.ts";

function rejected(fn: () => unknown, pattern: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.equal(errorKind(err), "invalid");
    assert.match((err as Error).message, pattern);
    return true;
  });
}

Deno.test("parseRestartPolicy accepts the five policies and on-failure counts", () => {
  const table: [string, RestartPolicy][] = [
    ["", { Name: "no", MaximumRetryCount: 0 }],
    ["no", { Name: "no", MaximumRetryCount: 0 }],
    ["always", { Name: "always", MaximumRetryCount: 0 }],
    ["unless-stopped", { Name: "unless-stopped", MaximumRetryCount: 0 }],
    ["on-reboot", { Name: "on-reboot", MaximumRetryCount: 0 }],
    ["on-failure", { Name: "on-failure", MaximumRetryCount: 0 }],
    ["on-failure:3", { Name: "on-failure", MaximumRetryCount: 3 }],
    ["on-failure:0", { Name: "on-failure", MaximumRetryCount: 0 }],
  ];
  for (const [text, want] of table) assert.deepEqual(parseRestartPolicy(text), want, text);
});

Deno.test("parseRestartPolicy rejects bad policies with a kind-invalid error", () => {
  const table: [string, RegExp][] = [
    ["sometimes", /invalid restart policy "sometimes": must be one of/],
    ["Always", /invalid restart policy "Always"/],
    ["always:2", /can only be used with on-failure/],
    ["no:1", /can only be used with on-failure/],
    ["unless-stopped:1", /can only be used with on-failure/],
    ["on-reboot:1", /can only be used with on-failure/],
    [":3", /can only be used with on-failure/],
    ["on-failure:-1", /non-negative integer/],
    ["on-failure:1.5", /non-negative integer/],
    ["on-failure:x", /non-negative integer/],
    ["on-failure:", /non-negative integer/],
    ["on-failure:1:2", /too many ':'/],
    ["always::", /too many ':'/],
  ];
  for (const [text, pattern] of table) rejected(() => parseRestartPolicy(text), pattern);
});

Deno.test("validateRestartPolicy applies the same rules to API bodies", () => {
  assert.deepEqual(validateRestartPolicy({ Name: "", MaximumRetryCount: 0 }), {
    Name: "no",
    MaximumRetryCount: 0,
  });
  assert.deepEqual(
    validateRestartPolicy({ Name: "on-failure", MaximumRetryCount: 5 }),
    { Name: "on-failure", MaximumRetryCount: 5 },
  );
  const bad = (p: unknown) => () => validateRestartPolicy(p as RestartPolicy);
  rejected(bad({ Name: "sometimes", MaximumRetryCount: 0 }), /"sometimes": must be one of/);
  rejected(bad({ Name: "on-failure:3", MaximumRetryCount: 0 }), /"on-failure:3"/);
  rejected(bad({ Name: "always", MaximumRetryCount: 2 }), /only be used with on-failure/);
  rejected(bad({ Name: "on-failure", MaximumRetryCount: -1 }), /non-negative integer, not -1/);
  rejected(bad({ Name: "on-failure", MaximumRetryCount: 1.5 }), /non-negative integer/);
  rejected(bad({ Name: "on-failure", MaximumRetryCount: "3" }), /non-negative integer/);
  rejected(bad({ Name: 7, MaximumRetryCount: 0 }), /invalid restart policy "7"/);
  rejected(bad("always"), /expected an object/);
  rejected(bad(null), /expected an object/);
});

Deno.test("--rm goes only with the no policy", () => {
  checkAutoRemove({ Name: "no", MaximumRetryCount: 0 }, true);
  checkAutoRemove({ Name: "", MaximumRetryCount: 0 }, true);
  checkAutoRemove({ Name: "always", MaximumRetryCount: 0 }, false);
  for (const name of ["always", "unless-stopped", "on-failure", "on-reboot"] as const) {
    rejected(
      () => checkAutoRemove({ Name: name, MaximumRetryCount: 0 }, true),
      new RegExp(`--rm cannot be used with restart policy "${name}"`),
    );
  }
});

Deno.test("formatRestartPolicy round-trips through parseRestartPolicy", () => {
  for (
    const text of ["no", "always", "unless-stopped", "on-reboot", "on-failure", "on-failure:7"]
  ) {
    assert.equal(formatRestartPolicy(parseRestartPolicy(text)), text);
  }
  assert.equal(formatRestartPolicy({ Name: "", MaximumRetryCount: 0 }), "no");
});
