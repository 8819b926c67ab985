import assert from "node:assert/strict";
import { join } from "node:path";
import { errorKind } from "../errdefs/mod.ts";
import { getXattr } from "../sys/mod.ts";
import {
  assertWhiteoutsApplied,
  dockerArchive,
  imageConfig,
  LOWER,
  newStore,
  RUN,
  UPPER,
  withMergedView,
} from "./_archive_fixtures.ts";
import { buildTar, gzip, listDir, sha256Hex, streamOf, withTempDir } from "./_test_utils.ts";
import { loadImageArchive, loadMessages } from "./archive_load.ts";
import { OPAQUE_XATTR } from "./whiteout.ts";

Deno.test("loadImageArchive stores a docker archive's layers with overlay whiteouts", async () => {
  await withTempDir(async (dir) => {
    const store = await newStore(dir);
    const loaded = await loadImageArchive(
      store,
      streamOf(await dockerArchive({ tags: ["docker.io/library/multi:v1", "multi:alias"] })),
    );
    assert.equal(loaded.length, 1);
    assert.deepEqual(loadMessages(loaded), [
      "Loaded image: multi:v1",
      "Loaded image: multi:alias",
    ]);
    const img = store.resolve("multi:v1");
    assert.equal(img.Id, loaded[0].id);
    assert.equal(img.Layers.length, 2);
    assert.equal(img.Created, "2024-05-06T07:08:09.123Z");
    assert.deepEqual(img.Config.Cmd, RUN.Cmd);
    assert.deepEqual(img.Config.Env, RUN.Env);
    assert.equal(img.Config.WorkingDir, "/data");
    assert.equal(img.Config.User, "1000:1000");
    assert.equal(img.Config.Entrypoint, null);

    const [top, bottom] = store.layerDirs(img);
    const wh = await Deno.lstat(join(top, "etc/gone"));
    assert.ok(wh.isCharDevice && wh.rdev === 0, "etc/gone is an overlay whiteout");
    assert.equal(getXattr(join(top, "data"), OPAQUE_XATTR), "y");
    assert.deepEqual(await listDir(join(top, "data")), ["new"], "no marker file is created");
    assert.equal(await Deno.readTextFile(join(bottom, "etc/gone")), "gone\n");
    await withMergedView(store, img, dir, assertWhiteoutsApplied);
    assert.deepEqual(await listDir(join(dir, "root/images/tmp")), []);
  });
});

Deno.test("loadImageArchive reads a gzip OCI layout, picking this machine's platform", async () => {
  await withTempDir(async (dir) => {
    const store = await newStore(dir);
    const layer = await buildTar([{ path: "hello", data: "from oci\n" }]);
    const blob = await gzip(layer);
    const config = imageConfig([sha256Hex(layer)], { Entrypoint: ["/hello"], Env: ["A=1"] });
    const manifest = new TextEncoder().encode(JSON.stringify({
      schemaVersion: 2,
      mediaType: "application/vnd.oci.image.manifest.v1+json",
      config: {
        mediaType: "application/vnd.oci.image.config.v1+json",
        digest: `sha256:${sha256Hex(config)}`,
      },
      layers: [{
        mediaType: "application/vnd.oci.image.layer.v1.tar+gzip",
        digest: `sha256:${sha256Hex(blob)}`,
      }],
    }));
    const arch = Deno.build.arch === "x86_64" ? "amd64" : "arm64";
    // A multi-platform index: the other platform's manifest is not in the archive at all.
    const platforms = new TextEncoder().encode(JSON.stringify({
      schemaVersion: 2,
      mediaType: "application/vnd.oci.image.index.v1+json",
      manifests: [
        {
          mediaType: "application/vnd.oci.image.manifest.v1+json",
          digest: `sha256:${"0".repeat(64)}`,
          platform: { os: "linux", architecture: "s390x" },
        },
        {
          mediaType: "application/vnd.oci.image.manifest.v1+json",
          digest: `sha256:${sha256Hex(manifest)}`,
          platform: { os: "linux", architecture: arch },
        },
      ],
    }));
    const index = {
      schemaVersion: 2,
      manifests: [
        {
          mediaType: "application/vnd.oci.image.index.v1+json",
          digest: `sha256:${sha256Hex(platforms)}`,
          annotations: {
            "io.containerd.image.name": "docker.io/library/ocimg:2",
            "org.opencontainers.image.ref.name": "2",
          },
        },
        {
          mediaType: "application/vnd.oci.image.manifest.v1+json",
          digest: `sha256:${sha256Hex(manifest)}`,
          annotations: { "org.opencontainers.image.ref.name": "localhost:5000/ocimg:extra" },
        },
      ],
    };
    const archive = await buildTar([
      { path: "oci-layout", data: '{"imageLayoutVersion":"1.0.0"}' },
      { path: "index.json", data: JSON.stringify(index) },
      ...[config, manifest, platforms, blob].map((data) => ({
        path: `blobs/sha256/${sha256Hex(data)}`,
        data,
      })),
    ]);
    // The whole archive gzip-compressed too, as `docker save | gzip` gives.
    const loaded = await loadImageArchive(store, streamOf(await gzip(archive)));
    assert.deepEqual(loadMessages(loaded), [
      "Loaded image: ocimg:2",
      "Loaded image: localhost:5000/ocimg:extra",
    ]);
    const img = store.resolve("ocimg:2");
    assert.equal(store.resolve("localhost:5000/ocimg:extra").Id, img.Id);
    assert.deepEqual(img.Layers, [sha256Hex(layer)]);
    assert.deepEqual(img.Config.Entrypoint, ["/hello"]);
    assert.deepEqual(img.Config.Env, ["A=1"]);
    assert.equal(await Deno.readTextFile(join(store.layerDirs(img)[0], "hello")), "from oci\n");
  });
});

Deno.test("loadImageArchive loads an untagged image and a layer used twice", async () => {
  await withTempDir(async (dir) => {
    const store = await newStore(dir);
    const same = await buildTar([{ path: "same", data: "x" }]);
    const [loaded] = await loadImageArchive(
      store,
      streamOf(await dockerArchive({ layers: [same, await buildTar(UPPER), same] })),
    );
    assert.deepEqual(loadMessages([loaded]), [`Loaded image ID: ${loaded.id}`]);
    const img = store.resolve(loaded.id);
    assert.deepEqual(img.RepoTags, []);
    assert.equal(img.Layers.length, 3);
    // Overlay refuses a repeated lowerdir: the layer is listed once, at its top place.
    const dirs = store.layerDirs(img);
    assert.equal(dirs.length, 2);
    assert.equal(dirs[0], store.layerDir(sha256Hex(same)));
    await withMergedView(store, img, dir, async (merged) => {
      assert.equal(await Deno.readTextFile(join(merged, "same")), "x");
      assert.deepEqual(await listDir(join(merged, "data")), ["new"]);
    });
  });
});

Deno.test("loadImageArchive refuses bad archives and stores nothing", async () => {
  await withTempDir(async (dir) => {
    const store = await newStore(dir);
    const lower = await buildTar(LOWER);
    const upper = await buildTar(UPPER);
    const good = await dockerArchive({ tags: ["bad:1"] });
    const noManifest = await buildTar([{ path: "layer.tar", data: lower }]);
    const cases: [string, Uint8Array, RegExp][] = [
      // Layer 1 is fine and unpacked first: it must not be left behind either.
      [
        "second layer not matching its diff id",
        await dockerArchive({ tags: ["bad:1"], diffIds: [sha256Hex(lower), sha256Hex("other")] }),
        /does not match its diff id/,
      ],
      [
        "missing layer",
        await buildTar([
          {
            path: "manifest.json",
            data: JSON.stringify([{
              Config: "c.json",
              RepoTags: ["bad:1"],
              Layers: ["nope/layer.tar"],
            }]),
          },
          { path: "c.json", data: imageConfig([sha256Hex(upper)]) },
        ]),
        /nope\/layer.tar is missing/,
      ],
      [
        "layer path leaving the archive",
        await buildTar([
          {
            path: "manifest.json",
            data: JSON.stringify([{
              Config: "c.json",
              RepoTags: [],
              Layers: ["../../etc/passwd"],
            }]),
          },
          { path: "c.json", data: imageConfig([sha256Hex(upper)]) },
        ]),
        /escapes the root/,
      ],
      [
        "layer symlink leaving the archive",
        await buildTar([
          {
            path: "manifest.json",
            data: JSON.stringify([{ Config: "c.json", RepoTags: [], Layers: ["l/layer.tar"] }]),
          },
          { path: "c.json", data: imageConfig([sha256Hex(upper)]) },
          { path: "l/" },
          { path: "l/layer.tar", type: "symlink", linkpath: "/etc/passwd" },
        ]),
        /links outside the archive/,
      ],
      [
        "fewer layers than diff ids",
        await dockerArchive({ layers: [lower], diffIds: [sha256Hex(lower), sha256Hex(upper)] }),
        /1 layers for the 2 diff ids/,
      ],
      ["config of another OS", await windows(lower), /not linux/],
      ["invalid tag", await dockerArchive({ tags: ["Bad:1"] }), /must be lowercase/],
      ["no manifest.json nor index.json", noManifest, /not an image archive/],
      ["truncated", good.subarray(0, good.length - 3000), /unexpected end of archive/],
      ["not a tar", new TextEncoder().encode("hello ".repeat(200)), /checksum/],
      ["empty", new Uint8Array(), /not an image archive/],
    ];
    for (const [what, bytes, message] of cases) {
      await assert.rejects(loadImageArchive(store, streamOf(bytes)), (err: Error) => {
        assert.equal(errorKind(err), "invalid", `${what}: ${err.message}`);
        assert.match(err.message, message, what);
        return true;
      }, what);
      assert.deepEqual(store.list(), [], what);
      assert.deepEqual(await listDir(join(dir, "root/images/layers")), [], what);
      assert.deepEqual(await listDir(join(dir, "root/images/tmp")), [], what);
    }
    // The same store then loads a good archive.
    await loadImageArchive(store, streamOf(good));
    assert.deepEqual(store.list().map((i) => i.RepoTags), [["bad:1"]]);
  });
});

/** A docker archive whose config is for Windows. */
async function windows(layer: Uint8Array): Promise<Uint8Array> {
  const config = new TextEncoder().encode(JSON.stringify({
    os: "windows",
    rootfs: { type: "layers", diff_ids: [`sha256:${sha256Hex(layer)}`] },
  }));
  return await buildTar([
    {
      path: "manifest.json",
      data: JSON.stringify([{ Config: "c.json", RepoTags: [], Layers: ["l.tar"] }]),
    },
    { path: "c.json", data: config },
    { path: "l.tar", data: layer },
  ]);
}

Deno.test("loadImageArchive keeps the image's health check and refuses a malformed one", async () => {
  await withTempDir(async (dir) => {
    const store = await newStore(dir);
    const check = { Test: ["CMD-SHELL", "test -f /data/new"], Interval: 200_000_000, Retries: 2 };
    await loadImageArchive(
      store,
      streamOf(await dockerArchive({ tags: ["hc:1"], run: { ...RUN, Healthcheck: check } })),
    );
    assert.deepEqual(store.resolve("hc:1").Config.Healthcheck, {
      ...check,
      Timeout: 0,
      StartPeriod: 0,
    });
    // An image without one keeps no field at all (its config is what it was).
    await loadImageArchive(store, streamOf(await dockerArchive({ tags: ["plain:1"] })));
    assert.equal("Healthcheck" in store.resolve("plain:1").Config, false);

    const bad = { ...RUN, Healthcheck: { Test: ["CMD", "true"], Retries: -1 } };
    await assert.rejects(
      loadImageArchive(store, streamOf(await dockerArchive({ tags: ["bad:1"], run: bad }))),
      (err: Error) => errorKind(err) === "invalid" && /Healthcheck.Retries/.test(err.message),
    );
    assert.throws(() => store.resolve("bad:1"));
  });
});
