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
  const pax = (key: string, value: string) => {
    const body = ` ${key}=${value}\n`;
    let len = body.length + 1;
    while (`${len}${body}`.length !== len) len++;
    return `${len}${body}`;
  };
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
