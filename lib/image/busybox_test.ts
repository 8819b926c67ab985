import assert from "node:assert/strict";
import { join } from "node:path";
import { errorKind } from "../errdefs/mod.ts";
import { withTempDir } from "./_test_utils.ts";
import { isStaticElf } from "./elf.ts";
import { ImageStore } from "./store.ts";

const BUSYBOX = "/bin/busybox";

Deno.test("isStaticElf tells static from dynamic executables", async () => {
  assert.equal(await isStaticElf(BUSYBOX), true);
  assert.equal(await isStaticElf(Deno.execPath()), false);
  await assert.rejects(isStaticElf("/etc/hostname"), (err) => errorKind(err) === "invalid");
});

Deno.test("ensureBusybox builds a runnable rootfs once", async () => {
  await withTempDir(async (dir) => {
    const store = new ImageStore(dir);
    await store.load();
    const img = await store.ensureBusybox();
    assert.deepEqual(img.RepoTags, ["busybox:latest"]);
    assert.deepEqual(img.Config.Cmd, ["sh"]);
    assert.deepEqual(img.Config.Env, [
      "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    ]);
    const [layer] = store.layerDirs(img);
    assert.equal((await Deno.lstat(join(layer, "bin/sh"))).isSymlink, true);
    assert.equal(await Deno.realPath(join(layer, "usr/bin/env")), join(layer, "bin/busybox"));
    assert.equal((await Deno.stat(join(layer, "tmp"))).mode! & 0o7777, 0o1777);
    assert.match(await Deno.readTextFile(join(layer, "etc/passwd")), /^root:x:0:0:/);
    for (const d of ["dev", "proc", "sys", "etc", "root"]) {
      assert.equal((await Deno.stat(join(layer, d))).isDirectory, true, d);
    }
    const out = await new Deno.Command(join(layer, "bin/busybox"), { args: ["echo", "hi"] })
      .output();
    assert.equal(new TextDecoder().decode(out.stdout), "hi\n");
    // The applet link works by name too.
    const sh = await new Deno.Command(join(layer, "bin/sh"), { args: ["-c", "echo $((6*7))"] })
      .output();
    assert.equal(new TextDecoder().decode(sh.stdout), "42\n");

    assert.equal((await store.ensureBusybox()).Id, img.Id);
    // Rebuilding the same content under another name gives the same image.
    assert.equal((await store.ensureBusybox("bb:2")).Id, img.Id);
    assert.equal(store.list().length, 1);
  });
});

Deno.test("ensureBusybox refuses a missing or dynamic busybox", async () => {
  await withTempDir(async (dir) => {
    const store = new ImageStore(dir);
    await store.load();
    await assert.rejects(
      store.ensureBusybox("busybox", join(dir, "nope")),
      (err: Error) => errorKind(err) === "not_found" && /busybox not found/.test(err.message),
    );
    await assert.rejects(
      store.ensureBusybox("busybox", Deno.execPath()),
      (err: Error) => errorKind(err) === "invalid" && /dynamically linked/.test(err.message),
    );
    assert.equal(store.find("busybox"), null);
  });
});
