import assert from "node:assert/strict";
import {
  runcCreateArgs,
  runcDeleteArgs,
  runcExecArgs,
  runcGlobalArgs,
  runcKillArgs,
  runcStartArgs,
  runcStateArgs,
  runcUpdateArgs,
  runcVersionArgs,
} from "./runc_args.ts";

const root = { root: "/run/corral/runc" };
const logged = { ...root, log: "/b/runc.log" };
const loggedArgs = ["--root", "/run/corral/runc", "--log", "/b/runc.log", "--log-format", "json"];

Deno.test("global args: --root always, --log in JSON only when asked", () => {
  assert.deepEqual(runcGlobalArgs(root), ["--root", "/run/corral/runc"]);
  assert.deepEqual(runcGlobalArgs(logged), loggedArgs);
});

Deno.test("runc create, as the shim runs it", () => {
  assert.deepEqual(
    runcCreateArgs(logged, { id: "ID", bundle: "/b", pidFile: "/b/init.pid" }),
    [...loggedArgs, "create", "--bundle", "/b", "--pid-file", "/b/init.pid", "ID"],
  );
});

Deno.test("runc start, state and delete", () => {
  assert.deepEqual(runcStartArgs(root, "ID"), ["--root", "/run/corral/runc", "start", "ID"]);
  assert.deepEqual(runcStateArgs(root, "ID"), ["--root", "/run/corral/runc", "state", "ID"]);
  assert.deepEqual(runcDeleteArgs(root, "ID"), [
    "--root",
    "/run/corral/runc",
    "delete",
    "--force",
    "ID",
  ]);
});

Deno.test("runc kill: the init, or with all every process", () => {
  assert.deepEqual(runcKillArgs(root, "ID", 15, false), [
    "--root",
    "/run/corral/runc",
    "kill",
    "ID",
    "15",
  ]);
  assert.deepEqual(runcKillArgs(root, "ID", 9, true), [
    "--root",
    "/run/corral/runc",
    "kill",
    "--all",
    "ID",
    "9",
  ]);
});

Deno.test("runc update: only the limits given, the id last", () => {
  assert.deepEqual(
    runcUpdateArgs(root, "ID", {
      memory: 67108864,
      memorySwap: 67108864,
      cpu: { quota: 150000, period: 100000 },
      pids: -1,
    }),
    [
      "--root",
      "/run/corral/runc",
      "update",
      "--memory",
      "67108864",
      "--memory-swap",
      "67108864",
      "--cpu-period",
      "100000",
      "--cpu-quota",
      "150000",
      "--pids-limit",
      "-1",
      "ID",
    ],
  );
  assert.deepEqual(runcUpdateArgs(root, "ID", { pids: 10 }), [
    "--root",
    "/run/corral/runc",
    "update",
    "--pids-limit",
    "10",
    "ID",
  ]);
  assert.deepEqual(
    runcUpdateArgs(root, "ID", { memoryReservation: 1 << 24, cpuShares: 512, cpusetCpus: "0" }),
    [
      "--root",
      "/run/corral/runc",
      "update",
      "--memory-reservation",
      "16777216",
      "--cpu-share",
      "512",
      "--cpuset-cpus",
      "0",
      "ID",
    ],
  );
});

Deno.test("runc exec: env, cwd and user before the pid file, the command after the id", () => {
  assert.deepEqual(
    runcExecArgs(root, {
      id: "ID",
      args: ["sh", "-c", "echo hi"],
      env: ["A=1", "B=2"],
      cwd: "/tmp",
      user: "1000:1000",
      pidFile: "/b/exec-E.pid",
    }),
    [
      "--root",
      "/run/corral/runc",
      "exec",
      "--env",
      "A=1",
      "--env",
      "B=2",
      "--cwd",
      "/tmp",
      "--user",
      "1000:1000",
      "--pid-file",
      "/b/exec-E.pid",
      "ID",
      "sh",
      "-c",
      "echo hi",
    ],
  );
  assert.deepEqual(
    runcExecArgs(root, { id: "ID", args: ["true"], env: [], cwd: "", pidFile: "/p" }),
    ["--root", "/run/corral/runc", "exec", "--pid-file", "/p", "ID", "true"],
  );
});

Deno.test("runc --version takes no root", () => {
  assert.deepEqual(runcVersionArgs(), ["--version"]);
});

Deno.test("a terminal: runc create and exec take the console socket; exec then detaches", () => {
  const root = { root: "/r" };
  assert.deepEqual(
    runcCreateArgs(root, { id: "ID", bundle: "/b", pidFile: "/b/p", consoleSocket: "/b/c.sock" }),
    [
      "--root",
      "/r",
      "create",
      "--bundle",
      "/b",
      "--pid-file",
      "/b/p",
      "--console-socket",
      "/b/c.sock",
      "ID",
    ],
  );
  assert.deepEqual(
    runcExecArgs(root, { id: "ID", args: ["sh"], env: [], pidFile: "/p", consoleSocket: "/c" }),
    [
      "--root",
      "/r",
      "exec",
      "--tty",
      "--detach",
      "--console-socket",
      "/c",
      "--pid-file",
      "/p",
      "ID",
      "sh",
    ],
  );
});
