/**
 * A streaming tar writer: POSIX ustar headers, with a PAX extended header
 * ('x') when a path, a link target, a size or an id does not fit the ustar
 * fields. What it writes, the reader of `tar.ts` and GNU tar read back.
 * @module
 */
import { invalid } from "../errdefs/mod.ts";

/** What an entry to write is. */
export type TarWriteType = "file" | "dir" | "symlink" | "hardlink" | "char";

/** One entry to write. */
export interface TarWriteEntry {
  /** Relative path inside the archive, without a trailing slash. */
  path: string;
  type: TarWriteType;
  /** Permission bits including setuid, setgid and sticky. */
  mode: number;
  uid: number;
  gid: number;
  /** Seconds since the epoch. */
  mtime: number;
  /** Content length of a file (0 for every other type). */
  size?: number;
  /** Symlink target, or the archive path a hard link points to. */
  linkpath?: string;
  devmajor?: number;
  devminor?: number;
}

const BLOCK = 512;
const TYPEFLAG: Record<TarWriteType, string> = {
  file: "0",
  hardlink: "1",
  symlink: "2",
  char: "3",
  dir: "5",
};
// Largest values of the octal fields: 11 digits for size and mtime, 7 for ids.
const MAX_OCTAL_12 = 0o77777777777;
const MAX_OCTAL_8 = 0o7777777;
const enc = new TextEncoder();

/**
 * Writes entries to a sink, one at a time.
 *
 * @example
 * ```ts
 * const file = await Deno.open("out.tar", { write: true, create: true, truncate: true });
 * const w = file.writable.getWriter();
 * const tar = new TarWriter((chunk) => w.write(chunk));
 * const body = new TextEncoder().encode("hi\n");
 * await tar.add({ path: "hello", type: "file", mode: 0o644, uid: 0, gid: 0, mtime: 0, size: 3 }, [body]);
 * await tar.finish();
 * await w.close();
 * ```
 */
export class TarWriter {
  readonly #sink: (chunk: Uint8Array) => Promise<void>;

  constructor(sink: (chunk: Uint8Array) => Promise<void>) {
    this.#sink = sink;
  }

  /** Write one entry; a file's `body` must yield exactly `size` bytes. */
  async add(
    entry: TarWriteEntry,
    body: AsyncIterable<Uint8Array> | Iterable<Uint8Array> = [],
  ): Promise<void> {
    const size = entry.type === "file" ? entry.size ?? 0 : 0;
    const name = entry.type === "dir" ? `${entry.path}/` : entry.path;
    const linkpath = entry.linkpath ?? "";
    const pax: [string, string][] = [];
    if (enc.encode(name).length > 100) pax.push(["path", name]);
    if (enc.encode(linkpath).length > 100) pax.push(["linkpath", linkpath]);
    if (size > MAX_OCTAL_12) pax.push(["size", String(size)]);
    if (entry.uid > MAX_OCTAL_8) pax.push(["uid", String(entry.uid)]);
    if (entry.gid > MAX_OCTAL_8) pax.push(["gid", String(entry.gid)]);
    if (pax.length > 0) {
      const data = enc.encode(pax.map(([k, v]) => paxRecord(k, v)).join(""));
      await this.#sink(header({ ...entry, name: "PaxHeader", typeflag: "x", size: data.length }));
      await this.#sink(padded(data));
    }
    await this.#sink(header({ ...entry, name, typeflag: TYPEFLAG[entry.type], size, linkpath }));
    let written = 0;
    for await (const chunk of body) {
      written += chunk.length;
      if (written > size) throw invalid(`tar entry ${entry.path}: content longer than ${size}`);
      await this.#sink(chunk);
    }
    if (written !== size) throw invalid(`tar entry ${entry.path}: content shorter than ${size}`);
    if (size % BLOCK !== 0) await this.#sink(new Uint8Array(BLOCK - (size % BLOCK)));
  }

  /** Write the end-of-archive marker (two zero blocks). */
  async finish(): Promise<void> {
    await this.#sink(new Uint8Array(2 * BLOCK));
  }
}

/** A PAX record: its decimal length counts the whole record, length digits included. */
function paxRecord(key: string, value: string): string {
  const body = ` ${key}=${value}\n`;
  const bodyLength = enc.encode(body).length;
  let length = bodyLength + String(bodyLength).length;
  // Adding the digits can add a digit (e.g. 98 + 2 = 100).
  if (String(length).length !== length - bodyLength) length = bodyLength + String(length).length;
  return `${length}${body}`;
}

function padded(data: Uint8Array): Uint8Array {
  const out = new Uint8Array(Math.ceil(data.length / BLOCK) * BLOCK);
  out.set(data);
  return out;
}

interface HeaderFields {
  name: string;
  typeflag: string;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  mtime: number;
  linkpath?: string;
  devmajor?: number;
  devminor?: number;
}

/** A ustar header block; values too long for a field were put in a PAX header before. */
function header(h: HeaderFields): Uint8Array {
  const block = new Uint8Array(BLOCK);
  const text = (off: number, len: number, value: string) =>
    block.set(enc.encode(value).subarray(0, len), off);
  const octal = (off: number, len: number, value: number) =>
    text(off, len, Math.min(value, 8 ** (len - 1) - 1).toString(8).padStart(len - 1, "0"));
  text(0, 100, h.name);
  octal(100, 8, h.mode & 0o7777);
  octal(108, 8, h.uid);
  octal(116, 8, h.gid);
  octal(124, 12, h.size);
  octal(136, 12, Math.max(0, Math.floor(h.mtime)));
  block.fill(0x20, 148, 156);
  text(156, 1, h.typeflag);
  text(157, 100, h.linkpath ?? "");
  text(257, 6, "ustar");
  text(263, 2, "00");
  octal(329, 8, h.devmajor ?? 0);
  octal(337, 8, h.devminor ?? 0);
  const sum = block.reduce((a, b) => a + b, 0);
  text(148, 8, sum.toString(8).padStart(6, "0") + "\0 ");
  return block;
}
