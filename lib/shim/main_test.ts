import assert from "node:assert/strict";

Deno.test("the shim entry loads only corral's own modules: no npm, no node: built-ins", async () => {
  // One shim runs per container: an npm package or a node: built-in in its
  // module graph starts Deno's node compat layer, about 1-2 MiB more per shim.
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", new URL("./main.ts", import.meta.url).pathname],
    env: { RUST_BACKTRACE: "0" },
    stdin: "null",
  }).output();
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  const info = JSON.parse(new TextDecoder().decode(out.stdout)) as {
    modules: { specifier: string }[];
  };
  const runtime = info.modules.map((m) => m.specifier).filter((s) => !s.endsWith(".d.ts"));
  assert.ok(runtime.some((s) => s.endsWith("/lib/shim/shim.ts")), runtime.join("\n"));
  const foreign = runtime.filter((s) => !s.startsWith("file:") || s.includes("/node_modules/"));
  assert.deepEqual(foreign, []);
});
