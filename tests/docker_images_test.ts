/**
 * The real docker CLI's image commands against a corral daemon: `docker
 * load` of a multi-layer archive (whiteouts, opaque directory, image config)
 * and of an OCI layout, `docker images`, `docker run` of the loaded images,
 * `docker save` → `docker rmi` → `docker load`, `docker import --change`,
 * and the refusals (`docker pull` of an unreachable registry, a corrupt archive storing nothing).
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { dockerArchive, imageConfig, LOWER } from "../lib/image/_archive_fixtures.ts";
import { type BuildEntry, buildTar, gzip, listDir, sha256Hex } from "../lib/image/_test_utils.ts";
import { Docker, dockerTestOptions } from "./docker.ts";
import { type CliResult, sleep, type TestDaemon, withDaemon } from "./harness.ts";

const dockerTest = dockerTestOptions("tests/docker_images_test.ts");

/** Run the docker CLI against the daemon `d`, optionally feeding `stdin`. */
function docker(d: TestDaemon, args: string[], stdin?: Uint8Array): Promise<CliResult> {
  return new Docker(d).exec(args, { stdin });
}

/** Run docker and fail on a non-zero exit; returns stdout. */
function dockerOk(d: TestDaemon, ...args: string[]): Promise<string> {
  return new Docker(d).out(...args);
}

/** A base layer: the host's static busybox with the applets the tests use, and some files. */
async function baseLayer(): Promise<Uint8Array> {
  const links = ["sh", "ls", "cat", "id", "sleep", "touch"].map((name): BuildEntry => ({
    path: `bin/${name}`,
    type: "symlink",
    linkpath: "busybox",
  }));
  return await buildTar([
    { path: "bin/" },
    { path: "bin/busybox", data: await Deno.readFile("/bin/busybox"), mode: 0o755 },
    ...links,
    ...LOWER,
  ]);
}

/** Deletes etc/gone and hides what data/ had below. */
function whiteoutLayer(): Promise<Uint8Array> {
  return buildTar([
    { path: "etc/" },
    { path: "etc/.wh.gone" },
    { path: "data/" },
    { path: "data/.wh..wh..opq" },
    { path: "data/new", data: "from data/new\n" },
  ]);
}

const SCRIPT = "ls /etc /data; cat /data/new; echo $GREETING; pwd; id -u";
// /etc also has the three files the engine binds in, as in Docker.
const EXPECTED =
  "/data:\nnew\n\n/etc:\nadded\nhostname\nhosts\nkeep\nresolv.conf\nfrom data/new\nhello\n/data\n1000\n";

/** A `docker save` archive of three layers; the third adds etc/added. */
async function multiLayerArchive(): Promise<Uint8Array> {
  const layers = [
    await baseLayer(),
    await whiteoutLayer(),
    await buildTar([
      { path: "etc/" },
      { path: "etc/added", data: "added\n" },
    ]),
  ];
  return await dockerArchive({
    tags: ["multi:v1"],
    layers,
    run: {
      Env: ["PATH=/bin", "GREETING=hello"],
      Cmd: ["/bin/sh", "-c", SCRIPT],
      WorkingDir: "/data",
      User: "1000",
    },
  });
}

/** An OCI image layout of one gzip layer over the base layer. */
async function ociArchive(): Promise<Uint8Array> {
  const layers = [await baseLayer(), await buildTar([{ path: "oci", data: "from oci\n" }])];
  const blobs = await Promise.all(layers.map(gzip));
  const config = imageConfig(layers.map((l) => sha256Hex(l)), { Cmd: ["/bin/cat", "/oci"] });
  const descriptor = (mediaType: string, data: Uint8Array) => ({
    mediaType,
    digest: `sha256:${sha256Hex(data)}`,
    size: data.length,
  });
  const manifest = new TextEncoder().encode(JSON.stringify({
    schemaVersion: 2,
    mediaType: "application/vnd.oci.image.manifest.v1+json",
    config: descriptor("application/vnd.oci.image.config.v1+json", config),
    layers: blobs.map((b) => descriptor("application/vnd.oci.image.layer.v1.tar+gzip", b)),
  }));
  const index = {
    schemaVersion: 2,
    manifests: [{
      ...descriptor("application/vnd.oci.image.manifest.v1+json", manifest),
      annotations: {
        "io.containerd.image.name": "docker.io/library/ocimg:1",
        "org.opencontainers.image.ref.name": "1",
      },
    }],
  };
  return await buildTar([
    { path: "oci-layout", data: '{"imageLayoutVersion":"1.0.0"}' },
    { path: "index.json", data: JSON.stringify(index) },
    ...[config, manifest, ...blobs].map((data) => ({
      path: `blobs/sha256/${sha256Hex(data)}`,
      data,
    })),
  ]);
}

async function repoTags(d: TestDaemon): Promise<string[]> {
  return (await dockerOk(d, "images", "--format", "{{.Repository}}:{{.Tag}}")).split("\n")
    .filter(Boolean).sort();
}

Deno.test(
  "docker load runs a multi-layer image with its whiteouts; save, rmi, load round-trips",
  dockerTest,
  () =>
    withDaemon(async (d) => {
      const archive = join(d.dir, "multi.tar");
      await Deno.writeFile(archive, await multiLayerArchive());
      assert.equal(await dockerOk(d, "load", "-i", archive), "Loaded image: multi:v1\n");
      assert.deepEqual(await repoTags(d), ["busybox:latest", "multi:v1"]);
      // Deleted file gone, opaque dir showing only the upper content, config applied.
      assert.equal(await dockerOk(d, "run", "--rm", "multi:v1"), EXPECTED);
      const config = JSON.parse(
        await dockerOk(d, "image", "inspect", "multi:v1", "--format", "{{json .Config}}"),
      );
      assert.deepEqual(config.Cmd, ["/bin/sh", "-c", SCRIPT]);

      const saved = join(d.dir, "saved.tar");
      await dockerOk(d, "save", "-o", saved, "multi:v1");
      const rmi = await dockerOk(d, "rmi", "multi:v1");
      assert.match(rmi, /^Untagged: multi:v1\nDeleted: sha256:[0-9a-f]{64}\n/);
      assert.equal((rmi.match(/Deleted:/g) ?? []).length, 4, "the image and its 3 layers");
      assert.deepEqual(await repoTags(d), ["busybox:latest"]);
      assert.equal(await dockerOk(d, "load", "-i", saved), "Loaded image: multi:v1\n");
      assert.equal(await dockerOk(d, "run", "--rm", "multi:v1"), EXPECTED);
      // A command given at run time replaces the image's.
      assert.equal(await dockerOk(d, "run", "--rm", "multi:v1", "cat", "/etc/keep"), "keep\n");
      assert.deepEqual(await listDir(join(d.root, "images/tmp")), []);
    }),
);

Deno.test(
  "docker load < OCI layout, docker import --change, and the refusals store nothing",
  dockerTest,
  async () => {
    const oci = await ociArchive();
    const rootfs = await baseLayer();
    await withDaemon(async (d) => {
      const loaded = await docker(d, ["load"], oci);
      assert.equal(loaded.stdout, "Loaded image: ocimg:1\n", loaded.stderr);
      assert.equal(await dockerOk(d, "run", "--rm", "ocimg:1"), "from oci\n");

      const rootfsTar = join(d.dir, "rootfs.tar");
      await Deno.writeFile(rootfsTar, rootfs);
      const id = await dockerOk(
        d,
        "import",
        "--change",
        'CMD ["/bin/sh", "-c", "echo imported $A from $(pwd)"]',
        "--change",
        "ENV A=1",
        "--change",
        "WORKDIR /etc",
        rootfsTar,
        "imp:1",
      );
      assert.match(id, /^sha256:[0-9a-f]{64}\n$/);
      assert.equal(await dockerOk(d, "run", "--rm", "imp:1"), "imported 1 from /etc\n");
      const noCmd = await docker(d, ["import", rootfsTar, "bare:1"]);
      assert.equal(noCmd.code, 0, noCmd.stderr);
      const run = await docker(d, ["run", "--rm", "bare:1"]);
      assert.notEqual(run.code, 0);
      assert.match(run.stderr, /no command specified/);

      const before = await repoTags(d);
      const layers = await listDir(join(d.root, "images/layers"));
      const refusals: [string[], Uint8Array | undefined, RegExp][] = [
        [["pull", "alpine"], undefined, /registry docker\.io unreachable/],
        [["load"], oci.subarray(0, oci.length - 4096), /unexpected end of archive/],
        [["load"], new TextEncoder().encode("not an archive\n"), /Error response from daemon/],
        [["import", "--change", "ONBUILD RUN x", rootfsTar, "x:1"], undefined, /ONBUILD is not/],
        [["save", "-o", join(d.dir, "x.tar"), "nope:1"], undefined, /No such image: nope:1/],
      ];
      for (const [args, stdin, message] of refusals) {
        const r = await docker(d, args, stdin);
        assert.notEqual(r.code, 0, args.join(" "));
        assert.match(r.stderr, message, args.join(" "));
      }
      assert.deepEqual(await repoTags(d), before);
      assert.deepEqual(await listDir(join(d.root, "images/layers")), layers);
      assert.deepEqual(await listDir(join(d.root, "images/tmp")), []);
    });
  },
);

/** The HEALTHCHECK of hc:1: healthy once its command has made /data/ready. */
const IMAGE_CHECK = ["CMD-SHELL", "test -f /data/ready"];

Deno.test(
  "an image's HEALTHCHECK runs in its containers; run flags tune or disable it",
  dockerTest,
  () =>
    withDaemon(async (d) => {
      const archive = join(d.dir, "hc.tar");
      await Deno.writeFile(
        archive,
        await dockerArchive({
          tags: ["hc:1"],
          layers: [await baseLayer()],
          run: {
            Env: ["PATH=/bin"],
            Cmd: ["/bin/sh", "-c", "sleep 0.5; touch /data/ready; exec sleep 600"],
            Healthcheck: { Test: IMAGE_CHECK, Interval: 200e6, Retries: 1 },
          },
        }),
      );
      await dockerOk(d, "load", "-i", archive);
      const fmt = "{{json .Config.Healthcheck}}";
      // The docker CLI leaves out the zero durations (Go's omitempty).
      assert.deepEqual(JSON.parse(await dockerOk(d, "image", "inspect", "hc:1", "--format", fmt)), {
        Test: IMAGE_CHECK,
        Interval: 200e6,
        Retries: 1,
      });
      const status = async (name: string) => (await d.inspect(name)).State.Health?.Status;
      await dockerOk(d, "run", "-d", "--name", "checked", "hc:1");
      assert.equal(await status("checked"), "starting");
      await d.until(async () => await status("checked") === "healthy", 10_000, "healthy");
      // Timings without a command keep the image's test.
      await dockerOk(d, "run", "-d", "--name", "tuned", "--health-interval", "300ms", "hc:1");
      const tuned = (await d.inspect("tuned")).Config.Healthcheck!;
      assert.deepEqual([tuned.Test, tuned.Interval, tuned.Retries], [IMAGE_CHECK, 300e6, 1]);
      await d.until(async () => await status("tuned") === "healthy", 10_000, "tuned healthy");
      await dockerOk(d, "run", "-d", "--name", "unchecked", "--no-healthcheck", "hc:1");
      await sleep(1000);
      assert.equal(await status("unchecked"), undefined);
      assert.match(
        await dockerOk(d, "ps", "--format", "{{.Names}} {{.Status}}"),
        /checked Up .*\(healthy\)/,
      );
      await dockerOk(d, "rm", "-f", "checked", "tuned", "unchecked");
    }),
);
