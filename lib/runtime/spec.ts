/**
 * The OCI runtime spec (`config.json`) of a container.
 * @module
 */
import { invalid } from "../errdefs/mod.ts";

/** What the spec is made from. */
export interface SpecInput {
  id: string;
  args: string[];
  env: string[];
  cwd: string;
  /** "uid[:gid]" or a user name from the image's /etc/passwd; "" is root. */
  user: string;
  hostname: string;
  /** Absolute path of the mounted rootfs: the container's root, where user names resolve. */
  rootfs: string;
  cgroupsPath: string;
  /** Bytes; 0 = unlimited. */
  memory: number;
  /** CPUs × 1e9; 0 = unlimited. */
  nanoCpus: number;
  /** Max pids; 0 or less = unlimited. */
  pidsLimit: number;
  /** Docker bind specs `/host:/ctr[:ro]`. */
  binds: string[];
  /** Files the engine wrote for the container, bound over the image's (/etc/hosts, ...). */
  files: { source: string; destination: string }[];
}

const CAPS = [
  "CAP_CHOWN",
  "CAP_DAC_OVERRIDE",
  "CAP_FSETID",
  "CAP_FOWNER",
  "CAP_MKNOD",
  "CAP_NET_RAW",
  "CAP_SETGID",
  "CAP_SETUID",
  "CAP_SETFCAP",
  "CAP_SETPCAP",
  "CAP_NET_BIND_SERVICE",
  "CAP_SYS_CHROOT",
  "CAP_KILL",
  "CAP_AUDIT_WRITE",
];

/**
 * Parse a Docker bind spec `/host:/ctr[:ro|rw]`.
 *
 * @example
 * ```ts
 * parseBind("/data:/srv:ro"); // { source: "/data", destination: "/srv", readonly: true }
 * ```
 */
export function parseBind(
  spec: string,
): { source: string; destination: string; readonly: boolean } {
  const parts = spec.split(":");
  if (
    parts.length < 2 || parts.length > 3 || !parts[0].startsWith("/") || !parts[1].startsWith("/")
  ) {
    throw invalid(`invalid bind mount "${spec}": expected /host/path:/container/path[:ro]`);
  }
  // runc would mount over the container's root and create dev/ in the host folder.
  if (isRootPath(parts[1])) {
    throw invalid(`invalid bind mount "${spec}": destination can't be '/'`);
  }
  const mode = parts[2] ?? "rw";
  if (mode !== "ro" && mode !== "rw") {
    throw invalid(`invalid bind mount mode "${mode}" in "${spec}"`);
  }
  return { source: parts[0], destination: parts[1], readonly: mode === "ro" };
}

/** Whether an absolute path names "/" once "." and ".." are resolved. */
function isRootPath(path: string): boolean {
  let depth = 0;
  for (const p of path.split("/")) {
    if (p === "..") depth = Math.max(0, depth - 1);
    else if (p !== "" && p !== ".") depth++;
  }
  return depth === 0;
}

function resolveUser(user: string, rootfs: string): { uid: number; gid: number } {
  if (!user) return { uid: 0, gid: 0 };
  const [u, g] = user.split(":");
  const fromFile = (file: string, name: string): string[] | undefined => {
    try {
      return Deno.readTextFileSync(`${rootfs}/etc/${file}`).split("\n").map((l) => l.split(":"))
        .find((f) => f[0] === name);
    } catch {
      return undefined;
    }
  };
  let uid: number, gid: number;
  if (/^\d+$/.test(u)) {
    uid = Number(u);
    gid = 0;
  } else {
    const pw = fromFile("passwd", u);
    if (!pw) throw invalid(`unable to find user ${u}: no matching entries in passwd file`);
    uid = Number(pw[2]);
    gid = Number(pw[3]);
  }
  if (g !== undefined) {
    if (/^\d+$/.test(g)) gid = Number(g);
    else {
      const gr = fromFile("group", g);
      if (!gr) throw invalid(`unable to find group ${g}: no matching entries in group file`);
      gid = Number(gr[2]);
    }
  }
  return { uid, gid };
}

/**
 * The CFS quota and period (µs) for Docker's `NanoCpus` (CPUs × 1e9).
 *
 * @example
 * ```ts
 * cpuQuota(1.5e9); // { quota: 150000, period: 100000 }
 * ```
 */
export function cpuQuota(nanoCpus: number): { quota: number; period: number } {
  return { quota: Math.round(nanoCpus / 1e9 * 100_000), period: 100_000 };
}

/** The mounts every container gets, as Docker's default spec has them. */
const DEFAULT_MOUNTS = [
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
    options: ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"],
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

/** Paths of /proc and /sys a container must not see (Docker's defaults). */
const MASKED_PATHS = [
  "/proc/acpi",
  "/proc/asound",
  "/proc/kcore",
  "/proc/keys",
  "/proc/latency_stats",
  "/proc/timer_list",
  "/proc/timer_stats",
  "/proc/sched_debug",
  "/sys/firmware",
  "/proc/scsi",
];

/** Paths of /proc a container may read but not write (Docker's defaults). */
const READONLY_PATHS = ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"];

/** The namespaces of a container: all its own. */
const NAMESPACES = ["pid", "network", "ipc", "uts", "mount"].map((type) => ({ type }));

/** The cgroup limits of the spec. */
function resourcesOf(input: SpecInput): Record<string, unknown> {
  const resources: Record<string, unknown> = { devices: [{ allow: false, access: "rwm" }] };
  if (input.memory > 0) resources.memory = { limit: input.memory, swap: input.memory };
  if (input.nanoCpus > 0) resources.cpu = cpuQuota(input.nanoCpus);
  if (input.pidsLimit > 0) resources.pids = { limit: input.pidsLimit };
  return resources;
}

/** `-v /host:/ctr[:ro]` as OCI bind mounts. */
function bindMounts(binds: string[]): Record<string, unknown>[] {
  return binds.map(parseBind).map((b) => ({
    destination: b.destination,
    type: "bind",
    source: b.source,
    options: ["rbind", b.readonly ? "ro" : "rw"],
  }));
}

/** Build the OCI spec. */
export function buildSpec(input: SpecInput): Record<string, unknown> {
  const { uid, gid } = resolveUser(input.user, input.rootfs);
  return {
    ociVersion: "1.0.2",
    process: {
      terminal: false,
      user: { uid, gid },
      args: input.args,
      env: input.env,
      cwd: input.cwd || "/",
      capabilities: { bounding: CAPS, effective: CAPS, permitted: CAPS },
      rlimits: [{ type: "RLIMIT_NOFILE", hard: 1024, soft: 1024 }],
      noNewPrivileges: true,
    },
    // Absolute, so that only the bundle (bundle.ts) spells where its rootfs is.
    root: { path: input.rootfs, readonly: false },
    hostname: input.hostname,
    mounts: [
      ...DEFAULT_MOUNTS,
      ...input.files.map((f) => ({ ...f, type: "bind", options: ["rbind", "rprivate"] })),
      ...bindMounts(input.binds),
    ],
    linux: {
      cgroupsPath: input.cgroupsPath,
      resources: resourcesOf(input),
      namespaces: NAMESPACES,
      maskedPaths: MASKED_PATHS,
      readonlyPaths: READONLY_PATHS,
    },
  };
}
