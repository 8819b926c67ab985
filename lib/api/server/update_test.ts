import assert from "node:assert/strict";
import { errorKind } from "../../errdefs/mod.ts";
import { updateChanges } from "./update.ts";

Deno.test("docker update: unset fields (0, null, empty policy) change nothing", () => {
  // What `docker update --restart always` sends, trimmed to a few resource fields.
  const body = {
    CpuShares: 0,
    Memory: 0,
    NanoCpus: 0,
    PidsLimit: null,
    MemorySwappiness: null,
    RestartPolicy: { Name: "always", MaximumRetryCount: 0 },
  };
  assert.deepEqual(updateChanges(body), {
    RestartPolicy: { Name: "always", MaximumRetryCount: 0 },
  });
  assert.deepEqual(
    updateChanges({ Memory: 64 << 20, PidsLimit: 0, RestartPolicy: { Name: "" } }),
    { Memory: 64 << 20, PidsLimit: 0 },
    "a pids limit of 0 (unlimited) is a change, an empty policy name is not",
  );
});

Deno.test("docker update: an unsupported resource is refused, a malformed policy passed on", () => {
  assert.throws(() => updateChanges({ BlkioWeight: 300 }), (e) => errorKind(e) === "invalid");
  assert.throws(
    () => updateChanges({ Privileged: true }),
    /Privileged is set at create: update cannot change it/,
  );
  assert.deepEqual(
    updateChanges({ CpuShares: 512, CpusetCpus: "", MemorySwap: -1, MemoryReservation: 0 }),
    { CpuShares: 512, MemorySwap: -1 },
  );
  assert.deepEqual(updateChanges({ RestartPolicy: "always" }), { RestartPolicy: "always" });
});
