/**
 * Hostile image uploads against a real daemon: archives refused early (xz,
 * garbage), uploads cut off mid-body, gzip bombs over the size cap. Each is a
 * 400 with one clear line, the daemon keeps serving, and nothing is left in
 * the image store. Also `corral image import` of a path relative to the
 * caller, and no file content echoed by the import-by-path endpoint.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { dockerArchive } from "../lib/image/_archive_fixtures.ts";
import { buildTar, gzip, sha256Hex } from "../lib/image/_test_utils.ts";
import { Docker, dockerTestOptions } from "./docker.ts";
import { integration, type TestDaemon, withDaemon } from "./harness.ts";

const enc = new TextEncoder();
const NO_BUSYBOX = { args: ["--no-default-image"] };

/** `n` random bytes (incompressible, so the compressed archive stays large). */
function randomBytes(n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let off = 0; off < n; off += 65536) crypto.getRandomValues(out.subarray(off, off + 65536));
  return out;
}

/** Compress `file` with xz (zstd is a format corral reads: registry layers use it). */
async function compress(file: string): Promise<{ path: string; format: string }> {
  const out = await new Deno.Command("xz", {
    args: ["-0", "-T0", "-k", "-f", file],
    stdout: "null",
    stderr: "piped",
  }).output();
  if (!out.success) throw new Error(`xz failed: ${new TextDecoder().decode(out.stderr)}`);
  return { path: `${file}.xz`, format: "xz" };
}

/** POST a file as the body; returns the status and the message of an error. */
async function post(d: TestDaemon, path: string, file: string) {
  const res = await d.api.request("POST", path, (await Deno.open(file)).readable);
  const text = await res.text();
  return { status: res.status, message: res.status >= 400 ? JSON.parse(text).message : text };
}

/** Send a request head announcing `declared` bytes, then only `sent`, then hang up. */
async function abortedUpload(d: TestDaemon, path: string, sent: Uint8Array, declared: number) {
  const conn = await Deno.connect({ transport: "unix", path: d.sock });
  const head = `POST /v1.43${path} HTTP/1.1\r\nHost: corral\r\n` +
    `Content-Type: application/x-tar\r\nContent-Length: ${declared}\r\n\r\n`;
  for (const bytes of [enc.encode(head), sent]) {
    for (let off = 0; off < bytes.length;) off += await conn.write(bytes.subarray(off));
  }
  conn.close();
}

/** The daemon still answers, and never hit an uncaught error. */
async function assertServing(d: TestDaemon): Promise<void> {
  const res = await d.api.request("GET", "/_ping");
  assert.equal(res.status, 200);
  assert.equal(await res.text(), "OK");
  assert.doesNotMatch(await d.log(), /Uncaught|unhandled rejection/);
}

async function listDir(dir: string): Promise<string[]> {
  return (await Array.fromAsync(Deno.readDir(dir))).map((e) => e.name).sort();
}

/** Nothing of a failed load or import is left in the store. */
async function assertStoreEmpty(d: TestDaemon): Promise<void> {
  await d.until(async () => (await listDir(join(d.root, "images/tmp"))).length === 0);
  assert.deepEqual(await listDir(join(d.root, "images/layers")), []);
  assert.deepEqual(await d.api.json("GET", "/images/json"), []);
}

Deno.test(
  "uploads refused early (xz, garbage) are a 400 and the daemon keeps serving",
  integration,
  () =>
    withDaemon(async (d) => {
      const tar = join(d.dir, "big.tar");
      await Deno.writeFile(tar, await buildTar([{ path: "blob", data: randomBytes(20 << 20) }]));
      const { path: packed, format } = await compress(tar);
      assert.ok((await Deno.stat(packed)).size > 19 << 20);
      const refused = new RegExp(`^unsupported archive compression: ${format} \\(`);
      for (const path of ["/images/load", "/images/create?fromSrc=-&repo=x"]) {
        const { status, message } = await post(d, path, packed);
        assert.equal(status, 400);
        assert.match(message, refused);
        await assertServing(d);
      }
      const cli = await d.cli("load", "-i", packed);
      assert.equal(cli.code, 1);
      assert.match(
        cli.stderr,
        new RegExp(`^corral: unsupported archive compression: ${format}.*\n$`),
      );

      const garbage = join(d.dir, "garbage");
      await Deno.writeFile(garbage, randomBytes(12 << 20));
      const junk = await post(d, "/images/load", garbage);
      assert.equal(junk.status, 400);
      assert.match(junk.message, /^invalid tar header checksum/);
      await assertServing(d);
      await assertStoreEmpty(d);
    }, NO_BUSYBOX),
);

Deno.test(
  "docker load and docker import of an xz archive: one line, and the daemon keeps serving",
  dockerTestOptions("tests/adversarial_images_test.ts"),
  () =>
    withDaemon(async (d) => {
      const tar = join(d.dir, "big.tar");
      await Deno.writeFile(tar, await buildTar([{ path: "blob", data: randomBytes(12 << 20) }]));
      const { path: packed, format } = await compress(tar);
      for (const args of [["load", "-i", packed], ["import", packed, "x:1"]]) {
        const res = await new Docker(d).exec(args);
        assert.equal(res.code, 1);
        assert.equal(
          res.stderr,
          `Error response from daemon: unsupported archive compression: ${format} ` +
            "(use a plain, gzip or zstd tar)\n",
        );
        await assertServing(d);
      }
    }, NO_BUSYBOX),
);

Deno.test(
  "uploads cut off mid-body do not end the daemon",
  integration,
  () =>
    withDaemon(async (d) => {
      const tar = await buildTar([{ path: "blob", data: randomBytes(8 << 20) }]);
      const xz = new Uint8Array([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00, ...randomBytes(1 << 20)]);
      const cases: [string, Uint8Array][] = [
        ["/images/load", tar.subarray(0, 3 << 20)], // mid-member
        ["/images/create?fromSrc=-&repo=cut", tar.subarray(0, 3 << 20)],
        ["/images/load", xz], // refused, then cut off while the rest is drained
        ["/images/load", new Uint8Array(0)], // the head only
      ];
      for (const [path, sent] of cases) {
        await abortedUpload(d, path, sent, 20 << 20);
        await assertServing(d);
      }
      await assertStoreEmpty(d);
      // A whole upload still works afterwards.
      const ok = await d.api.call("POST", "/images/load", await dockerArchive({ tags: ["ok:1"] }));
      assert.match(await ok.text(), /Loaded image: ok:1/);
    }, NO_BUSYBOX),
);

Deno.test(
  "a gzip bomb over --max-image-size is a 400 and leaves nothing behind",
  integration,
  () =>
    withDaemon(async (d) => {
      // 64 MiB of zeros: a tar that gzip makes about 64 KiB.
      const bombTar = await buildTar([{ path: "zeros", data: new Uint8Array(64 << 20) }]);
      const bomb = await gzip(bombTar);
      assert.ok(bomb.length < 1 << 20);
      const files: Record<string, Uint8Array> = {
        // docker import of the bomb itself.
        rootfs: bomb,
        // docker load of an archive that is one.
        archive: await gzip(await dockerArchive({ layers: [bombTar], tags: ["b:1"] })),
        // docker load of a small archive holding a bomb layer.
        layer: await dockerArchive({
          layers: [bomb],
          diffIds: [sha256Hex(bombTar)],
          tags: ["b:2"],
        }),
      };
      const expect: [string, string, RegExp][] = [
        ["/images/create?fromSrc=-&repo=b", "rootfs", /^image too large/],
        ["/images/load", "archive", /^image archive too large/],
        ["/images/load", "layer", /^image layers too large/],
      ];
      for (const [path, name, message] of expect) {
        const file = join(d.dir, name);
        await Deno.writeFile(file, files[name]);
        const res = await post(d, path, file);
        assert.equal(res.status, 400, res.message);
        assert.match(res.message, message);
        assert.match(
          res.message,
          /more than 4 MiB uncompressed \(the daemon's --max-image-size\)$/,
        );
        await assertServing(d);
        await assertStoreEmpty(d);
      }
      // Under the cap, a load works.
      const ok = await d.api.call("POST", "/images/load", await dockerArchive({ tags: ["ok:1"] }));
      assert.match(await ok.text(), /Loaded image: ok:1/);
    }, { args: ["--no-default-image", "--max-image-size", "4m"] }),
);

Deno.test(
  "image import reads a relative path in the caller's directory and echoes no file content",
  integration,
  () =>
    withDaemon(async (d) => {
      const work = join(d.dir, "work");
      await Deno.mkdir(join(work, "tree"), { recursive: true });
      await Deno.writeFile(
        join(work, "rootfs.tar"),
        await buildTar([{ path: "hello", data: "from a file\n" }]),
      );
      await Deno.writeTextFile(join(work, "tree/hello"), "from a directory\n");
      // The CLI runs elsewhere than the daemon, in `work`.
      const corral = async (...args: string[]) => {
        const out = await new Deno.Command(d.program[0], {
          args: [...d.program.slice(1), "-H", d.host, ...args],
          cwd: work,
          stdin: "null",
        }).output();
        const dec = new TextDecoder();
        return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
      };
      for (const [source, name] of [["rootfs.tar", "rel:1"], ["./tree", "reldir:1"]]) {
        const res = await corral("image", "import", source, name);
        assert.equal(res.code, 0, res.stderr);
        assert.match(res.stdout, /^sha256:[0-9a-f]{64}\n$/);
      }
      const tags = (await d.api.json<{ RepoTags: string[] }[]>("GET", "/images/json"))
        .flatMap((i) => i.RepoTags).sort();
      assert.deepEqual(tags, ["rel:1", "reldir:1"]);

      const relative = await d.api.request("POST", "/corral/images/import", {
        Source: "rootfs.tar",
        Name: "x:1",
      });
      assert.equal(relative.status, 400);
      assert.match((await relative.json()).message, /Source must be an absolute path/);

      // A file that is no archive: the error says so without quoting it.
      const secret = join(d.dir, "shadow");
      await Deno.writeTextFile(secret, "root:$6$salt$hash:19000:0:99999:7:::\n".repeat(30));
      const byPath = await d.api.request("POST", "/corral/images/import", {
        Source: secret,
        Name: "x:1",
      });
      assert.equal(byPath.status, 400);
      const { message } = await byPath.json();
      assert.match(message, /^invalid tar header checksum/);
      assert.doesNotMatch(message, /root|salt|99999|:::/);
      const cli = await corral("image", "import", secret, "x:1");
      assert.equal(cli.code, 1);
      assert.doesNotMatch(cli.stderr, /root|salt|99999|:::/);
    }, NO_BUSYBOX),
);
