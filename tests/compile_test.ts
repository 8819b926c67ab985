/**
 * compile.sh packages corral (single executable or self-contained folder),
 * and the packaged program runs containers: daemon, CLI and shim alike.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { integration, REPO, withDaemon } from "./harness.ts";

Deno.test("the packaged program is the daemon, the CLI and the shim", integration, async () => {
  const build = await new Deno.Command("bash", {
    args: [join(REPO, "compile.sh")],
    env: { RUST_BACKTRACE: "0" },
  })
    .output();
  assert.equal(build.code, 0, new TextDecoder().decode(build.stderr));
  const program = [join(REPO, "dist/corral")];
  await withDaemon(async (d) => {
    const r = await d.cli("run", "--rm", "busybox", "sh", "-c", "echo packaged; exit 4");
    assert.equal(r.code, 4);
    assert.equal(r.stdout, "packaged\n");
    const id = await d.ok("run", "-d", "busybox", "sleep", "30");
    const shimCmd = await Deno.readTextFile(`/proc/${(await d.inspect(id)).State.PPid}/cmdline`);
    assert.ok(shimCmd.includes("dist/corral"), `the shim is the packaged program: ${shimCmd}`);
  }, { program });
});
