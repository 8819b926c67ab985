/**
 * Just enough ELF parsing to tell a static executable from a dynamic one: a
 * dynamic one names its loader in a PT_INTERP program header, and would not
 * start inside a rootfs without that loader and its libraries.
 * @module
 */
import { invalid } from "../errdefs/mod.ts";

const PT_INTERP = 3;

/**
 * Whether the ELF file at `path` has no program interpreter (static or
 * static-pie). Not an ELF file is an `invalid` error.
 *
 * @example
 * ```ts
 * await isStaticElf("/bin/busybox"); // true for busybox-static
 * await isStaticElf("/bin/ls"); // false
 * ```
 */
export async function isStaticElf(path: string): Promise<boolean> {
  const file = await Deno.open(path);
  try {
    const ident = await readAt(file, 0, 64);
    if (ident[0] !== 0x7f || ident[1] !== 0x45 || ident[2] !== 0x4c || ident[3] !== 0x46) {
      throw invalid(`${path} is not an ELF executable`);
    }
    const is64 = ident[4] === 2;
    const le = ident[5] === 1;
    const h = new DataView(ident.buffer);
    const phoff = is64 ? Number(h.getBigUint64(32, le)) : h.getUint32(28, le);
    const phentsize = h.getUint16(is64 ? 54 : 42, le);
    const phnum = h.getUint16(is64 ? 56 : 44, le);
    const table = new DataView((await readAt(file, phoff, phentsize * phnum)).buffer);
    for (let i = 0; i < phnum; i++) {
      if (table.getUint32(i * phentsize, le) === PT_INTERP) return false;
    }
    return true;
  } finally {
    file.close();
  }
}

async function readAt(
  file: Deno.FsFile,
  offset: number,
  length: number,
): Promise<Uint8Array<ArrayBuffer>> {
  await file.seek(offset, Deno.SeekMode.Start);
  const buf = new Uint8Array(length);
  let off = 0;
  while (off < length) {
    const n = await file.read(buf.subarray(off));
    if (n === null) throw invalid("truncated ELF file");
    off += n;
  }
  return buf;
}
