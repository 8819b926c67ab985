import assert from "node:assert/strict";
import { join } from "node:path";
import { CorralError } from "../errdefs/mod.ts";
import { craftTar, hostTar, streamOf, withTempDir } from "./_test_utils.ts";
import { readTar, type TarEntry } from "./tar.ts";

interface Seen {
  path: string;
  type: string;
  linkpath: string;
  text: string;
}

async function collect(stream: ReadableStream<Uint8Array>, readBodies = true): Promise<Seen[]> {
  const out: Seen[] = [];
  const dec = new TextDecoder();
  for await (const e of readTar(stream)) {
    let text = "";
    if (readBodies) {
      for await (const part of e.body()) text += dec.decode(part, { stream: true });
    }
    out.push({ path: e.path, type: e.type, linkpath: e.linkpath, text });
  }
  return out;
}

/** One PAX record: its length counts itself. */
function pax(key: string, value: string): string {
  const body = ` ${key}=${value}\n`;
  let len = body.length + 1;
  while (`${len}${body}`.length !== len) len++;
  return `${len}${body}`;
}

const LONG_DIR = "d".repeat(60) + "/" + "e".repeat(60);
const LONG_FILE = `${LONG_DIR}/${"f".repeat(120)}.txt`;

for (const format of ["gnu", "posix", "ustar"]) {
  Deno.test(`readTar reads GNU tar's ${format} format with long names`, async () => {
    await withTempDir(async (dir) => {
      const src = join(dir, "src");
      await Deno.mkdir(join(src, LONG_DIR), { recursive: true });
      await Deno.writeTextFile(join(src, "hello.txt"), "hello\n");
      // ustar cannot hold a 120-character base name: it gets a shorter one.
      const file = format === "ustar" ? `${LONG_DIR}/short.txt` : LONG_FILE;
      await Deno.writeTextFile(join(src, file), "x".repeat(1000));
      await Deno.symlink(
        format === "ustar" ? "short.txt" : "f".repeat(120) + ".txt",
        join(src, LONG_DIR, "ln"),
      );
      const tar = join(dir, "a.tar");
      await hostTar([
        `--format=${format}`,
        "-cf",
        tar,
        "-C",
        src,
        "hello.txt",
        LONG_DIR.split("/")[0],
      ]);
      const entries = await collect((await Deno.open(tar)).readable);
      const byPath = new Map(entries.map((e) => [e.path.replace(/\/$/, ""), e]));
      assert.deepEqual(byPath.get("hello.txt")?.text, "hello\n");
      assert.deepEqual(byPath.get(file)?.text, "x".repeat(1000));
      assert.deepEqual(byPath.get(file)?.type, "file");
      assert.deepEqual(byPath.get(LONG_DIR)?.type, "dir");
      assert.deepEqual(byPath.get(`${LONG_DIR}/ln`)?.type, "symlink");
    });
  });
}

Deno.test("readTar skips unread bodies and reads every entry", async () => {
  const tar = craftTar([
    { name: "a", data: "A".repeat(700) },
    { name: "b", data: "B" },
    { name: "dir/", type: "5" },
    { name: "h", type: "1", linkname: "a" },
  ]);
  const entries = await collect(streamOf(tar), false);
  assert.deepEqual(entries.map((e) => [e.path, e.type, e.linkpath]), [
    ["a", "file", ""],
    ["b", "file", ""],
    ["dir/", "dir", ""],
    ["h", "hardlink", "a"],
  ]);
});

Deno.test("readTar applies PAX and GNU long name records to the next entry only", async () => {
  const tar = craftTar([
    {
      name: "PaxHeader",
      type: "x",
      data: pax("path", "pax/long/name") + pax("linkpath", "target"),
    },
    { name: "short", type: "2" },
    { name: "././@LongLink", type: "L", data: "gnu/long/name\0" },
    { name: "trunc", data: "gnu" },
    { name: "global", type: "g", data: pax("path", "ignored") },
    { name: "plain", data: "p" },
  ]);
  const entries = await collect(streamOf(tar));
  assert.deepEqual(entries.map((e) => [e.path, e.type, e.linkpath, e.text]), [
    ["pax/long/name", "symlink", "target", ""],
    ["gnu/long/name", "file", "", "gnu"],
    ["plain", "file", "", "p"],
  ]);
});

Deno.test("readTar reports device nodes, fifos and unknown types", async () => {
  const tar = craftTar([
    { name: "null", type: "3" },
    { name: "sda", type: "4" },
    { name: "fifo", type: "6" },
    { name: "weird", type: "Z" },
  ]);
  const entries: TarEntry[] = [];
  for await (const e of readTar(streamOf(tar))) entries.push(e);
  assert.deepEqual(entries.map((e) => e.type), ["char", "block", "fifo", "unknown"]);
});

Deno.test("readTar rejects a bad checksum and a truncated archive", async () => {
  const tar = craftTar([{ name: "a", data: "x".repeat(2000) }]);
  const bad = tar.slice();
  bad[0] ^= 1;
  await assert.rejects(() => collect(streamOf(bad)), (err: Error) => {
    assert.deepEqual((err as CorralError).kind, "invalid");
    return /checksum/.test(err.message);
  });
  await assert.rejects(() => collect(streamOf(tar.slice(0, 1200))), /unexpected end of archive/);
});

Deno.test("readTar cancels the source when the caller stops early", async () => {
  let cancelled = false;
  const inner = streamOf(craftTar([{ name: "a" }, { name: "b" }]));
  const reader = inner.getReader();
  const source = new ReadableStream<Uint8Array>({
    async pull(c) {
      const { done, value } = await reader.read();
      if (done) c.close();
      else c.enqueue(value);
    },
    cancel() {
      cancelled = true;
    },
  });
  for await (const _ of readTar(source)) break;
  assert.deepEqual(cancelled, true);
});

Deno.test("readTar never quotes the archive's bytes in its errors", async () => {
  const shadow = "root:$6$secretsalt$hash:19000:0:99999:7:::\n".repeat(20);
  const header = craftTar([{ name: "a", data: "x" }]);
  // A valid checksum over a field that is not a number.
  header.set(new TextEncoder().encode("s3cr3t!"), 108);
  header.set(new TextEncoder().encode("        "), 148);
  const sum = header.subarray(0, 512).reduce((a, b) => a + b, 0);
  header.set(new TextEncoder().encode(sum.toString(8).padStart(6, "0") + "\0 "), 148);
  const cases: [Uint8Array, RegExp][] = [
    [new TextEncoder().encode(shadow), /^invalid tar header checksum/],
    [header, /^invalid tar header uid \(not an octal number\)$/],
    [
      craftTar([{ name: "p", type: "x", data: pax("size", "s3cr3t") }, { name: "a" }]),
      /^invalid PAX size$/,
    ],
  ];
  for (const [bytes, message] of cases) {
    await assert.rejects(() => collect(streamOf(bytes)), (err: Error) => {
      assert.match(err.message, message);
      assert.doesNotMatch(err.message, /root|99999|:::|s3cr3t/);
      return true;
    });
  }
});

Deno.test("readTar refuses malformed sparse maps", async () => {
  const sparse = (map: string, data: string) =>
    craftTar([
      {
        name: "p",
        type: "x",
        data: pax("GNU.sparse.size", "100") + pax("GNU.sparse.map", map),
      },
      { name: "f", data },
    ]);
  const bad: [string, string, RegExp][] = [
    ["0,5,3,5", "x".repeat(10), /malformed tar sparse map/], // overlapping
    ["0,5,98,5", "x".repeat(10), /malformed tar sparse map/], // past the end
    ["0,5,10,5", "x".repeat(7), /does not match the data stored/],
    ["0,5,10", "x".repeat(5), /malformed tar sparse map/],
  ];
  for (const [map, data, message] of bad) {
    await assert.rejects(() => collect(streamOf(sparse(map, data))), message);
  }
  const [ok] = await collect(streamOf(sparse("0,2,50,3", "abcde")));
  assert.deepEqual([ok.path, ok.text], ["f", "abcde"]);
});
