import assert from "node:assert/strict";
import { join } from "node:path";
import { copyLines, JsonLogWriter, readLogEntries } from "./mod.ts";

Deno.test("json-file log: {log, stream, time} lines, rotated by size, read back in order", async () => {
  const dir = await Deno.makeTempDir();
  const path = join(dir, "c-json.log");
  const w = await JsonLogWriter.open(path, { maxSize: 400, maxFiles: 3 });
  for (let i = 0; i < 30; i++) await w.write(i % 2 ? "stderr" : "stdout", `line ${i}\n`);
  w.close();
  const files = Array.from(Deno.readDirSync(dir)).map((e) => e.name).sort();
  assert.deepEqual(files, ["c-json.log", "c-json.log.1", "c-json.log.2"]);
  for (const f of files) assert.ok(Deno.statSync(join(dir, f)).size <= 400);
  const entries = await readLogEntries(path, 3);
  assert.ok(entries.length > 0 && entries.length < 30, "old lines were rotated away");
  const nums = entries.map((e) => Number(e.log.match(/\d+/)![0]));
  assert.deepEqual(nums, [...nums].sort((a, b) => a - b), "oldest first");
  assert.equal(nums.at(-1), 29);
  const last = entries.at(-1)!;
  assert.equal(last.stream, "stderr");
  assert.ok(!Number.isNaN(Date.parse(last.time)));
  await Deno.remove(dir, { recursive: true });
});

Deno.test("copyLines splits at newlines and cuts long lines at 16 KiB", async () => {
  const chunks = ["a\nb", "c\n", "x".repeat(20000), "\ntail"];
  const stream = ReadableStream.from(chunks.map((c) => new TextEncoder().encode(c)));
  const lines: string[] = [];
  await copyLines(stream, (batch) => {
    lines.push(...batch);
    return Promise.resolve();
  });
  assert.deepEqual(lines.slice(0, 2), ["a\n", "bc\n"]);
  assert.equal(lines[2].length, 16384);
  assert.equal(lines[3], "x".repeat(20000 - 16384) + "\n");
  assert.equal(lines[4], "tail");
});

Deno.test("writeLines writes a batch in one go yet still rotates between its lines", async () => {
  const dir = await Deno.makeTempDir();
  const path = join(dir, "c-json.log");
  const w = await JsonLogWriter.open(path, { maxSize: 400, maxFiles: 5 });
  await w.writeLines("stdout", Array.from({ length: 12 }, (_, i) => `line ${i}\n`));
  w.close();
  for (const f of Deno.readDirSync(dir)) assert.ok(Deno.statSync(join(dir, f.name)).size <= 400);
  assert.ok(Deno.readDirSync(dir).toArray().length > 1, "the batch was rotated");
  const entries = await readLogEntries(path, 5);
  assert.deepEqual(entries.map((e) => e.log), Array.from({ length: 12 }, (_, i) => `line ${i}\n`));
  await Deno.remove(dir, { recursive: true });
});
