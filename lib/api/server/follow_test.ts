import assert from "node:assert/strict";
import { join } from "node:path";
import { JsonLogWriter, type LogEntry } from "../../shim/mod.ts";
import { LogFollower } from "./follow.ts";

/** What one `read` of the follower yields, flattened to the log texts. */
async function drain(f: LogFollower): Promise<string[]> {
  return (await Array.fromAsync(f.read())).flat().map((e: LogEntry) => e.log);
}

Deno.test("LogFollower: a big current file comes in batches, then what is appended", async () => {
  const dir = await Deno.makeTempDir();
  const path = join(dir, "c-json.log");
  const w = await JsonLogWriter.open(path, { maxSize: 1 << 30, maxFiles: 1 });
  await w.writeLines("stdout", Array.from({ length: 150_000 }, (_, i) => `${i + 1}\n`));
  const f = await LogFollower.open(path, true);
  assert.equal(f.offset, 0);
  const batches = await Array.fromAsync(f.read());
  assert.ok(batches.length > 1, "one batch per read, not the whole file at once");
  const logs = batches.flat();
  assert.deepEqual([logs.length, logs.at(-1)?.log], [150_000, "150000\n"]);
  await w.write("stdout", "more\n");
  assert.deepEqual(await drain(f), ["more\n"]);
  assert.deepEqual(await drain(f), []);
  f.close();
  w.close();
  await Deno.remove(dir, { recursive: true });
});

Deno.test("LogFollower: from the end, across a rotation, each line once", async () => {
  const dir = await Deno.makeTempDir();
  const path = join(dir, "c-json.log");
  const w = await JsonLogWriter.open(path, { maxSize: 300, maxFiles: 2 });
  await w.write("stdout", "before\n");
  const f = await LogFollower.open(path, false);
  assert.equal(f.offset, Deno.statSync(path).size);
  // ~65-byte lines: the second batch rotates once, the follower meanwhile holding the old file.
  const texts = Array.from({ length: 6 }, (_, i) => `line ${i}\n`);
  for (const t of texts.slice(0, 2)) await w.write("stdout", t);
  const seen = await drain(f);
  for (const t of texts.slice(2)) await w.write("stdout", t);
  seen.push(...await drain(f));
  assert.deepEqual(seen, texts);
  assert.ok(Deno.statSync(`${path}.1`).size > 0, "rotated");
  f.close();
  w.close();
  await Deno.remove(dir, { recursive: true });
});
