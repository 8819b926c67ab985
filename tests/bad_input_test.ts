/**
 * Bad input gets one clear error (CLI line or 4xx JSON) and changes nothing.
 */
import assert from "node:assert/strict";
import { integration, type TestDaemon, withDaemon } from "./harness.ts";

async function snapshot(d: TestDaemon): Promise<string> {
  const list = await d.api.json<Record<string, unknown>[]>("GET", "/containers/json?all=1");
  const images = await d.api.json<Record<string, unknown>[]>("GET", "/images/json");
  return JSON.stringify({
    c: list.map((c) => [c.Id, c.Names, c.State, c.RestartCount]).sort(),
    i: images.map((i) => [i.Id, i.RepoTags]),
  });
}

/** A CLI call that must fail with exactly one line matching `pattern` and change nothing. */
async function rejects(d: TestDaemon, pattern: RegExp, ...args: string[]): Promise<void> {
  const before = await snapshot(d);
  const r = await d.cli(...args);
  assert.notEqual(r.code, 0, `corral ${args.join(" ")} should fail`);
  const lines = r.stderr.trimEnd().split("\n");
  assert.equal(lines.length, 1, `one error line, got:\n${r.stderr}`);
  assert.match(lines[0], pattern);
  assert.doesNotMatch(r.stderr, /\bat .*\.ts:\d+/, "no stack trace");
  assert.equal(await snapshot(d), before, `corral ${args.join(" ")} changed state`);
}

Deno.test(
  "CLI: every bad input gives one clear line and changes nothing",
  integration,
  () =>
    withDaemon(async (d) => {
      await d.ok("run", "-d", "--name", "live", "busybox", "sleep", "60");
      await d.ok("create", "--name", "idle", "busybox", "true");
      await rejects(d, /No such image: nosuch/, "run", "--pull", "never", "nosuch", "true");
      await rejects(
        d,
        /name "\/live" is already in use/,
        "run",
        "--name",
        "live",
        "busybox",
        "true",
      );
      await rejects(d, /invalid container name "-bad"/, "create", "--name", "-bad", "busybox");
      await rejects(d, /No such container: ghost/, "start", "ghost");
      await rejects(d, /No such container: ghost/, "stop", "ghost");
      await rejects(d, /invalid signal: NOPE/, "kill", "-s", "NOPE", "live");
      await rejects(
        d,
        /invalid restart policy "sometimes"/,
        "run",
        "--restart",
        "sometimes",
        "busybox",
        "true",
      );
      await rejects(d, /too many ':'/, "run", "--restart", "on-failure:1:2", "busybox", "true");
      await rejects(
        d,
        /non-negative integer/,
        "run",
        "--restart",
        "on-failure:-1",
        "busybox",
        "true",
      );
      await rejects(
        d,
        /only be used with on-failure/,
        "run",
        "--restart",
        "always:3",
        "busybox",
        "true",
      );
      await rejects(
        d,
        /--rm cannot be used with restart policy "always"/,
        "run",
        "--rm",
        "--restart",
        "always",
        "busybox",
        "true",
      );
      await rejects(d, /container live is already running/, "start", "live");
      await rejects(
        d,
        /container is running: stop the container before removing or force remove/,
        "rm",
        "live",
      );
      await rejects(d, /container idle is not running/, "kill", "idle");
      await rejects(
        d,
        /invalid environment variable "NOEQUALS"/,
        "create",
        "-e",
        "NOEQUALS",
        "busybox",
      );
      await rejects(d, /invalid size "lots"/, "create", "-m", "lots", "busybox");
      await rejects(d, /invalid duration "soon"/, "create", "--restart-delay", "soon", "busybox");
      await rejects(
        d,
        /invalid characters for a local volume name/,
        "create",
        "-v",
        "../x:/x",
        "busybox",
      );
      await rejects(d, /invalid volume specification/, "create", "-v", "relative:x", "busybox");
      await rejects(d, /unknown option '--bogus'/, "ps", "--bogus");
      const info = await d.inspect("live");
      assert.equal(info.State.Status, "running");
    }),
);

Deno.test(
  "API: malformed and oversize bodies get 4xx JSON and change nothing",
  integration,
  () =>
    withDaemon(async (d) => {
      const before = await snapshot(d);
      const post = async (path: string, body: BodyInit) => {
        const res = await d.api.request("POST", path, new TextEncoder().encode(String(body)));
        const text = await res.text();
        return { status: res.status, body: text ? JSON.parse(text) : null };
      };
      let r = await post("/containers/create", "{not json");
      assert.equal(r.status, 400);
      assert.match(r.body.message, /invalid JSON body/);
      r = await post("/containers/create", "[1,2]");
      assert.equal(r.status, 400);
      r = await post(
        "/containers/create",
        JSON.stringify({ Image: "busybox", Cmd: "not-an-array" }),
      );
      assert.equal(r.status, 400);
      assert.match(r.body.message, /Cmd must be an array of strings/);
      r = await post(
        "/containers/create",
        JSON.stringify({
          Image: "busybox",
          HostConfig: { RestartPolicy: { Name: "always", MaximumRetryCount: 2 } },
        }),
      );
      assert.equal(r.status, 400);
      r = await post(
        "/containers/create",
        JSON.stringify({ Image: "busybox", Pad: "x".repeat(9 * 1024 * 1024) }),
      );
      assert.equal(r.status, 413);
      r = await post("/containers/create?name=bad%20name", JSON.stringify({ Image: "busybox" }));
      assert.equal(r.status, 400);
      r = await post("/containers/ghost/start", "");
      assert.equal(r.status, 404);
      assert.equal(r.body.message, "No such container: ghost");
      const nf = await d.api.request("GET", "/nowhere");
      assert.equal(nf.status, 404);
      assert.match((await nf.json()).message, /page not found/);
      const tooNew = await fetch("http://x/v1.99/version", {
        client: Deno.createHttpClient({ proxy: { transport: "unix", path: d.sock } }),
      } as RequestInit);
      assert.equal(tooNew.status, 400);
      assert.match((await tooNew.json()).message, /too new/);
      assert.equal(await snapshot(d), before);
      // The daemon is still healthy.
      assert.equal((await d.cli("run", "--rm", "busybox", "true")).code, 0);
    }),
);
