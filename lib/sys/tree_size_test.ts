import assert from "node:assert/strict";
import { join } from "node:path";
import { treeSize } from "./tree_size.ts";

Deno.test("treeSize counts file content once per file, not per hard link; 0 for a missing dir", async () => {
  const dir = await Deno.makeTempDir({ prefix: "corral-treesize-" });
  try {
    await Deno.mkdir(join(dir, "sub"));
    await Deno.writeFile(join(dir, "a"), new Uint8Array(1000));
    await Deno.link(join(dir, "a"), join(dir, "sub/a-again"));
    await Deno.writeFile(join(dir, "sub/b"), new Uint8Array(24));
    await Deno.symlink("a", join(dir, "link"));
    assert.equal(await treeSize(dir), 1024);
    assert.equal(await treeSize(join(dir, "missing")), 0);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
