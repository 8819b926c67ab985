/**
 * A streaming tar reader: POSIX ustar, GNU long names and link names
 * (typeflags 'L' and 'K'), GNU base-256 numbers, PAX extended headers
 * ('x' for path, linkpath, size, uid, gid, mtime; 'g' is ignored) and GNU
 * sparse files (old GNU typeflag 'S', PAX formats 0.0, 0.1 and 1.0).
 * Errors never quote the archive's bytes: the stream may be any file.
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
  /** Content length in bytes; a sparse file's whole length, holes included. */
  size: number;
  /** Modification time in seconds since the epoch. */
  mtime: number;
  /** Symlink target, or the archive path a hard link points to. */
  linkpath: string;
  devmajor: number;
  devminor: number;
  /**
   * For a sparse file, the stretches of its content the archive holds, in
   * order; the rest of its `size` bytes are holes (zeros). Null otherwise.
   */
  sparse: SparseRegion[] | null;
  /**
   * The content, readable once and only before the next entry is requested;
   * content left unread is skipped. For a sparse file: its regions' bytes,
   * one region after the other.
   */
  body(): AsyncIterable<Uint8Array>;
}

/** A stretch of a sparse file that has data. */
export interface SparseRegion {
  offset: number;
  length: number;
}

const BLOCK = 512;
// Long names, PAX records and sparse maps are held in memory; real ones are far smaller.
const MAX_META_SIZE = 1 << 20;
const MAX_SPARSE_REGIONS = 1 << 16;

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
  "S": "file", // old GNU sparse file
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
  /** The `GNU.sparse.*` PAX records. */
  sparse?: PaxSparse;
}

interface PaxSparse {
  major?: string;
  minor?: string;
  /** The real name (format 1.0 puts a made-up one in the header). */
  name?: string;
  /** The whole length of the file. */
  size?: number;
  /** offset, length, offset, length...: formats 0.0 (repeated records) and 0.1 (one list). */
  map?: number[];
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
      const { size, stored, sparse } = await contentLayout(reader, h, block, next);
      let read = 0;
      let opened = false;
      const entry: TarEntry = {
        path: (sparse && next.sparse?.name) ?? next.path ?? h.name,
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
        sparse,
        body: async function* () {
          if (opened) throw new Error("tar entry body can only be read once");
          opened = true;
          for await (const part of reader.take(stored)) {
            read += part.length;
            yield part;
          }
          if (read < stored) throw invalid("unexpected end of archive");
        },
      };
      // Old archives mark directories only by a trailing slash.
      if (h.typeflag === "\0" && entry.path.endsWith("/")) entry.type = "dir";
      next = {};
      yield entry;
      await reader.skip(Math.ceil(stored / BLOCK) * BLOCK - read);
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

/**
 * An entry's whole length, the bytes that follow its header (its content, or
 * a sparse file's data), and a sparse file's map, which format 1.0 keeps in
 * front of the data (read here).
 */
async function contentLayout(
  reader: ByteReader,
  h: Header,
  block: Uint8Array,
  next: Overrides,
): Promise<{ size: number; stored: number; sparse: SparseRegion[] | null }> {
  let stored = next.size ?? h.size;
  let size = stored;
  let sparse: SparseRegion[] | null = null;
  const s = next.sparse;
  if (h.typeflag === "S") {
    ({ size, sparse } = await readOldGnuSparse(reader, block));
  } else if (s?.major === "1" && s.minor === "0") {
    const map = await readSparseMap1(reader, stored);
    stored -= map.bytes;
    sparse = map.regions;
  } else if (s?.major !== undefined && s.major !== "0") {
    throw invalid("unsupported GNU sparse file format version");
  } else if (s?.map !== undefined || s?.major !== undefined) {
    // Formats 0.0 and 0.1 (which older GNU tar wrote without a version).
    sparse = regionsOf(s.map ?? []);
  }
  if (sparse === null) return { size, stored, sparse };
  if (h.typeflag !== "S") size = s?.size ?? stored;
  checkSparse(sparse, size, stored);
  return { size, stored, sparse };
}

/**
 * The map of an old GNU sparse header: four regions in the header, more in
 * extension blocks while the "is extended" byte is set; the whole length is
 * the header's realsize field.
 */
async function readOldGnuSparse(
  reader: ByteReader,
  header: Uint8Array,
): Promise<{ size: number; sparse: SparseRegion[] }> {
  const numbers: number[] = [];
  const collect = (block: Uint8Array, off: number, count: number) => {
    for (let i = 0; i < count; i++) {
      const at = off + i * 24;
      // An entry whose offset field starts with NUL ends the map, as in GNU tar.
      if (block[at] === 0) break;
      numbers.push(parseNumber(block.subarray(at, at + 12), "sparse offset"));
      numbers.push(parseNumber(block.subarray(at + 12, at + 24), "sparse length"));
    }
  };
  collect(header, 386, 4);
  let extended = header[482] !== 0;
  while (extended) {
    if (numbers.length > 2 * MAX_SPARSE_REGIONS) throw invalid("tar sparse map too large");
    const block = await reader.readExact(BLOCK);
    if (block === null) throw invalid("unexpected end of archive");
    collect(block, 0, 21);
    extended = block[504] !== 0;
  }
  return {
    size: parseNumber(header.subarray(483, 495), "sparse size"),
    sparse: regionsOf(numbers),
  };
}

/**
 * The map at the start of a PAX 1.0 sparse file's data: decimal numbers, one
 * a line (the count, then offset and length of each region), padded to a
 * block. Returns the regions and the bytes the map took.
 */
async function readSparseMap1(
  reader: ByteReader,
  stored: number,
): Promise<{ regions: SparseRegion[]; bytes: number }> {
  const numbers: number[] = [];
  let count = -1;
  let bytes = 0;
  let line = "";
  while (count < 0 || numbers.length < 2 * count) {
    if (bytes + BLOCK > Math.min(stored, MAX_META_SIZE)) throw invalid("malformed tar sparse map");
    const block = await reader.readExact(BLOCK);
    if (block === null) throw invalid("unexpected end of archive");
    bytes += BLOCK;
    for (const b of block) {
      if (count >= 0 && numbers.length === 2 * count) break;
      if (b !== 0x0a) {
        line += String.fromCharCode(b);
        continue;
      }
      const n = paxInteger("sparse map", line);
      if (count < 0) count = n;
      else numbers.push(n);
      line = "";
      if (count > MAX_SPARSE_REGIONS) throw invalid("tar sparse map too large");
    }
  }
  return { regions: regionsOf(numbers), bytes };
}

function regionsOf(numbers: number[]): SparseRegion[] {
  if (numbers.length % 2 !== 0 || numbers.length > 2 * MAX_SPARSE_REGIONS) {
    throw invalid("malformed tar sparse map");
  }
  const regions: SparseRegion[] = [];
  for (let i = 0; i < numbers.length; i += 2) {
    regions.push({ offset: numbers[i], length: numbers[i + 1] });
  }
  return regions;
}

/** Regions in order, not overlapping, inside the file, and exactly the data stored. */
function checkSparse(regions: SparseRegion[], size: number, stored: number): void {
  let end = 0;
  let total = 0;
  for (const r of regions) {
    if (r.offset < end || r.offset + r.length > size) throw invalid("malformed tar sparse map");
    end = r.offset + r.length;
    total += r.length;
  }
  if (total !== stored) throw invalid("tar sparse map does not match the data stored");
}

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
  let stored = NaN; // a field that is no number matches no sum
  try {
    stored = parseNumber(block.subarray(148, 156), "checksum");
  } catch {
    // Reported below, as every other mismatch.
  }
  let unsigned = 0;
  let signed = 0;
  for (let i = 0; i < BLOCK; i++) {
    // The checksum field itself counts as eight spaces.
    const b = i >= 148 && i < 156 ? 0x20 : block[i];
    unsigned += b;
    signed += b > 127 ? b - 256 : b;
  }
  if (stored !== unsigned && stored !== signed) {
    throw invalid("invalid tar header checksum (not a tar archive, or a damaged one)");
  }
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
  if (!/^[0-7]+$/.test(text)) throw invalid(`invalid tar header ${what} (not an octal number)`);
  const n = parseInt(text, 8);
  if (!Number.isSafeInteger(n)) throw invalid(`tar header ${what} out of range`);
  return n;
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
    else if (key.startsWith("GNU.sparse.")) paxSparse(out.sparse ??= {}, key.slice(11), value);
  }
  return out;
}

function paxSparse(s: PaxSparse, key: string, value: string): void {
  if (key === "major" || key === "minor" || key === "name") s[key] = value;
  else if (key === "size" || key === "realsize") s.size = paxInteger(`sparse ${key}`, value);
  else if (key === "map") s.map = value.split(",").map((v) => paxInteger("sparse map", v));
  // Format 0.0 repeats these two, in order, once per region.
  else if (key === "offset" || key === "numbytes") {
    (s.map ??= []).push(paxInteger(`sparse ${key}`, value));
  }
}

function paxInteger(key: string, value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(n)) throw invalid(`invalid PAX ${key}`);
  return n;
}

function paxTime(value: string): number {
  const n = Number(value);
  if (!/^-?\d+(\.\d+)?$/.test(value) || !Number.isFinite(n)) throw invalid("invalid PAX mtime");
  return n;
}
