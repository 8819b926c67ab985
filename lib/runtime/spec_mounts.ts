/**
 * The mounts of a container's OCI spec: Docker's defaults (/proc, /dev,
 * /dev/shm sized by `--shm-size`, /sys), the files the engine writes, the
 * init (`--init`), and the user's: `-v` binds, `--mount` binds and tmpfs,
 * `--tmpfs`. Every user mount is checked with Docker's messages.
 * @module
 */
import { existsSync } from "node:fs";
import { posix } from "node:path";
import { invalid } from "../errdefs/mod.ts";
import type { HostOptions, MountSpec } from "./spec.ts";

/** An OCI mount. */
interface OciMount {
  destination: string;
  type: string;
  source: string;
  options?: string[];
}

/** A volume of the container, mounted on the host at `source`. */
export interface VolumeBind {
  source: string;
  destination: string;
  readonly: boolean;
}

/** The init `--init` runs as pid 1: Debian's static tini, which works in any image. */
export const INIT_BINARY = "/usr/bin/tini-static";
/** Where the init is bound in the container (Docker's path for its docker-init). */
export const INIT_IN_CONTAINER = "/sbin/docker-init";

/** Docker's /dev/shm size when `--shm-size` is not given (64 MiB). */
const DEFAULT_SHM_SIZE = "65536k";

/** The mounts every container gets, as Docker's default spec has them. */
const DEFAULT_MOUNTS: OciMount[] = [
  { destination: "/proc", type: "proc", source: "proc" },
  {
    destination: "/dev",
    type: "tmpfs",
    source: "tmpfs",
    options: ["nosuid", "strictatime", "mode=755", "size=65536k"],
  },
  {
    destination: "/dev/pts",
    type: "devpts",
    source: "devpts",
    options: ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"],
  },
  {
    destination: "/dev/shm",
    type: "tmpfs",
    source: "shm",
    options: ["nosuid", "noexec", "nodev", "mode=1777", `size=${DEFAULT_SHM_SIZE}`],
  },
  {
    destination: "/dev/mqueue",
    type: "mqueue",
    source: "mqueue",
    options: ["nosuid", "noexec", "nodev"],
  },
  {
    destination: "/sys",
    type: "sysfs",
    source: "sysfs",
    options: ["nosuid", "noexec", "nodev", "ro"],
  },
  {
    destination: "/sys/fs/cgroup",
    type: "cgroup",
    source: "cgroup",
    options: ["nosuid", "noexec", "nodev", "relatime", "ro"],
  },
];

/** A `-v /host:/ctr[:ro|rw]`: a bind mount of a host path. */
export interface BindSpec {
  kind: "bind";
  source: string;
  destination: string;
  readonly: boolean;
}

/** A `-v name:/ctr[:ro,nocopy]` (a named volume) or `-v /ctr` (an anonymous one, name ""). */
export interface VolumeBindSpec {
  kind: "volume";
  name: string;
  destination: string;
  readonly: boolean;
  nocopy: boolean;
  /** The mode as given ("" when none), as inspect shows it. */
  mode: string;
}

/**
 * Parse a Docker `-v` spec: `/host:/ctr[:ro|rw]` is a bind mount,
 * `name:/ctr[:ro|rw][,nocopy]` a named volume, `/ctr` an anonymous volume.
 * A volume's name is checked by the volume module.
 *
 * @example
 * ```ts
 * parseBind("/data:/srv:ro"); // { kind: "bind", source: "/data", destination: "/srv", readonly: true }
 * parseBind("db:/var/lib/db"); // { kind: "volume", name: "db", destination: "/var/lib/db", ... }
 * parseBind("/cache"); // { kind: "volume", name: "", destination: "/cache", ... }
 * ```
 */
export function parseBind(spec: string): BindSpec | VolumeBindSpec {
  const parts = spec.split(":");
  if (parts.length === 1 && spec.startsWith("/")) {
    if (isRootPath(spec)) {
      throw invalid(`invalid volume specification: "${spec}": destination can't be '/'`);
    }
    return {
      kind: "volume",
      name: "",
      destination: spec,
      readonly: false,
      nocopy: false,
      mode: "",
    };
  }
  if (parts.length < 2 || parts.length > 3 || parts[0] === "" || !parts[1].startsWith("/")) {
    throw invalid(
      `invalid volume specification "${spec}": expected /host/path:/container/path[:ro], ` +
        `name:/container/path[:ro] or /container/path`,
    );
  }
  // runc would mount over the container's root and create dev/ in the host folder.
  if (isRootPath(parts[1])) {
    throw invalid(`invalid bind mount "${spec}": destination can't be '/'`);
  }
  const mode = parts[2] ?? "";
  const words = mode.split(",").filter((w) => w !== "");
  const volume = !parts[0].startsWith("/");
  const allowed = volume ? ["ro", "rw", "nocopy", "z", "Z"] : ["ro", "rw"];
  const bad = words.find((w) => !allowed.includes(w));
  if (bad !== undefined || (words.includes("ro") && words.includes("rw"))) {
    throw invalid(`invalid ${volume ? "volume" : "bind mount"} mode "${mode}" in "${spec}"`);
  }
  const readonly = words.includes("ro");
  if (!volume) return { kind: "bind", source: parts[0], destination: parts[1], readonly };
  return {
    kind: "volume",
    name: parts[0],
    destination: parts[1],
    readonly,
    nocopy: words.includes("nocopy"),
    mode,
  };
}

/** Whether an absolute path names "/" once "." and ".." are resolved. */
function isRootPath(path: string): boolean {
  return posix.normalize(path) === "/";
}

/** Opposite mount flags: of a pair given in one list, the last one wins. */
const TMPFS_FLAG_PAIRS = [
  ["rw", "ro"],
  ["exec", "noexec"],
  ["suid", "nosuid"],
  ["dev", "nodev"],
  ["atime", "noatime"],
  ["diratime", "nodiratime"],
  ["relatime", "norelatime"],
  ["strictatime", "nostrictatime"],
  ["async", "sync"],
];

/** The tmpfs data options (`key=value`) the kernel takes, and the values it takes. */
const TMPFS_DATA: Record<string, RegExp> = {
  size: /^\d+[kmg%]?$/i,
  nr_blocks: /^\d+[kmg]?$/i,
  nr_inodes: /^\d+[kmg]?$/i,
  mode: /^[0-7]{1,4}$/,
  uid: /^\d+$/,
  gid: /^\d+$/,
  huge: /^(never|always|within_size|advise)$/,
};

/**
 * Docker's tmpfs options (noexec, nosuid, nodev) merged with the user's,
 * the user's winning; an option the kernel would refuse at mount is refused
 * here.
 */
function tmpfsOptions(own: string[], where: string): string[] {
  const byKey = new Map<string, string>();
  for (const opt of ["noexec", "nosuid", "nodev", ...own.filter((o) => o !== "")]) {
    const pair = TMPFS_FLAG_PAIRS.find((p) => p.includes(opt));
    const key = opt.split("=", 1)[0];
    if (pair) byKey.set(pair[0], opt);
    else if (opt.includes("=") && TMPFS_DATA[key]?.test(opt.slice(key.length + 1))) {
      byKey.set(key, opt);
    } else throw invalid(`invalid tmpfs option "${opt}" for ${where}`);
  }
  return [...byKey.values()];
}

/** The mount path checks Docker makes (absolute, not "/"). */
function checkTarget(target: string, fail: (why: string) => never): void {
  if (!target) fail("field Target must not be empty");
  if (!target.startsWith("/")) fail(`invalid mount path: '${target}' mount path must be absolute`);
  if (isRootPath(target)) fail("invalid specification: destination can't be '/'");
}

/** Whether an options object sets nothing (Docker's clients send zero values). */
function isUnset(v: unknown): boolean {
  return v === undefined || v === null || v === false || v === 0 || v === "" ||
    (typeof v === "object" && Object.values(v as object).every(isUnset));
}

/** The bind propagation modes (`bind-propagation`). */
const PROPAGATIONS = new Set(["private", "rprivate", "shared", "rshared", "slave", "rslave"]);

/** A `--mount type=bind` as an OCI mount. */
function bindMount(m: MountSpec, fail: (why: string) => never): OciMount {
  if (!m.Source) fail("field Source must not be empty");
  if (!isUnset(m.TmpfsOptions)) fail("field TmpfsOptions must not be specified");
  if (!isUnset(m.VolumeOptions)) fail("field VolumeOptions must not be specified");
  if (!m.Source.startsWith("/")) {
    fail(`invalid mount path: '${m.Source}' mount path must be absolute`);
  }
  if (!existsSync(m.Source)) fail(`bind source path does not exist: ${m.Source}`);
  const { Propagation, NonRecursive, ...other } = m.BindOptions ?? {};
  for (const [k, v] of Object.entries(other)) {
    if (!isUnset(v)) throw invalid(`--mount bind option ${k} is not supported by corral`);
  }
  if (Propagation && !PROPAGATIONS.has(Propagation)) {
    fail(`invalid propagation mode: ${Propagation}`);
  }
  const options = [NonRecursive ? "bind" : "rbind", m.ReadOnly ? "ro" : "rw"];
  return {
    destination: m.Target,
    type: "bind",
    source: m.Source,
    options: [...options, Propagation || "rprivate"],
  };
}

/** A `--mount type=tmpfs` as an OCI mount. */
function tmpfsMount(m: MountSpec, fail: (why: string) => never): OciMount {
  if (m.Source) fail("field Source must not be specified");
  if (!isUnset(m.BindOptions)) fail("field BindOptions must not be specified");
  const { SizeBytes, Mode, ...other } = m.TmpfsOptions ?? {};
  for (const [k, v] of Object.entries(other)) {
    if (!isUnset(v)) throw invalid(`--mount tmpfs option ${k} is not supported by corral`);
  }
  const own: string[] = m.ReadOnly ? ["ro"] : [];
  if (SizeBytes) {
    if (!Number.isSafeInteger(SizeBytes) || SizeBytes < 0) fail(`invalid size: ${SizeBytes}`);
    own.push(`size=${SizeBytes}`);
  }
  if (Mode) {
    if (!Number.isInteger(Mode) || Mode < 0 || Mode > 0o7777) fail(`invalid mode: ${Mode}`);
    own.push(`mode=${Mode.toString(8)}`);
  }
  return {
    destination: m.Target,
    type: "tmpfs",
    source: "tmpfs",
    options: tmpfsOptions(own, m.Target),
  };
}

/** One `--mount` as an OCI mount, checked with Docker's messages. */
function mountOf(m: MountSpec): OciMount {
  const fail = (why: string): never => {
    throw invalid(`invalid mount config for type "${m.Type}": ${why}`);
  };
  if (m.Type !== "bind" && m.Type !== "tmpfs") fail("mount type unknown");
  checkTarget(m.Target, fail);
  return m.Type === "bind" ? bindMount(m, fail) : tmpfsMount(m, fail);
}

/**
 * The user's mounts (`-v`, `--mount`, `--tmpfs`, volumes), refused when two share a
 * destination, parents before children so that one nested in another shows.
 */
function userMounts(host: HostOptions, volumes: VolumeBind[]): OciMount[] {
  const binds = (host.Binds ?? []).map(parseBind).filter((b) => b.kind === "bind");
  const mounts = [
    ...[...binds, ...volumes].map((b) => ({
      destination: b.destination,
      type: "bind",
      source: b.source,
      options: ["rbind", b.readonly ? "ro" : "rw"],
    })),
    // Volumes come resolved, in `volumes`.
    ...(host.Mounts ?? []).filter((m) => m.Type !== "volume").map(mountOf),
    ...Object.entries(host.Tmpfs ?? {}).map(([destination, options]) => {
      checkTarget(destination, (why) => {
        throw invalid(`invalid tmpfs mount ${destination}: ${why}`);
      });
      return {
        destination,
        type: "tmpfs",
        source: "tmpfs",
        options: tmpfsOptions(options.split(","), destination),
      };
    }),
  ];
  const seen = new Set<string>();
  for (const m of mounts) {
    m.destination = posix.normalize(m.destination).replace(/(.)\/$/, "$1");
    if (seen.has(m.destination)) throw invalid(`Duplicate mount point: ${m.destination}`);
    seen.add(m.destination);
  }
  const depth = (m: OciMount) => m.destination.split("/").length;
  return mounts.sort((a, b) => depth(a) - depth(b));
}

/** A default mount as the host options change it: /dev/shm's size, /sys writable when privileged. */
function defaultMount(m: OciMount, host: HostOptions): OciMount {
  if (m.destination === "/dev/shm" && host.ShmSize) {
    return {
      ...m,
      options: m.options!.map((o) => o.startsWith("size=") ? `size=${host.ShmSize}` : o),
    };
  }
  if (m.destination.startsWith("/sys") && host.Privileged) {
    return { ...m, options: m.options!.map((o) => o === "ro" ? "rw" : o) };
  }
  return m;
}

/**
 * Every mount of the spec: the defaults and the engine's `files` unless the
 * user mounts something there, the init, then the user's mounts and the
 * container's `volumes`.
 *
 * @example
 * ```ts
 * mountsOf({ Tmpfs: { "/run": "size=1m" }, ShmSize: 128 << 20 }, []).map((m) => m.destination);
 * // ["/proc", "/dev", "/dev/pts", "/dev/shm", "/dev/mqueue", "/sys", "/sys/fs/cgroup", "/run"]
 * ```
 */
export function mountsOf(
  host: HostOptions,
  files: { source: string; destination: string }[],
  volumes: VolumeBind[] = [],
): OciMount[] {
  const user = userMounts(host, volumes);
  const taken = new Set(user.map((m) => m.destination));
  const init: OciMount[] = [];
  if (host.Init) {
    if (!existsSync(INIT_BINARY)) {
      throw invalid(`--init needs ${INIT_BINARY}: install Debian's tini package`);
    }
    init.push({
      destination: INIT_IN_CONTAINER,
      type: "bind",
      source: INIT_BINARY,
      options: ["bind", "ro"],
    });
  }
  return [
    ...DEFAULT_MOUNTS.filter((m) => !taken.has(m.destination)).map((m) => defaultMount(m, host)),
    ...files.filter((f) => !taken.has(f.destination)).map((f) => ({
      ...f,
      type: "bind",
      options: ["rbind", "rprivate"],
    })),
    ...init,
    ...user,
  ];
}
