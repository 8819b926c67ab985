import assert from "node:assert/strict";
import { join } from "node:path";
import { copyLines, JsonLogWriter, type LogEntry, readLogTail, streamLogEntries } from "./mod.ts";

/** Every entry of the log, collected (the tests' logs are small). */
async function readAll(path: string, maxFiles: number): Promise<LogEntry[]> {
  return (await Array.fromAsync(streamLogEntries(path, maxFiles))).flat();
}

const entry = (log: string): LogEntry => ({ log, stream: "stdout", time: "2024-01-02T03:04:05Z" });

Deno.test("json-file log: {log, stream, time} lines, rotated by size, read back in order", async () => {
  const dir = await Deno.makeTempDir();
  const path = join(dir, "c-json.log");
  const w = await JsonLogWriter.open(path, { maxSize: 400, maxFiles: 3 });
  for (let i = 0; i < 30; i++) await w.write(i % 2 ? "stderr" : "stdout", `line ${i}\n`);
  w.close();
  const files = Array.from(Deno.readDirSync(dir)).map((e) => e.name).sort();
  assert.deepEqual(files, ["c-json.log", "c-json.log.1", "c-json.log.2"]);
  for (const f of files) assert.ok(Deno.statSync(join(dir, f)).size <= 400);
  const entries = await readAll(path, 3);
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
  const entries = await readAll(path, 5);
  assert.deepEqual(entries.map((e) => e.log), Array.from({ length: 12 }, (_, i) => `line ${i}\n`));
  await Deno.remove(dir, { recursive: true });
});

Deno.test("readLogTail: the last n lines across the rotated file boundary, oldest first", async () => {
  const dir = await Deno.makeTempDir();
  const path = join(dir, "c-json.log");
  const w = await JsonLogWriter.open(path, { maxSize: 400, maxFiles: 3 });
  for (let i = 0; i < 30; i++) await w.write(i % 2 ? "stderr" : "stdout", `line ${i}\n`);
  w.close();
  const all = await readAll(path, 3);
  const inCurrent = (await Deno.readTextFile(path)).split("\n").filter(Boolean).length;
  assert.ok(inCurrent < all.length - 1, "the log spans several files");
  for (let n = 1; n <= all.length; n++) {
    assert.deepEqual(await readLogTail(path, n, 3), all.slice(-n), `tail ${n}`);
  }
  assert.deepEqual(await readLogTail(path, all.length + 100, 3), all, "n beyond the total: all");
  assert.deepEqual(await readLogTail(path, 0, 3), [], "n = 0: nothing");
  await Deno.remove(dir, { recursive: true });
});

Deno.test("readLogTail: an unterminated last line counts when whole, a torn one is skipped", async () => {
  const dir = await Deno.makeTempDir();
  const path = join(dir, "c-json.log");
  const [a, b] = [entry("a\n"), entry("b\n")];
  await Deno.writeTextFile(path, `${JSON.stringify(a)}\n${JSON.stringify(b)}`);
  assert.deepEqual(await readLogTail(path, 1), [b]);
  assert.deepEqual(await readLogTail(path, 5), [a, b]);
  assert.deepEqual(await readAll(path, 1), [a, b]);
  await Deno.writeTextFile(path, `${JSON.stringify(a)}\n${JSON.stringify(b)}\n{"log":"tor`);
  assert.deepEqual(await readLogTail(path, 1), [b]);
  assert.deepEqual(await readLogTail(path, 5), [a, b]);
  // A follower takes the current file over at an offset: the tail stops there.
  assert.deepEqual(await readLogTail(path, 5, 1, JSON.stringify(a).length + 1), [a]);
  assert.deepEqual(await readLogTail(path, 5, 1, 0), []);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("readLogTail and streamLogEntries: lines longer than a read chunk", async () => {
  const dir = await Deno.makeTempDir();
  const path = join(dir, "c-json.log");
  // 200 KB lines span several 64 KiB chunks; multi-byte text checks the byte-wise cuts.
  const texts = ["short\n", "é".repeat(100_000) + "\n", "mid\n", "x".repeat(200_000) + "\n", "end"];
  const w = await JsonLogWriter.open(path, { maxSize: 250_000, maxFiles: 4 });
  await w.writeLines("stdout", texts);
  w.close();
  assert.ok(Deno.readDirSync(dir).toArray().length > 1, "rotated");
  assert.deepEqual((await readAll(path, 4)).map((e) => e.log), texts);
  for (let n = 1; n <= texts.length; n++) {
    assert.deepEqual((await readLogTail(path, n, 4)).map((e) => e.log), texts.slice(-n));
  }
  await Deno.remove(dir, { recursive: true });
});

Deno.test("a log of 150,000 lines streams and tails without overflowing the stack", async () => {
  const dir = await Deno.makeTempDir();
  const path = join(dir, "c-json.log");
  const w = await JsonLogWriter.open(path);
  await w.writeLines("stdout", Array.from({ length: 150_000 }, (_, i) => `${i + 1}\n`));
  w.close();
  assert.ok(Deno.statSync(`${path}.1`).size > 0, "the default 10 MiB rotation happened");
  const expect = (from: number, to: number) =>
    Array.from({ length: to - from + 1 }, (_, i) => `${from + i}\n`);
  const logs: string[] = [];
  for await (const batch of streamLogEntries(path)) for (const e of batch) logs.push(e.log);
  assert.ok(logs.length === 150_000 && logs.every((l, i) => l === `${i + 1}\n`), "all, in order");
  assert.deepEqual((await readLogTail(path, 2)).map((e) => e.log), expect(149_999, 150_000));
  // Many chunks, some cut right after a newline, across both files.
  const tail = (await readLogTail(path, 140_000)).map((e) => e.log);
  assert.ok(tail.length === 140_000 && tail.every((l, i) => l === `${i + 10_001}\n`), "tail");
  await Deno.remove(dir, { recursive: true });
});
