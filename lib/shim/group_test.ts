import assert from "node:assert/strict";
import { groupSocketName, groupSocketVersion, SHIM_CONTRACT_VERSION } from "./contract.ts";
import { groupShimArgs, parseGroupShimArgs } from "./group.ts";
import { parseShimArgs, shimArgs } from "./shim.ts";

Deno.test("group shim arguments round-trip; a one-container shim's are not a group's", () => {
  const o = { control: "/run/corral/shims/g1.v2.sock", max: 16, idleMs: 5000 };
  const args = groupShimArgs(o);
  assert.equal(args[0], "shim");
  assert.deepEqual(parseGroupShimArgs(args.slice(1)), o);
  const one = shimArgs({
    id: "ID",
    bundle: "/b",
    runtime: "runc",
    runtimeRoot: "/r",
    logPath: "/l",
    logMaxSize: 1,
    logMaxFiles: 1,
    createTimeoutMs: 1,
    tty: false,
    openStdin: false,
    stdinOnce: false,
  });
  assert.equal(parseGroupShimArgs(one.slice(1)), null);
  assert.equal(parseShimArgs(one.slice(1)).id, "ID");
});

Deno.test("a control socket's name carries the protocol version", () => {
  assert.equal(groupSocketVersion(groupSocketName("g1")), SHIM_CONTRACT_VERSION);
  assert.equal(groupSocketVersion("g1.v0.sock"), 0);
  assert.equal(groupSocketVersion("g1.v2.sock.tmp"), null);
  assert.equal(groupSocketVersion("exit_fifo"), null);
});
