/**
 * Test helpers: temp dirs, tar archives crafted byte by byte (for the
 * malicious cases no honest tool writes), written by corral's tar writer
 * or made by GNU tar, and digests.
 * @module
 */
import { createHash } from "node:crypto";
import { TarWriter } from "./tar_writer.ts";

/** A crafted archive entry; `type` is the typeflag character. */
export interface CraftEntry {
  name: string;
  type?: string;
  data?: string;
  linkname?: string;
  mode?: number;
  uid?: number;
  gid?: number;
  mtime?: number;
  devmajor?: number;
  devminor?: number;
}

const enc = new TextEncoder();

/**
 * Run `fn` with a fresh temp dir, removed afterwards.
 *
 * @example
 * ```ts
 * await withTempDir(async (dir) => await Deno.writeTextFile(`${dir}/x`, "x"));
 * ```
 */
export async function withTempDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "corral-image-test-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

function octal(value: number, width: number): string {
  return value.toString(8).padStart(width - 1, "0") + "\0";
}

/**
 * A ustar header block with a correct checksum.
 *
 * @example
 * ```ts
 * tarHeader({ name: "etc/passwd", data: "root" }).length; // 512
 * ```
 */
export function tarHeader(e: CraftEntry, size = enc.encode(e.data ?? "").length): Uint8Array {
  const block = new Uint8Array(512);
  const put = (off: number, text: string) => block.set(enc.encode(text), off);
  put(0, e.name);
  put(100, octal(e.mode ?? 0o644, 8));
  put(108, octal(e.uid ?? 0, 8));
  put(116, octal(e.gid ?? 0, 8));
  put(124, octal(size, 12));
  put(136, octal(e.mtime ?? 1_700_000_000, 12));
  put(156, e.type ?? "0");
  put(157, e.linkname ?? "");
  put(257, "ustar\x0000");
  put(329, octal(e.devmajor ?? 0, 8));
  put(337, octal(e.devminor ?? 0, 8));
  put(148, "        ");
  const sum = block.reduce((a, b) => a + b, 0);
  put(148, octal(sum, 7) + " ");
  return block;
}

/**
 * A whole archive: each entry's header and padded data, then two zero blocks.
 *
 * @example
 * ```ts
 * const tar = craftTar([{ name: "../../x", data: "pwned" }]);
 * ```
 */
export function craftTar(entries: CraftEntry[]): Uint8Array {
  const parts: Uint8Array[] = [];
  for (const e of entries) {
    const data = enc.encode(e.data ?? "");
    parts.push(tarHeader(e, data.length), data, new Uint8Array((512 - data.length % 512) % 512));
  }
  parts.push(new Uint8Array(1024));
  return concatBytes(parts);
}

/**
 * A stream over `bytes` in small chunks, so readers see block boundaries
 * falling inside chunks.
 *
 * @example
 * ```ts
 * for await (const chunk of streamOf(craftTar([]), 100)) console.log(chunk.length);
 * ```
 */
export function streamOf(bytes: Uint8Array, chunk = 173): ReadableStream<Uint8Array> {
  let off = 0;
  return new ReadableStream({
    pull(controller) {
      if (off >= bytes.length) return controller.close();
      controller.enqueue(bytes.slice(off, off + chunk));
      off += chunk;
    },
  });
}

/**
 * Run the host's GNU tar; throws with its stderr on failure.
 *
 * @example
 * ```ts
 * await hostTar(["-cf", "/tmp/a.tar", "-C", "/tmp/src", "."]);
 * ```
 */
export async function hostTar(args: string[]): Promise<void> {
  const out = await new Deno.Command("tar", { args, stderr: "piped" }).output();
  if (!out.success) {
    throw new Error(`tar ${args.join(" ")}: ${new TextDecoder().decode(out.stderr)}`);
  }
}

/**
 * The names in a directory, sorted ([] if it does not exist).
 *
 * @example
 * ```ts
 * await listDir("/tmp/outside"); // []
 * ```
 */
export async function listDir(dir: string): Promise<string[]> {
  const names: string[] = [];
  try {
    for await (const e of Deno.readDir(dir)) names.push(e.name);
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
  }
  return names.sort();
}

/** An entry of {@linkcode buildTar}: a file by default, a directory when `path` ends in "/". */
export interface BuildEntry {
  path: string;
  data?: string | Uint8Array;
  mode?: number;
  mtime?: number;
  type?: "symlink" | "hardlink";
  linkpath?: string;
}

/**
 * A tar archive written by corral's own tar writer.
 *
 * @example
 * ```ts
 * const tar = await buildTar([{ path: "etc/" }, { path: "etc/hostname", data: "box\n" }]);
 * ```
 */
export async function buildTar(entries: BuildEntry[]): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  const tar = new TarWriter((chunk) => Promise.resolve(void parts.push(chunk.slice())));
  for (const e of entries) {
    const meta = { uid: 0, gid: 0, mtime: e.mtime ?? 1_700_000_000 };
    if (e.type) {
      await tar.add({ ...meta, path: e.path, type: e.type, mode: 0o777, linkpath: e.linkpath });
    } else if (e.path.endsWith("/")) {
      await tar.add({ ...meta, path: e.path.slice(0, -1), type: "dir", mode: e.mode ?? 0o755 });
    } else {
      const data = typeof e.data === "string" ? enc.encode(e.data) : e.data ?? new Uint8Array();
      await tar.add(
        { ...meta, path: e.path, type: "file", mode: e.mode ?? 0o644, size: data.length },
        [data],
      );
    }
  }
  await tar.finish();
  return concatBytes(parts);
}

/**
 * The gzip compression of `bytes`.
 *
 * @example
 * ```ts
 * const gz = await gzip(await buildTar([]));
 * ```
 */
export async function gzip(bytes: Uint8Array): Promise<Uint8Array> {
  const stream = new Blob([bytes.slice()]).stream().pipeThrough(new CompressionStream("gzip"));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

/**
 * Hex sha256 of bytes or a string.
 *
 * @example
 * ```ts
 * sha256Hex("abc"); // "ba7816bf..."
 * ```
 */
export function sha256Hex(data: Uint8Array | string): string {
  return createHash("sha256").update(data).digest("hex");
}

/**
 * All chunks of a stream in one array.
 *
 * @example
 * ```ts
 * const bytes = await readAll(streamOf(craftTar([])));
 * ```
 */
export async function readAll(stream: ReadableStream<Uint8Array>): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  for await (const chunk of stream) parts.push(chunk);
  return concatBytes(parts);
}

function concatBytes(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  parts.reduce((off, p) => (out.set(p, off), off + p.length), 0);
  return out;
}
