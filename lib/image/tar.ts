/**
 * A streaming tar reader: POSIX ustar, GNU long names and link names
 * (typeflags 'L' and 'K'), GNU base-256 numbers and PAX extended headers
 * ('x' for path, linkpath, size, uid, gid, mtime; 'g' is ignored).
 * @module
 */
import { invalid } from "../errdefs/mod.ts";
import { ByteReader } from "./byte_reader.ts";

/** What an entry is; `unknown` covers typeflags corral does not handle. */
export type TarEntryType =
  | "file"
  | "hardlink"
  | "symlink"
  | "char"
  | "block"
  | "dir"
  | "fifo"
  | "unknown";

/** One archive entry, with long names and PAX overrides already applied. */
export interface TarEntry {
  /** The path as written in the archive (not cleaned). */
  path: string;
  type: TarEntryType;
  /** The raw typeflag character, for messages about unknown entries. */
  typeflag: string;
  /** Permission bits including setuid, setgid and sticky. */
  mode: number;
  uid: number;
  gid: number;
  /** Content length in bytes. */
  size: number;
  /** Modification time in seconds since the epoch. */
  mtime: number;
  /** Symlink target, or the archive path a hard link points to. */
  linkpath: string;
  devmajor: number;
  devminor: number;
  /**
   * The content, readable once and only before the next entry is requested;
   * content left unread is skipped.
   */
  body(): AsyncIterable<Uint8Array>;
}

const BLOCK = 512;
// Long names and PAX records are held in memory; real ones are far smaller.
const MAX_META_SIZE = 1 << 20;

const TYPES: Record<string, TarEntryType> = {
  "0": "file",
  "\0": "file",
  "7": "file", // contiguous file: a plain file everywhere that matters
  "1": "hardlink",
  "2": "symlink",
  "3": "char",
  "4": "block",
  "5": "dir",
  "6": "fifo",
};

/** Header fields before long names and PAX records are applied. */
interface Header {
  name: string;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  mtime: number;
  typeflag: string;
  linkname: string;
  devmajor: number;
  devminor: number;
}

/** The overrides that PAX ('x') and GNU ('L', 'K') records carry for the next entry. */
interface Overrides {
  path?: string;
  linkpath?: string;
  size?: number;
  uid?: number;
  gid?: number;
  mtime?: number;
}

/**
 * Read a tar stream entry by entry. The stream is read to its very end (so a
 * digest computed over it covers the trailing padding too) and cancelled if
 * the caller stops early.
 *
 * @example
 * ```ts
 * const file = await Deno.open("rootfs.tar");
 * for await (const entry of readTar(file.readable)) {
 *   console.log(entry.type, entry.path);
 * }
 * ```
 */
export async function* readTar(stream: ReadableStream<Uint8Array>): AsyncGenerator<TarEntry> {
  const reader = new ByteReader(stream);
  let finished = false;
  try {
    let next: Overrides = {};
    while (true) {
      const block = await reader.readExact(BLOCK);
      if (block === null || block.every((b) => b === 0)) break;
      const h = parseHeader(block);
      const padded = Math.ceil(h.size / BLOCK) * BLOCK;
      if (h.typeflag === "L" || h.typeflag === "K" || h.typeflag === "x") {
        const data = await readMeta(reader, h.size, padded);
        if (h.typeflag === "L") next.path = cString(data);
        else if (h.typeflag === "K") next.linkpath = cString(data);
        else next = { ...next, ...parsePax(data) };
        continue;
      }
      if (h.typeflag === "g") {
        await reader.skip(padded);
        continue;
      }
      const size = next.size ?? h.size;
      let read = 0;
      let opened = false;
      const entry: TarEntry = {
        path: next.path ?? h.name,
        type: TYPES[h.typeflag] ?? "unknown",
        typeflag: h.typeflag,
        mode: h.mode,
        uid: next.uid ?? h.uid,
        gid: next.gid ?? h.gid,
        size,
        mtime: next.mtime ?? h.mtime,
        linkpath: next.linkpath ?? h.linkname,
        devmajor: h.devmajor,
        devminor: h.devminor,
        body: async function* () {
          if (opened) throw new Error("tar entry body can only be read once");
          opened = true;
          for await (const part of reader.take(size)) {
            read += part.length;
            yield part;
          }
          if (read < size) throw invalid("unexpected end of archive");
        },
      };
      // Old archives mark directories only by a trailing slash.
      if (h.typeflag === "\0" && entry.path.endsWith("/")) entry.type = "dir";
      next = {};
      yield entry;
      await reader.skip(Math.ceil(size / BLOCK) * BLOCK - read);
    }
    await reader.drain();
    finished = true;
  } finally {
    if (!finished) await reader.cancel();
  }
}

async function readMeta(reader: ByteReader, size: number, padded: number): Promise<Uint8Array> {
  if (size > MAX_META_SIZE) throw invalid(`tar extended header too large (${size} bytes)`);
  const data = await reader.readExact(padded);
  if (data === null) throw invalid("unexpected end of archive");
  return data.subarray(0, size);
}

const decoder = new TextDecoder();

function cString(bytes: Uint8Array): string {
  const end = bytes.indexOf(0);
  return decoder.decode(end === -1 ? bytes : bytes.subarray(0, end));
}

function parseHeader(block: Uint8Array): Header {
  checkChecksum(block);
  const field = (off: number, len: number) => block.subarray(off, off + len);
  const name = cString(field(0, 100));
  // Only POSIX ustar has a name prefix; GNU keeps other data at that offset.
  const isUstar = cString(field(257, 6)) === "ustar" && block[262] === 0;
  const prefix = isUstar ? cString(field(345, 155)) : "";
  return {
    name: prefix ? `${prefix}/${name}` : name,
    mode: parseNumber(field(100, 8), "mode") & 0o7777,
    uid: parseNumber(field(108, 8), "uid"),
    gid: parseNumber(field(116, 8), "gid"),
    size: parseNumber(field(124, 12), "size"),
    mtime: parseNumber(field(136, 12), "mtime"),
    typeflag: String.fromCharCode(block[156]),
    linkname: cString(field(157, 100)),
    devmajor: parseNumber(field(329, 8), "devmajor"),
    devminor: parseNumber(field(337, 8), "devminor"),
  };
}

function checkChecksum(block: Uint8Array): void {
  const stored = parseNumber(block.subarray(148, 156), "checksum");
  let unsigned = 0;
  let signed = 0;
  for (let i = 0; i < BLOCK; i++) {
    // The checksum field itself counts as eight spaces.
    const b = i >= 148 && i < 156 ? 0x20 : block[i];
    unsigned += b;
    signed += b > 127 ? b - 256 : b;
  }
  if (stored !== unsigned && stored !== signed) throw invalid("invalid tar header checksum");
}

/** An octal field, or a GNU base-256 one (high bit of the first byte set). */
function parseNumber(bytes: Uint8Array, what: string): number {
  if (bytes[0] & 0x80) {
    if (bytes[0] === 0xff) throw invalid(`negative tar header ${what}`);
    let n = bytes[0] & 0x7f;
    for (const b of bytes.subarray(1)) n = n * 256 + b;
    if (!Number.isSafeInteger(n)) throw invalid(`tar header ${what} out of range`);
    return n;
  }
  const text = decoder.decode(bytes).replace(/[\0 ]+$/, "").replace(/^[\0 ]+/, "");
  if (text === "") return 0;
  if (!/^[0-7]+$/.test(text)) throw invalid(`invalid tar header ${what} ${JSON.stringify(text)}`);
  return parseInt(text, 8);
}

/** PAX records: "<length> <key>=<value>\n", the length counting the whole record. */
function parsePax(data: Uint8Array): Overrides {
  const out: Overrides = {};
  let off = 0;
  while (off < data.length) {
    const space = data.indexOf(0x20, off);
    const length = space === -1 ? NaN : Number(decoder.decode(data.subarray(off, space)));
    if (!Number.isInteger(length) || length <= space - off || off + length > data.length) {
      throw invalid("malformed PAX extended header");
    }
    const record = decoder.decode(data.subarray(space + 1, off + length - 1));
    off += length;
    const eq = record.indexOf("=");
    if (eq === -1) throw invalid("malformed PAX extended header record");
    const key = record.slice(0, eq);
    const value = record.slice(eq + 1);
    // An empty value cancels the record: the header field applies.
    if (value === "") continue;
    if (key === "path") out.path = value;
    else if (key === "linkpath") out.linkpath = value;
    else if (key === "size" || key === "uid" || key === "gid") out[key] = paxInteger(key, value);
    else if (key === "mtime") out.mtime = paxTime(value);
  }
  return out;
}

function paxInteger(key: string, value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(n)) {
    throw invalid(`invalid PAX ${key} ${JSON.stringify(value)}`);
  }
  return n;
}

function paxTime(value: string): number {
  const n = Number(value);
  if (!/^-?\d+(\.\d+)?$/.test(value) || !Number.isFinite(n)) {
    throw invalid(`invalid PAX mtime ${JSON.stringify(value)}`);
  }
  return n;
}
