import assert from "node:assert/strict";
import { collectGarbage, releaseFreeHeap } from "./heap.ts";

/** Resident anonymous memory of this process, in KiB. */
function anonKiB(): number {
  const text = Deno.readTextFileSync("/proc/self/smaps_rollup");
  return Number(text.match(/^Anonymous:\s+(\d+) kB/m)![1]);
}

Deno.test("releaseFreeHeap gives back memory freed below a live allocation", () => {
  const c = Deno.dlopen("libc.so.6", {
    malloc: { parameters: ["usize"], result: "pointer" },
    free: { parameters: ["pointer"], result: "void" },
    memset: { parameters: ["pointer", "i32", "usize"], result: "pointer" },
  });
  try {
    // 64 KiB chunks stay on the heap (below the mmap threshold); the last one
    // is kept, so free() cannot trim the heap's top and the rest stays resident.
    const chunk = 64 * 1024;
    const ptrs = Array.from({ length: 640 }, () => {
      const p = c.symbols.malloc(BigInt(chunk));
      c.symbols.memset(p, 1, BigInt(chunk));
      return p;
    });
    const keep = ptrs.pop()!;
    for (const p of ptrs) c.symbols.free(p);
    const before = anonKiB();
    assert.equal(releaseFreeHeap(), true);
    const released = before - anonKiB();
    assert.ok(released > 20 * 1024, `released only ${released} KiB of 40 MiB`);
    c.symbols.free(keep);
  } finally {
    c.close();
  }
});

Deno.test("collectGarbage runs a full collection", async () => {
  // A weakly held object survives scavenges once it is old, and is gone only
  // after a full collection; WeakRef targets are kept to the end of a turn.
  const ref = (() => new WeakRef({ payload: new Array(10_000).fill(1) }))();
  await new Promise((r) => setTimeout(r, 0));
  collectGarbage();
  assert.equal(ref.deref(), undefined);
});
