/**
 * Registries for the tests: Debian's `docker-registry` (the distribution
 * registry) on 127.0.0.1 with a free port and a temporary storage dir, with
 * or without htpasswd (bcrypt) auth; skopeo to put images into it in formats
 * corral did not write; a proxy in front of it that counts requests, can
 * corrupt, cut off or hold a blob, and can demand Bearer tokens from a token
 * server of its own (the distribution spec's token flow, without the
 * certificates the registry's own `auth: token` needs); and OCI layouts
 * built here, one or several platforms, from random-content layers.
 * @module
 */
import { join } from "node:path";
import { buildTar, gzip, sha256Hex } from "../lib/image/_test_utils.ts";
import { freePort } from "./harness.ts";

/** A running registry. */
export interface TestRegistry {
  /** "127.0.0.1:PORT". */
  host: string;
  dir: string;
  stop(): Promise<void>;
}

export { freePort };

/**
 * Start `docker-registry serve` on 127.0.0.1 with its own storage; with
 * `auth`, it asks for Basic credentials checked against an htpasswd file.
 */
export async function startRegistry(
  auth?: { username: string; password: string },
): Promise<TestRegistry> {
  const dir = await Deno.makeTempDir({ prefix: "corral-registry-" });
  const port = freePort();
  let authConfig = "";
  if (auth) {
    const out = await new Deno.Command("htpasswd", {
      args: ["-Bbn", auth.username, auth.password],
    }).output();
    if (!out.success) throw new Error("htpasswd failed (scripts/setup.sh installs apache2-utils)");
    await Deno.writeFile(join(dir, "htpasswd"), out.stdout);
    authConfig = `auth:\n  htpasswd:\n    realm: corral-test\n    path: ${dir}/htpasswd\n`;
  }
  await Deno.writeTextFile(
    join(dir, "config.yml"),
    `version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\n` +
      `storage:\n  filesystem:\n    rootdirectory: ${dir}/data\n  delete:\n    enabled: true\n` +
      `http:\n  addr: 127.0.0.1:${port}\n${authConfig}`,
  );
  const proc = new Deno.Command("docker-registry", {
    args: ["serve", join(dir, "config.yml")],
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).spawn();
  const stop = async () => {
    try {
      proc.kill("SIGTERM");
    } catch {
      // Exited.
    }
    await proc.status;
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  };
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    try {
      const res = await fetch(`http://127.0.0.1:${port}/v2/`);
      await res.body?.cancel();
      if (res.status === 200 || res.status === 401) return { host: `127.0.0.1:${port}`, dir, stop };
    } catch {
      // Not up yet.
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  await stop();
  throw new Error("docker-registry did not answer /v2/ (scripts/setup.sh installs it)");
}

/** Run skopeo; fail with its stderr. */
export async function skopeo(...args: string[]): Promise<string> {
  const out = await new Deno.Command("skopeo", { args, stdin: "null" }).output();
  const dec = new TextDecoder();
  if (!out.success) throw new Error(`skopeo ${args.join(" ")}: ${dec.decode(out.stderr)}`);
  return dec.decode(out.stdout);
}

/** `skopeo copy` from `src` to `docker://HOST/NAME` over plain HTTP, with extra flags. */
export function skopeoPush(src: string, dest: string, ...flags: string[]): Promise<string> {
  return skopeo("copy", "--quiet", "--dest-tls-verify=false", ...flags, src, `docker://${dest}`);
}

/** Options of a {@linkcode RegistryProxy}. */
export interface ProxyOptions {
  /** Demand Bearer tokens, given by the proxy's `/token` for these credentials. */
  bearer?: { username: string; password: string };
}

/**
 * A proxy in front of a registry that counts requests and can misbehave on
 * chosen blobs.
 */
export class RegistryProxy {
  /** "127.0.0.1:PORT". */
  readonly host: string;
  /** Requests seen, as "METHOD PATH". */
  readonly seen: string[] = [];
  /** Blobs (digest) whose content is sent with one byte changed. */
  readonly corrupt = new Set<string>();
  /** Blobs whose next GET is cut off halfway (then forgotten). */
  readonly dropOnce = new Set<string>();
  /** Blobs whose GET sends half and then waits until {@linkcode RegistryProxy.release}. */
  readonly hold = new Set<string>();
  /** Token requests seen. */
  tokens = 0;
  readonly #server: Deno.HttpServer;
  readonly #released: (() => void)[] = [];
  readonly #issued = new Set<string>();

  constructor(readonly upstream: string, readonly opts: ProxyOptions = {}) {
    const port = freePort();
    this.host = `127.0.0.1:${port}`;
    this.#server = Deno.serve(
      { hostname: "127.0.0.1", port, onListen() {} },
      (req) => this.#answer(req),
    );
  }

  /** GETs of the blob `digest` seen so far. */
  blobGets(digest: string): number {
    return this.seen.filter((s) => s.startsWith("GET ") && s.endsWith(`/blobs/${digest}`)).length;
  }

  /** GETs of any blob. */
  allBlobGets(): string[] {
    return this.seen.filter((s) => s.startsWith("GET ") && s.includes("/blobs/sha256:"));
  }

  /** Let held blobs go on. */
  release(): void {
    this.hold.clear();
    for (const r of this.#released.splice(0)) r();
  }

  async close(): Promise<void> {
    this.release();
    await this.#server.shutdown();
  }

  async #answer(req: Request): Promise<Response> {
    const url = new URL(req.url);
    if (url.pathname === "/token") return this.#token(req);
    this.seen.push(`${req.method} ${url.pathname}`);
    if (this.opts.bearer) {
      const auth = req.headers.get("authorization") ?? "";
      if (!this.#issued.has(auth.replace(/^Bearer /, ""))) {
        const repo = /^\/v2\/(.+)\/(?:manifests|blobs|tags)\//.exec(url.pathname)?.[1];
        const scope = repo ? `,scope="repository:${repo}:pull,push"` : "";
        await req.body?.cancel();
        return new Response(
          JSON.stringify({
            errors: [{ code: "UNAUTHORIZED", message: "authentication required" }],
          }),
          {
            status: 401,
            headers: {
              "www-authenticate":
                `Bearer realm="http://${this.host}/token",service="corral-test"${scope}`,
              "content-type": "application/json",
            },
          },
        );
      }
    }
    const headers = new Headers(req.headers);
    headers.delete("authorization");
    headers.delete("host");
    const res = await fetch(`http://${this.upstream}${url.pathname}${url.search}`, {
      method: req.method,
      headers,
      body: req.body,
      redirect: "manual",
    });
    const out = new Headers(res.headers);
    const location = out.get("location");
    if (location) out.set("location", location.replace(this.upstream, this.host));
    const blob = /\/blobs\/(sha256:[0-9a-f]{64})$/.exec(url.pathname)?.[1];
    if (req.method !== "GET" || !blob || !res.ok || !res.body) {
      return new Response(res.body, { status: res.status, headers: out });
    }
    const bytes = new Uint8Array(await res.arrayBuffer());
    if (this.corrupt.has(blob)) {
      bytes[bytes.length >> 1] ^= 0xff;
      return new Response(bytes, { status: 200, headers: out });
    }
    const half = bytes.subarray(0, bytes.length >> 1);
    if (this.dropOnce.has(blob)) {
      this.dropOnce.delete(blob);
      return new Response(
        new ReadableStream({
          start(ctrl) {
            ctrl.enqueue(half);
            ctrl.error(new Error("connection dropped by the test"));
          },
        }),
        { status: 200, headers: out },
      );
    }
    if (this.hold.has(blob)) {
      const released = new Promise<void>((r) => this.#released.push(r));
      return new Response(
        new ReadableStream({
          async start(ctrl) {
            ctrl.enqueue(half);
            await released;
            ctrl.enqueue(bytes.subarray(half.length));
            ctrl.close();
          },
        }),
        { status: 200, headers: out },
      );
    }
    return new Response(bytes, { status: 200, headers: out });
  }

  #token(req: Request): Response {
    this.tokens++;
    const want = this.opts.bearer!;
    const expected = `Basic ${btoa(`${want.username}:${want.password}`)}`;
    const auth = req.headers.get("authorization");
    // Anonymous tokens are given for no scope only (a login check without credentials fails).
    if (auth !== expected) {
      return new Response(JSON.stringify({ details: "incorrect username or password" }), {
        status: 401,
      });
    }
    const token = crypto.randomUUID();
    this.#issued.add(token);
    return Response.json({ token, access_token: token, expires_in: 300 });
  }
}

/** One image of an OCI layout: its layers' tar entries' contents, and its platform. */
export interface LayoutImage {
  /** Bytes of each layer's one file (`layerN/data`). */
  layers: Uint8Array[];
  architecture: string;
  cmd?: string[];
}

/** Random bytes (crypto.getRandomValues fills 64 KiB at a time). */
export function randomBytes(n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let off = 0; off < n; off += 65536) {
    crypto.getRandomValues(out.subarray(off, Math.min(n, off + 65536)));
  }
  return out;
}

/**
 * Write an OCI image layout at `dir` (gzip layers): one image, or an index
 * of several platforms when `images` has more than one. Returns the
 * `oci:DIR:TAG` source for skopeo and each image's layer blob digests.
 */
export async function writeOciLayout(
  dir: string,
  images: LayoutImage[],
  tag = "latest",
): Promise<{ source: string; layerDigests: string[][]; configDigests: string[] }> {
  await Deno.mkdir(join(dir, "blobs/sha256"), { recursive: true });
  const put = async (bytes: Uint8Array) => {
    const hex = sha256Hex(bytes);
    await Deno.writeFile(join(dir, "blobs/sha256", hex), bytes);
    return { digest: `sha256:${hex}`, size: bytes.length };
  };
  const manifests = [];
  const layerDigests: string[][] = [];
  const configDigests: string[] = [];
  for (const img of images) {
    const layers = [];
    const diffIds = [];
    for (const [i, data] of img.layers.entries()) {
      const tar = await buildTar([{ path: `layer${i}/` }, { path: `layer${i}/data`, data }]);
      diffIds.push(`sha256:${sha256Hex(tar)}`);
      layers.push({
        mediaType: "application/vnd.oci.image.layer.v1.tar+gzip",
        ...await put(await gzip(tar)),
      });
    }
    layerDigests.push(layers.map((l) => l.digest));
    const config = new TextEncoder().encode(JSON.stringify({
      architecture: img.architecture,
      os: "linux",
      created: "2025-01-02T03:04:05Z",
      config: { Cmd: img.cmd ?? ["/bin/sh"], Env: ["PATH=/bin"] },
      rootfs: { type: "layers", diff_ids: diffIds },
    }));
    const configDesc = {
      mediaType: "application/vnd.oci.image.config.v1+json",
      ...await put(config),
    };
    configDigests.push(configDesc.digest);
    const manifest = new TextEncoder().encode(JSON.stringify({
      schemaVersion: 2,
      mediaType: "application/vnd.oci.image.manifest.v1+json",
      config: configDesc,
      layers,
    }));
    manifests.push({
      mediaType: "application/vnd.oci.image.manifest.v1+json",
      ...await put(manifest),
      platform: { os: "linux", architecture: img.architecture },
    });
  }
  let top = manifests[0];
  if (images.length > 1) {
    const index = new TextEncoder().encode(JSON.stringify({
      schemaVersion: 2,
      mediaType: "application/vnd.oci.image.index.v1+json",
      manifests,
    }));
    top = {
      mediaType: "application/vnd.oci.image.index.v1+json",
      ...await put(index),
      platform: undefined as never,
    };
  }
  const { platform: _, ...entry } = top;
  await Deno.writeTextFile(
    join(dir, "oci-layout"),
    JSON.stringify({ imageLayoutVersion: "1.0.0" }),
  );
  await Deno.writeTextFile(
    join(dir, "index.json"),
    JSON.stringify({
      schemaVersion: 2,
      manifests: [{ ...entry, annotations: { "org.opencontainers.image.ref.name": tag } }],
    }),
  );
  return { source: `oci:${dir}:${tag}`, layerDigests, configDigests };
}
