/**
 * A minimal rootfs from the host's static busybox, so corral can run
 * containers with no registry: the binary, one symlink per applet, the
 * usual top-level directories and a passwd/group pair.
 * @module
 */
import { posix } from "node:path";
import { invalid, notFound } from "../errdefs/mod.ts";
import { isStaticElf } from "./elf.ts";
import { cleanEntryPath } from "./path.ts";
import type { ImageConfig } from "./model.ts";
import { hostFile, type LayerWriter } from "./writer.ts";

/** The config of the busybox image. */
export const BUSYBOX_CONFIG: Partial<ImageConfig> = {
  Cmd: ["sh"],
  Env: ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
};

const BINARY = "bin/busybox";
const DIRS: [string, number][] = [
  ["bin", 0o755],
  ["sbin", 0o755],
  ["usr", 0o755],
  ["usr/bin", 0o755],
  ["usr/sbin", 0o755],
  ["dev", 0o755],
  ["proc", 0o555],
  ["sys", 0o555],
  ["etc", 0o755],
  ["home", 0o755],
  ["root", 0o700],
  ["tmp", 0o1777],
  ["var", 0o755],
];
const FILES: [string, string][] = [
  [
    "etc/passwd",
    "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/home:/bin/false\n",
  ],
  ["etc/group", "root:x:0:\nnobody:x:65534:\n"],
  ["etc/hostname", "busybox\n"],
];

/**
 * Write the busybox rootfs into `w`. A missing busybox is a `not_found`
 * error, a dynamically linked one `invalid` (it would not start without its
 * libraries).
 *
 * @example
 * ```ts
 * import { LayerWriter } from "./writer.ts";
 * const w = new LayerWriter("/tmp/layer");
 * await writeBusyboxRootfs(w, "/bin/busybox");
 * await w.finish();
 * ```
 */
export async function writeBusyboxRootfs(w: LayerWriter, busybox: string): Promise<void> {
  try {
    if (!(await Deno.stat(busybox)).isFile) throw invalid(`${busybox} is not a file`);
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
    throw notFound(`busybox not found at ${busybox}: install a static busybox (busybox-static)`);
  }
  if (!(await isStaticElf(busybox))) {
    throw invalid(
      `${busybox} is dynamically linked; the busybox image needs a static one (busybox-static)`,
    );
  }
  const root = { uid: 0, gid: 0 };
  await w.dir("", { ...root, mode: 0o755 });
  for (const [dir, mode] of DIRS) await w.dir(dir, { ...root, mode });
  await w.file(BINARY, { ...root, mode: 0o755 }, hostFile(busybox));
  for (const applet of await listApplets(busybox)) {
    const target = posix.relative(posix.dirname(`/${applet}`), `/${BINARY}`);
    await w.symlink(applet, target, { ...root, mode: 0o777 });
  }
  const enc = new TextEncoder();
  for (const [path, text] of FILES) {
    await w.file(path, { ...root, mode: 0o644 }, [enc.encode(text)]);
  }
}

/** The applet paths busybox was built with, relative, without the binary itself. */
async function listApplets(busybox: string): Promise<string[]> {
  const out = await new Deno.Command(busybox, { args: ["--list-full"], stderr: "piped" }).output();
  if (!out.success) {
    throw invalid(`${busybox} --list-full failed: ${new TextDecoder().decode(out.stderr).trim()}`);
  }
  return new TextDecoder().decode(out.stdout).split("\n")
    .filter((line) => line.trim() !== "")
    .map(cleanEntryPath)
    .filter((path) => path !== BINARY && path !== "");
}
