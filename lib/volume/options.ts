/**
 * The local driver's options, as Docker's takes them: `type=tmpfs` (with
 * `o=size=...,mode=...`) and `type=none,o=bind,device=/path`. They are
 * checked when the volume is created, so a bad one is a 400 then and never a
 * failed start; the mount they describe is made when a container using the
 * volume starts.
 * @module
 */
import { invalid } from "../errdefs/mod.ts";
import { MS } from "../sys/mod.ts";

/** How a volume's `_data` is mounted; null for a plain directory. */
export interface MountPlan {
  source: string;
  fstype: string;
  flags: number;
  data: string;
}

const KEYS = new Set(["type", "o", "device"]);

/** Mount flags `o=` may hold, and their bits (a clearing word is 0). */
const FLAGS: Record<string, number> = {
  ro: MS.RDONLY,
  rw: 0,
  nosuid: MS.NOSUID,
  suid: 0,
  nodev: MS.NODEV,
  dev: 0,
  noexec: MS.NOEXEC,
  exec: 0,
};

/** tmpfs data options (`key=value`) and the values the kernel takes. */
const TMPFS_DATA: Record<string, RegExp> = {
  size: /^\d+[kmg%]?$/i,
  nr_inodes: /^\d+[kmg]?$/i,
  mode: /^[0-7]{1,4}$/,
  uid: /^\d+$/,
  gid: /^\d+$/,
};

/**
 * The mount a volume's options describe, checked; null for a plain volume.
 *
 * @example
 * ```ts
 * mountPlan({ type: "tmpfs", device: "tmpfs", o: "size=64m" }); // tmpfs, data "size=64m"
 * mountPlan({}); // null
 * mountPlan({ type: "ext4", device: "/dev/sdb" }); // throws invalid
 * ```
 */
export function mountPlan(opts: Record<string, string>): MountPlan | null {
  for (const [k, v] of Object.entries(opts)) {
    if (!KEYS.has(k)) throw invalid(`invalid option key: "${k}"`);
    if (typeof v !== "string") throw invalid(`invalid option value for "${k}": a string`);
  }
  const { type, o = "", device = "" } = opts;
  if (type === undefined || type === "") {
    if (o || device) throw invalid(`missing required option: "type"`);
    return null;
  }
  const words = o.split(",").filter((w) => w !== "");
  let flags = 0;
  const data: string[] = [];
  const rest: string[] = [];
  for (const w of words) {
    if (w in FLAGS) flags |= FLAGS[w];
    else rest.push(w);
  }
  if (type === "tmpfs") {
    if (device && device !== "tmpfs") throw invalid(`invalid device for type=tmpfs: "${device}"`);
    for (const w of rest) {
      const key = w.split("=", 1)[0];
      if (!TMPFS_DATA[key]?.test(w.slice(key.length + 1))) {
        throw invalid(`invalid option for type=tmpfs: "${w}"`);
      }
      data.push(w);
    }
    return { source: "tmpfs", fstype: "tmpfs", flags, data: data.join(",") };
  }
  if (type === "none") {
    const binds = rest.filter((w) => w === "bind" || w === "rbind");
    const other = rest.find((w) => w !== "bind" && w !== "rbind");
    if (other) throw invalid(`invalid option for type=none: "${other}"`);
    if (binds.length === 0) throw invalid(`type=none needs o=bind (a bind-backed volume)`);
    if (!device.startsWith("/")) {
      throw invalid(`invalid device "${device}": a bind-backed volume needs an absolute path`);
    }
    let isDir = false;
    try {
      isDir = Deno.statSync(device).isDirectory;
    } catch {
      // Refused below.
    }
    if (!isDir) throw invalid(`invalid device "${device}": no such directory`);
    return { source: device, fstype: "", flags: flags | MS.BIND | MS.REC, data: "" };
  }
  throw invalid(
    `volume type "${type}" is not supported by corral: use type=tmpfs or type=none with o=bind`,
  );
}
