/**
 * Pull, push and login against a real distribution registry
 * (`docker-registry`, tests/registry.ts) on 127.0.0.1, with images put there
 * by skopeo in formats corral did not write (Docker schema 2, OCI, zstd
 * layers, a multi-platform index), through a real daemon.
 * @module
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { join } from "node:path";
import { hostArchitecture } from "../lib/image/mod.ts";
import { type CliResult, CORRAL, integration, type TestDaemon, withDaemon } from "./harness.ts";
import {
  freePort,
  type LayoutImage,
  randomBytes,
  RegistryProxy,
  skopeo,
  skopeoPush,
  startRegistry,
  type TestRegistry,
  writeOciLayout,
} from "./registry.ts";

const sha256 = (bytes: Uint8Array) => `sha256:${createHash("sha256").update(bytes).digest("hex")}`;

/** The manifest and config digests skopeo sees for `ref` (the platform's manifest of an index). */
async function remoteDigests(ref: string): Promise<{ manifest: string; config: string }> {
  const raw = await skopeo("inspect", "--tls-verify=false", "--raw", `docker://${ref}`);
  const manifest = sha256(new TextEncoder().encode(raw));
  const config = await skopeo(
    "inspect",
    "--tls-verify=false",
    "--raw",
    "--config",
    `docker://${ref}`,
  );
  return { manifest, config: sha256(new TextEncoder().encode(config)) };
}

/** Run the CLI with its own config dir (credentials) and extra environment. */
async function cli(
  d: TestDaemon,
  args: string[],
  env: Record<string, string> = {},
  stdin?: string,
): Promise<CliResult> {
  const child = new Deno.Command(CORRAL[0], {
    args: [...CORRAL.slice(1), "-H", d.host, ...args],
    env: { CORRAL_CONFIG: join(d.dir, "cli-config"), ...env },
    stdin: stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  if (stdin !== undefined) {
    const w = child.stdin.getWriter();
    await w.write(new TextEncoder().encode(stdin));
    await w.close();
  }
  const out = await child.output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

async function ok(d: TestDaemon, ...args: string[]): Promise<string> {
  const r = await cli(d, args);
  if (r.code !== 0) {
    throw new Error(`corral ${args.join(" ")} exited ${r.code}: ${r.stderr}${r.stdout}`);
  }
  return r.stdout;
}

/** The busybox image of the daemon as a docker-archive file skopeo reads. */
async function savedBusybox(d: TestDaemon): Promise<string> {
  const path = join(d.dir, "busybox.tar");
  await ok(d, "save", "-o", path, "busybox");
  return `docker-archive:${path}`;
}

/**
 * Run `fn` with a registry and a daemon (and `another()` registry when it
 * asks); all are stopped and checked after.
 */
async function withRegistry(
  fn: (d: TestDaemon, reg: TestRegistry, another: () => Promise<TestRegistry>) => Promise<void>,
  auth?: { username: string; password: string },
): Promise<void> {
  const registries = [await startRegistry(auth)];
  const another = async () => {
    registries.push(await startRegistry());
    return registries.at(-1)!;
  };
  try {
    await withDaemon((d) => fn(d, registries[0], another));
  } finally {
    for (const r of registries) await r.stop();
  }
}

interface ImageView {
  Id: string;
  RepoTags: string[];
  RepoDigests: string[];
  RootFS: { Layers: string[] };
}

const inspectImage = (d: TestDaemon, ref: string) =>
  d.api.json<ImageView>("GET", `/images/${encodeURIComponent(ref)}/json`);

/** Names of what is in the daemon's images/DIR. */
async function entries(d: TestDaemon, dir: string): Promise<string[]> {
  const out: string[] = [];
  try {
    for await (const e of Deno.readDir(join(d.root, "images", dir))) out.push(e.name);
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
  }
  return out.sort();
}

Deno.test(
  "pull Docker schema 2, OCI and zstd images by tag and by digest; their ids are the config digests and they run",
  integration,
  () =>
    withRegistry(async (d, reg, another) => {
      const src = await savedBusybox(d);
      // zstd in a registry of its own: skopeo reuses a blob of the same layer that a
      // registry already has, whatever its compression.
      const zreg = await another();
      await skopeoPush(
        src,
        `${zreg.host}/team/zstd:1`,
        "--format",
        "oci",
        "--dest-compress",
        "--dest-compress-format",
        "zstd",
      );
      await skopeoPush(src, `${reg.host}/v2s2/busybox:1`, "--format", "v2s2");
      await skopeoPush(src, `${reg.host}/oci/busybox:1`, "--format", "oci");
      const images = [
        `${reg.host}/v2s2/busybox`,
        `${reg.host}/oci/busybox`,
        `${zreg.host}/team/zstd`,
      ];
      for (const name of images) {
        const ref = `${name}:1`;
        const out = await ok(d, "pull", ref);
        const { manifest, config } = await remoteDigests(ref);
        assert.match(out, /: Pull complete\n/);
        assert.ok(out.includes(`Digest: ${manifest}\n`), out);
        assert.ok(out.includes(`Status: Downloaded newer image for ${ref}\n`), out);
        const img = await inspectImage(d, ref);
        assert.equal(img.Id, config, "the image id is the config digest");
        assert.deepEqual(img.RepoDigests, [`${name}@${manifest}`]);
        assert.equal(await ok(d, "run", "--rm", ref, "echo", `ran ${name}`), `ran ${name}\n`);
        // The three share their one layer: removed, so that the next pull fetches it.
        await ok(d, "image", "rm", ref);
      }
      // zstd was really zstd on the registry.
      const raw = JSON.parse(
        await skopeo("inspect", "--tls-verify=false", "--raw", `docker://${zreg.host}/team/zstd:1`),
      );
      assert.equal(raw.layers[0].mediaType, "application/vnd.oci.image.layer.v1.tar+zstd");

      // By digest: stored untagged, found by the digest, up to date when pulled again.
      const { manifest } = await remoteDigests(`${reg.host}/oci/busybox:1`);
      const byDigest = `${reg.host}/oci/busybox@${manifest}`;
      const out = await ok(d, "pull", byDigest);
      assert.ok(out.includes(`Status: Downloaded newer image for ${byDigest}\n`), out);
      assert.deepEqual((await inspectImage(d, byDigest)).RepoTags, []);
      assert.equal(await ok(d, "run", "--rm", byDigest, "echo", "by digest"), "by digest\n");
      const again = await ok(d, "pull", byDigest);
      assert.ok(again.includes(`Status: Image is up to date for ${byDigest}\n`), again);
      // A digest the registry does not have.
      const missing = await cli(d, ["pull", `${reg.host}/oci/busybox@sha256:${"0".repeat(64)}`]);
      assert.equal(missing.code, 1);
      assert.match(
        missing.stderr,
        /^corral: manifest for .*oci\/busybox:sha256:0+ not found: manifest unknown\n$/,
      );
    }),
);

/** Layers of random content, `size` bytes each. */
const randomLayers = (n: number, size: number) =>
  Array.from({ length: n }, () => randomBytes(size));

/** Put an OCI layout into `reg` as NAME:latest (all its platforms). */
async function pushLayout(d: TestDaemon, reg: TestRegistry, name: string, images: LayoutImage[]) {
  const layout = await writeOciLayout(join(d.dir, `layout-${name.replaceAll("/", "-")}`), images);
  await skopeoPush(layout.source, `${reg.host}/${name}:latest`, "--all");
  return layout;
}

/** Where the host's platform and another one are in a two-platform layout. */
const OTHER_ARCH = hostArchitecture() === "arm64" ? "amd64" : "arm64";

Deno.test(
  "a multi-platform index gives the host's image or --platform's; a re-pull fetches no blob; errors say what is wrong",
  integration,
  () =>
    withRegistry(async (d, reg) => {
      const proxy = new RegistryProxy(reg.host);
      try {
        const layout = await pushLayout(d, reg, "multi", [
          { layers: randomLayers(3, 50_000), architecture: hostArchitecture() },
          { layers: randomLayers(2, 50_000), architecture: OTHER_ARCH },
        ]);
        // No tag: latest, as Docker.
        const name = `${proxy.host}/multi`;
        const out = await ok(d, "pull", name);
        assert.ok(out.includes(`Status: Downloaded newer image for ${name}:latest\n`), out);
        assert.equal((await inspectImage(d, name)).Id, layout.configDigests[0]);
        assert.equal(proxy.allBlobGets().length, 4, "3 layers and the config");

        const before = proxy.allBlobGets().length;
        const again = await ok(d, "pull", name);
        assert.ok(again.includes(`Status: Image is up to date for ${name}:latest\n`), again);
        assert.equal((again.match(/Already exists/g) ?? []).length, 3);
        assert.equal(proxy.allBlobGets().length, before, "a re-pull fetches no blob");

        await ok(d, "pull", "--platform", `linux/${OTHER_ARCH}`, name);
        assert.equal((await inspectImage(d, name)).Id, layout.configDigests[1]);
        const none = await cli(d, ["pull", "--platform", "linux/s390x", name]);
        assert.equal(none.code, 1);
        assert.match(
          none.stderr,
          /^corral: no matching manifest for linux\/s390x in the manifest list/,
        );

        // Errors, before anything streams: 404s with the registry's words, unreachable.
        const tag = await d.api.request("POST", `/images/create?fromImage=${name}&tag=nope`);
        assert.equal(tag.status, 404);
        assert.match(
          (await tag.json()).message,
          /manifest for .*multi:nope not found: manifest unknown/,
        );
        const repo = await cli(d, ["pull", `${proxy.host}/no/such`]);
        assert.match(
          repo.stderr,
          /^corral: manifest for .*no\/such:latest not found: manifest unknown\n$/,
        );
        const closed = await cli(d, ["pull", `127.0.0.1:${freePort()}/x`]);
        assert.match(closed.stderr, /^corral: registry 127\.0\.0\.1:\d+ unreachable: /);
        // Docker's short names are Docker Hub's: it is not reached from here.
        const hub = await cli(d, ["pull", "busybox:nope"]);
        assert.match(hub.stderr, /^corral: registry docker\.io unreachable/);
        const bad = await cli(d, ["pull", "--platform", "windows/amd64", name]);
        assert.match(bad.stderr, /^corral: unsupported platform "windows\/amd64"/);
        assert.deepEqual(await entries(d, "tmp"), []);
      } finally {
        await proxy.close();
      }
    }),
);

Deno.test(
  "a corrupted blob leaves nothing; a dropped connection is retried; after a fix the pull completes",
  integration,
  () =>
    withRegistry(async (d, reg) => {
      const proxy = new RegistryProxy(reg.host);
      try {
        const layout = await pushLayout(d, reg, "app", [
          { layers: randomLayers(2, 200_000), architecture: hostArchitecture() },
        ]);
        const [first, second] = layout.layerDigests[0];
        const layersBefore = await entries(d, "layers");
        proxy.corrupt.add(second);
        const ref = `${proxy.host}/app:latest`;
        const bad = await cli(d, ["pull", ref]);
        assert.equal(bad.code, 1);
        assert.match(
          bad.stderr,
          new RegExp(`^corral: digest mismatch: blob ${second} of app has content sha256:`),
        );
        assert.equal(
          (await d.api.request("GET", `/images/${encodeURIComponent(ref)}/json`)).status,
          404,
        );
        assert.deepEqual(await entries(d, "layers"), layersBefore, "no layer");
        assert.deepEqual(await entries(d, "tmp"), [], "no temp file");
        // Only the verified blob is kept, for the retry.
        assert.deepEqual(await entries(d, "blobs"), [first.slice(7)]);

        proxy.corrupt.clear();
        proxy.dropOnce.add(second);
        const out = await ok(d, "pull", ref);
        assert.match(out, /Retrying in 1 seconds/);
        assert.ok(out.includes(`Status: Downloaded newer image for ${ref}\n`), out);
        assert.equal(proxy.blobGets(first), 1, "the verified blob is not fetched again");
        assert.equal(proxy.blobGets(second), 3, "corrupt, dropped, whole");
        assert.deepEqual(await entries(d, "blobs"), [], "blobs go once the image is stored");
        assert.equal((await inspectImage(d, ref)).Id, layout.configDigests[0]);
      } finally {
        await proxy.close();
      }
    }),
);

Deno.test(
  "a daemon SIGKILLed mid-pull shows nothing partial, and the retry fetches only what was not complete",
  integration,
  () =>
    withRegistry(async (d, reg) => {
      const proxy = new RegistryProxy(reg.host);
      try {
        const layout = await pushLayout(d, reg, "slow", [
          { layers: randomLayers(3, 300_000), architecture: hostArchitecture() },
        ]);
        const [a, b, held] = layout.layerDigests[0];
        proxy.hold.add(held);
        const layersBefore = await entries(d, "layers");
        const ref = `${proxy.host}/slow:latest`;
        const pull = cli(d, ["pull", ref]);
        await d.until(async () => (await entries(d, "blobs")).length === 2, 20_000, "two blobs");
        await d.until(() => proxy.blobGets(held) === 1, 5_000, "the held blob requested");
        await d.kill9();
        await pull;
        await d.start();
        assert.equal(
          (await d.api.request("GET", `/images/${encodeURIComponent(ref)}/json`)).status,
          404,
        );
        assert.deepEqual(await entries(d, "layers"), layersBefore);
        assert.deepEqual(await entries(d, "tmp"), []);
        proxy.release();
        const out = await ok(d, "pull", ref);
        assert.ok(out.includes(`Status: Downloaded newer image for ${ref}\n`), out);
        assert.deepEqual([a, b, held].map((x) => proxy.blobGets(x)), [1, 1, 2]);
        assert.deepEqual(await entries(d, "blobs"), []);
      } finally {
        await proxy.close();
      }
    }),
);

Deno.test(
  "two concurrent pulls of images sharing layers fetch each shared layer once",
  integration,
  () =>
    withRegistry(async (d, reg) => {
      const proxy = new RegistryProxy(reg.host);
      try {
        const shared = randomLayers(2, 300_000);
        const one = await pushLayout(d, reg, "one", [
          { layers: [...shared, randomBytes(1000)], architecture: hostArchitecture() },
        ]);
        const two = await pushLayout(d, reg, "two", [
          { layers: [...shared, randomBytes(2000)], architecture: hostArchitecture() },
        ]);
        const sharedDigests = one.layerDigests[0].slice(0, 2);
        assert.deepEqual(two.layerDigests[0].slice(0, 2), sharedDigests);
        // Held until both pulls have asked for their manifests: the downloads overlap.
        proxy.hold.add(sharedDigests[0]);
        const pulls = ["one", "two"].map((n) => cli(d, ["pull", `${proxy.host}/${n}`]));
        await d.until(
          () => proxy.seen.filter((s) => s.includes("/manifests/latest")).length >= 2,
          20_000,
          "both manifests",
        );
        await new Promise((r) => setTimeout(r, 300));
        proxy.release();
        for (const r of await Promise.all(pulls)) assert.equal(r.code, 0, r.stderr);
        for (const digest of sharedDigests) assert.equal(proxy.blobGets(digest), 1, digest);
        assert.equal((await inspectImage(d, `${proxy.host}/one`)).Id, one.configDigests[0]);
        assert.equal((await inspectImage(d, `${proxy.host}/two`)).Id, two.configDigests[0]);
        assert.deepEqual(await entries(d, "blobs"), []);
      } finally {
        await proxy.close();
      }
    }),
);

Deno.test(
  "push then pull round-trips with the same digests: one PUT when small, in chunks when large, mounts across repositories",
  integration,
  () =>
    withRegistry(async (d, reg) => {
      const proxy = new RegistryProxy(reg.host);
      try {
        // A layer larger than one upload chunk (16 MiB), from random content.
        const rootfs = join(d.dir, "rootfs");
        await Deno.mkdir(rootfs);
        await Deno.writeFile(join(rootfs, "big"), randomBytes(17 << 20));
        await ok(d, "image", "import", rootfs, "big:1");
        for (const [local, remote] of [["busybox", "small"], ["big:1", "big"]]) {
          const ref = `${proxy.host}/${remote}:v1`;
          await ok(d, "tag", local, ref);
          const out = await ok(d, "push", ref);
          assert.ok(out.includes(`The push refers to repository [${proxy.host}/${remote}]\n`), out);
          assert.match(out, /: Pushed\n/);
          const pushed = /v1: digest: (sha256:[0-9a-f]{64}) size: \d+\n/.exec(out)?.[1];
          assert.ok(pushed, out);
          const { manifest, config } = await remoteDigests(ref);
          assert.equal(manifest, pushed, "the digest push printed is the registry's");
          // Pushed again: every blob is there already, and the manifest is the same.
          const again = await ok(d, "push", ref);
          assert.match(again, /Layer already exists/);
          assert.ok(again.includes(`v1: digest: ${pushed} `), again);
          // Pulled back: the same manifest, the id is the config's digest, and it runs.
          await ok(d, "image", "rm", ref);
          const pulled = await ok(d, "pull", ref);
          assert.ok(pulled.includes(`Digest: ${pushed}\n`), pulled);
          assert.equal((await inspectImage(d, ref)).Id, config);
        }
        const patches = proxy.seen.filter((s) => s.startsWith("PATCH ") && s.includes("/big/"));
        assert.equal(patches.length, 2, "17 MiB in chunks of 16 MiB");
        assert.equal(
          proxy.seen.filter((s) => s.startsWith("PATCH ") && s.includes("/small/")).length,
          0,
          "small blobs go up in one PUT",
        );
        assert.equal(
          await ok(d, "run", "--rm", `${proxy.host}/small:v1`, "echo", "pulled back"),
          "pulled back\n",
        );

        // A pulled image pushed to another repository of the registry: its layers are mounted.
        await ok(d, "tag", `${proxy.host}/small:v1`, `${proxy.host}/other/small:v1`);
        const mounted = await ok(d, "push", `${proxy.host}/other/small:v1`);
        assert.match(mounted, /: Mounted from small\n/);
        assert.ok(proxy.seen.some((s) => s.startsWith("POST /v2/other/small/blobs/uploads/")));
        const missing = await cli(d, ["push", `${proxy.host}/nothing:here`]);
        assert.match(missing.stderr, /^corral: No such image: /);
        assert.deepEqual(await entries(d, "tmp"), []);
      } finally {
        await proxy.close();
      }
    }),
);

Deno.test(
  "run and create pull a missing image (--pull missing|always|never)",
  integration,
  () =>
    withRegistry(async (d, reg) => {
      await skopeoPush(await savedBusybox(d), `${reg.host}/box:1`);
      const ref = `${reg.host}/box:1`;
      const never = await cli(d, ["run", "--rm", "--pull", "never", ref, "true"]);
      assert.equal(never.code, 1);
      assert.match(never.stderr, /^corral: No such image: /);
      const run = await cli(d, ["run", "--rm", ref, "echo", "pulled and ran"]);
      assert.equal(run.code, 0, run.stderr);
      assert.equal(run.stdout, "pulled and ran\n");
      assert.match(run.stderr, new RegExp(`^Unable to find image '${ref}' locally\n`));
      assert.match(run.stderr, /Status: Downloaded newer image for /);
      const always = await cli(d, ["create", "--pull", "always", ref, "true"]);
      assert.equal(always.code, 0, always.stderr);
      assert.match(always.stderr, /Status: Image is up to date for /);
      await ok(d, "rm", always.stdout.trim());
    }),
);

const USER = { username: "tester", password: "s3cret pass" };

/** Login, pull, logout with the credentials file checked; `host` asks for USER. */
async function loginRoundTrip(d: TestDaemon, host: string): Promise<void> {
  const ref = `${host}/private:1`;
  const anonymous = await cli(d, ["pull", ref]);
  assert.equal(anonymous.code, 1);
  assert.match(anonymous.stderr, /^corral: .*(unauthorized|pull access denied)/);
  const wrong = await cli(
    d,
    ["login", "-u", USER.username, "--password-stdin", host],
    {},
    "nope\n",
  );
  assert.equal(wrong.code, 1);
  assert.match(wrong.stderr, /^corral: unauthorized: /);
  const config = join(d.dir, "cli-config", "config.json");
  await assert.rejects(Deno.stat(config), Deno.errors.NotFound, "nothing saved");
  const login = await cli(
    d,
    ["login", "-u", USER.username, "--password-stdin", host],
    {},
    `${USER.password}\n`,
  );
  assert.equal(login.code, 0, login.stderr);
  assert.equal(login.stdout, "Login Succeeded\n");
  assert.equal((await Deno.stat(config)).mode! & 0o777, 0o600);
  const saved = JSON.parse(await Deno.readTextFile(config));
  assert.equal(atob(saved.auths[host].auth), `${USER.username}:${USER.password}`);
  assert.match(await ok(d, "pull", ref), /Status: Downloaded newer image/);
  await ok(d, "tag", ref, `${host}/pushed:1`);
  assert.match(await ok(d, "push", `${host}/pushed:1`), /digest: sha256:/);
  assert.equal(await ok(d, "logout", host), `Removing login credentials for ${host}\n`);
  assert.deepEqual(JSON.parse(await Deno.readTextFile(config)).auths, {});
  await ok(d, "image", "rm", ref);
  assert.equal((await cli(d, ["pull", ref])).code, 1, "logged out");
}

Deno.test(
  "login, pull, push and logout with Basic auth (htpasswd) on the registry",
  integration,
  () =>
    withRegistry(async (d, reg) => {
      const src = await savedBusybox(d);
      await skopeoPush(
        src,
        `${reg.host}/private:1`,
        "--dest-creds",
        `${USER.username}:${USER.password}`,
      );
      await loginRoundTrip(d, reg.host);
    }, USER),
);

Deno.test(
  "login, pull, push and logout with the Bearer token flow",
  integration,
  () =>
    withRegistry(async (d, reg) => {
      // A proxy that demands tokens from its own token server, in front of an open registry.
      const proxy = new RegistryProxy(reg.host, { bearer: USER });
      try {
        await skopeoPush(await savedBusybox(d), `${reg.host}/private:1`);
        await loginRoundTrip(d, proxy.host);
        assert.ok(proxy.tokens > 0);
      } finally {
        await proxy.close();
      }
    }),
);

Deno.test(
  "a pull that fills the disk leaves no layer, no image and no temp file",
  integration,
  () =>
    startRegistry().then(async (reg) => {
      try {
        await withDaemon(async (d) => {
          // The daemon's root on a small tmpfs: the busybox image fits, the pulled image does not.
          await Deno.mkdir(d.root, { recursive: true });
          await run(["mount", "-t", "tmpfs", "-o", "size=12m", "tmpfs", d.root]);
          try {
            await d.start();
            const layout = await pushLayout(d, reg, "huge", [
              { layers: randomLayers(3, 6 << 20), architecture: hostArchitecture() },
            ]);
            assert.equal(layout.layerDigests[0].length, 3);
            const layersBefore = await entries(d, "layers");
            const r = await cli(d, ["pull", `${reg.host}/huge:latest`]);
            assert.equal(r.code, 1);
            assert.match(r.stderr, /^corral: .*[Nn]o space left on device/);
            assert.deepEqual(await entries(d, "layers"), layersBefore);
            assert.deepEqual(await entries(d, "tmp"), []);
            const list = await d.api.json<{ RepoTags: string[] }[]>("GET", "/images/json");
            assert.deepEqual(list.map((i) => i.RepoTags), [["busybox:latest"]]);
            assert.equal(
              await ok(d, "run", "--rm", "busybox", "echo", "still serving"),
              "still serving\n",
            );
          } finally {
            await d.stop();
            await run(["umount", d.root]);
          }
        }, { start: false });
      } finally {
        await reg.stop();
      }
    }),
);

async function run(argv: string[]): Promise<void> {
  const out = await new Deno.Command(argv[0], { args: argv.slice(1) }).output();
  if (!out.success) throw new Error(`${argv.join(" ")}: ${new TextDecoder().decode(out.stderr)}`);
}
