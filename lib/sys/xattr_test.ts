import assert from "node:assert/strict";
import { join } from "node:path";
import { getXattr, setXattr } from "./xattr.ts";

Deno.test("trusted xattrs round-trip on a directory and are absent elsewhere", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const sub = join(dir, "opaque");
    await Deno.mkdir(sub);
    assert.equal(getXattr(sub, "trusted.overlay.opaque"), null);
    setXattr(sub, "trusted.overlay.opaque", "y");
    assert.equal(getXattr(sub, "trusted.overlay.opaque"), "y");
    assert.throws(() => getXattr(join(dir, "missing"), "trusted.overlay.opaque"), /ENOENT/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
