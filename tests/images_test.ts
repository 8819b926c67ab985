/**
 * corral's own image commands on a real daemon: save and load through files
 * and pipes, and their clear one-line errors.
 */
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { integration, type TestDaemon, withDaemon } from "./harness.ts";

/** Run a shell pipeline in which `corral` is this daemon's CLI. */
async function pipeline(d: TestDaemon, script: string): Promise<string> {
  const corral = [...d.program, "-H", d.host].map((a) => `'${a}'`).join(" ");
  const out = await new Deno.Command("sh", {
    args: ["-c", `corral() { ${corral} "$@"; }; ${script}`],
    env: { RUST_BACKTRACE: "0" },
    stdin: "null",
  }).output();
  const text = new TextDecoder().decode(out.stdout);
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr) + text);
  return text;
}

Deno.test(
  "save and load round-trip an image through a file and through a pipe; bad paths are one line",
  integration,
  () =>
    withDaemon(async (d) => {
      const archive = join(d.dir, "bb.tar");
      assert.equal(await d.ok("save", "-o", archive, "busybox"), "");
      const members = await pipeline(d, `tar tf '${archive}'`);
      assert.match(members, /^manifest\.json$/m);
      await d.ok("image", "rm", "busybox");
      assert.doesNotMatch(await d.ok("images"), /busybox/);
      assert.equal(await d.ok("load", "-i", archive), "Loaded image: busybox:latest");
      assert.equal(await d.ok("run", "--rm", "busybox", "echo", "ok"), "ok");
      assert.equal(
        await pipeline(d, "corral image save busybox | corral image load"),
        "Loaded image: busybox:latest\n",
      );

      const missing = await d.cli("load", "-i", join(d.dir, "nope.tar"));
      assert.equal(missing.code, 1);
      assert.match(missing.stderr, /^corral: cannot read .*nope\.tar: .*\n$/);
      const out = join(d.dir, "x.tar");
      const unknown = await d.cli("save", "-o", out, "nosuch:1");
      assert.equal(unknown.code, 1);
      assert.match(unknown.stderr, /^corral: .*nosuch:1.*\n$/);
      assert.equal(existsSync(out) || existsSync(`${out}.corral-partial`), false);
      const garbage = join(d.dir, "garbage.tar");
      await Deno.writeTextFile(garbage, "not an archive");
      const bad = await d.cli("load", "-i", garbage);
      assert.equal(bad.code, 1);
      assert.equal(bad.stderr.split("\n").length, 2, `one line: ${bad.stderr}`);
      assert.match(await d.ok("images"), /busybox/);
    }),
);

Deno.test(
  "images as docker images: -q once per image, --no-trunc, --filter, --format with table",
  integration,
  () =>
    withDaemon(async (d) => {
      await d.ok("tag", "busybox", "mine/box:v1");
      const id = (await d.api.json<{ Id: string }>("GET", "/images/busybox/json")).Id;
      assert.equal(await d.ok("images", "-q"), id.replace("sha256:", "").slice(0, 12));
      assert.equal(await d.ok("image", "ls", "-q", "--no-trunc"), id);
      assert.deepEqual(
        (await d.ok("images", "--format", "{{.Repository}}:{{.Tag}}")).split("\n").sort(),
        ["busybox:latest", "mine/box:v1"],
      );
      assert.equal(
        await d.ok("images", "--filter", "reference=mine/*", "--format", "{{.Repository}} {{.ID}}"),
        `mine/box ${id.replace("sha256:", "").slice(0, 12)}`,
      );
      assert.match(
        await d.ok("images", "--format", "table {{.Repository}}\\t{{.Tag}}"),
        /^REPOSITORY {3}TAG\n(busybox {6}latest\nmine\/box {5}v1|mine\/box {5}v1\nbusybox {6}latest)$/,
      );
      assert.match(await d.ok("images"), /^REPOSITORY +TAG +IMAGE ID +CREATED +SIZE\n/);
      const bad = await d.cli("images", "--format", "{{.Nope");
      assert.notEqual(bad.code, 0);
      assert.match(bad.stderr, /^corral: template: unclosed action\n$/);
    }),
);
