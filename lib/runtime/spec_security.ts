/**
 * The security parts of a container's OCI spec: its capabilities
 * (`--cap-add`, `--cap-drop`, `--privileged`), no-new-privileges
 * (`--security-opt`), its sysctls (`--sysctl`) and the paths of /proc and
 * /sys it must not see or write, with Docker's rules and messages.
 * @module
 */
import { existsSync } from "node:fs";
import { invalid } from "../errdefs/mod.ts";

/** Every capability Linux defines, in bit order (CAP_CHOWN is bit 0). */
const LINUX_CAPABILITIES = [
  "CAP_CHOWN",
  "CAP_DAC_OVERRIDE",
  "CAP_DAC_READ_SEARCH",
  "CAP_FOWNER",
  "CAP_FSETID",
  "CAP_KILL",
  "CAP_SETGID",
  "CAP_SETUID",
  "CAP_SETPCAP",
  "CAP_LINUX_IMMUTABLE",
  "CAP_NET_BIND_SERVICE",
  "CAP_NET_BROADCAST",
  "CAP_NET_ADMIN",
  "CAP_NET_RAW",
  "CAP_IPC_LOCK",
  "CAP_IPC_OWNER",
  "CAP_SYS_MODULE",
  "CAP_SYS_RAWIO",
  "CAP_SYS_CHROOT",
  "CAP_SYS_PTRACE",
  "CAP_SYS_PACCT",
  "CAP_SYS_ADMIN",
  "CAP_SYS_BOOT",
  "CAP_SYS_NICE",
  "CAP_SYS_RESOURCE",
  "CAP_SYS_TIME",
  "CAP_SYS_TTY_CONFIG",
  "CAP_MKNOD",
  "CAP_LEASE",
  "CAP_AUDIT_WRITE",
  "CAP_AUDIT_CONTROL",
  "CAP_SETFCAP",
  "CAP_MAC_OVERRIDE",
  "CAP_MAC_ADMIN",
  "CAP_SYSLOG",
  "CAP_WAKE_ALARM",
  "CAP_BLOCK_SUSPEND",
  "CAP_AUDIT_READ",
  "CAP_PERFMON",
  "CAP_BPF",
  "CAP_CHECKPOINT_RESTORE",
];

/** The capabilities a container gets by default (Docker's list). */
const DEFAULT_CAPABILITIES = [
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

let kernelCapabilities: string[] | undefined;
let engineCapabilities: Set<string> | undefined;

/** The capabilities this kernel has (up to /proc/sys/kernel/cap_last_cap). */
function knownCapabilities(): string[] {
  if (kernelCapabilities) return kernelCapabilities;
  let last = LINUX_CAPABILITIES.length - 1;
  try {
    last = Math.min(last, Number(Deno.readTextFileSync("/proc/sys/kernel/cap_last_cap")));
  } catch {
    // No /proc/sys: assume the kernel has every capability named above.
  }
  return kernelCapabilities = LINUX_CAPABILITIES.slice(0, last + 1);
}

/**
 * Whether corral's own bounding set has a capability: runc, its child, can
 * give a container no other (in a restricted host, `ALL` is less than all).
 *
 * @example
 * ```ts
 * engineHasCapability("CAP_SYS_RESOURCE"); // may a container raise its rlimits
 * ```
 */
export function engineHasCapability(cap: string): boolean {
  if (!engineCapabilities) {
    const status = Deno.readTextFileSync("/proc/self/status");
    const bounding = BigInt(`0x${status.match(/^CapBnd:\s*([0-9a-f]+)$/m)?.[1] ?? "0"}`);
    engineCapabilities = new Set(
      knownCapabilities().filter((_, bit) => (bounding >> BigInt(bit)) & 1n),
    );
  }
  return engineCapabilities.has(cap);
}

/** Every capability a container can get here: `ALL`, and a privileged container's. */
function allCapabilities(): string[] {
  return knownCapabilities().filter(engineHasCapability);
}

/** Capability names as Docker takes them: any case, with or without `CAP_`, or `ALL`. */
function normalizeCapabilities(names: string[]): { all: boolean; caps: string[] } {
  const caps: string[] = [];
  let all = false;
  for (const name of names) {
    const upper = name.toUpperCase();
    if (upper === "ALL") {
      all = true;
      continue;
    }
    const cap = upper.startsWith("CAP_") ? upper : `CAP_${upper}`;
    if (!knownCapabilities().includes(cap)) throw invalid(`unknown capability: "${cap}"`);
    caps.push(cap);
  }
  return { all, caps };
}

/**
 * The container's capabilities: Docker's defaults less `CapDrop` plus
 * `CapAdd` (`ALL` in either), or every capability when privileged; `ALL` is
 * what corral itself has.
 *
 * @example
 * ```ts
 * capabilitiesOf({ CapDrop: ["ALL"], CapAdd: ["net_admin"] }); // ["CAP_NET_ADMIN"]
 * capabilitiesOf({ CapAdd: ["CAP_NOPE"] }); // throws invalid: unknown capability: "CAP_NOPE"
 * ```
 */
export function capabilitiesOf(
  host: { Privileged?: boolean; CapAdd?: string[] | null; CapDrop?: string[] | null },
): string[] {
  const drop = normalizeCapabilities(host.CapDrop ?? []);
  const add = normalizeCapabilities(host.CapAdd ?? []);
  if (host.Privileged) return allCapabilities();
  if (add.all) return allCapabilities().filter((c) => !drop.caps.includes(c));
  const unavailable = add.caps.find((c) => !engineHasCapability(c));
  if (unavailable) {
    throw invalid(`capability ${unavailable} is not in corral's bounding set: it cannot give it`);
  }
  const kept = drop.all ? [] : DEFAULT_CAPABILITIES.filter((c) => !drop.caps.includes(c));
  return [...new Set([...kept, ...add.caps])];
}

/** Go's strconv.ParseBool, which Docker reads an option's value with. */
function parseGoBool(value: string): boolean | null {
  if (["1", "t", "T", "TRUE", "true", "True"].includes(value)) return true;
  if (["0", "f", "F", "FALSE", "false", "False"].includes(value)) return false;
  return null;
}

/**
 * Whether the container runs with no-new-privileges (`--security-opt
 * no-new-privileges[=true|false]`; off by default, as in Docker). Other
 * security options (seccomp, apparmor, label) are refused: corral has none
 * of those to configure.
 *
 * @example
 * ```ts
 * noNewPrivileges(["no-new-privileges"]); // true
 * noNewPrivileges([]); // false
 * noNewPrivileges(["seccomp=unconfined"]); // throws invalid
 * ```
 */
export function noNewPrivileges(securityOpt: string[]): boolean {
  let on = false;
  for (const opt of securityOpt) {
    if (opt === "no-new-privileges") {
      on = true;
      continue;
    }
    const sep = opt.includes("=") ? "=" : ":";
    const [key, value] = [opt.split(sep, 1)[0], opt.slice(opt.indexOf(sep) + 1)];
    if (key !== "no-new-privileges") {
      throw invalid(
        `security option "${opt}" is not supported by corral: only no-new-privileges is`,
      );
    }
    const parsed = parseGoBool(value);
    if (parsed === null) throw invalid(`invalid --security-opt 2: "${opt}"`);
    on = parsed;
  }
  return on;
}

/** The kernel.* sysctls that live in the container's IPC namespace (Docker's list). */
const IPC_NAMESPACED_SYSCTLS = new Set([
  "kernel.msgmax",
  "kernel.msgmnb",
  "kernel.msgmni",
  "kernel.sem",
  "kernel.shmall",
  "kernel.shmmax",
  "kernel.shmmni",
  "kernel.shm_rmid_forced",
]);

/**
 * Prefixes of the sysctls namespaced with the container: its network
 * namespace (net.*) and its IPC namespace (fs.mqueue.*).
 */
const NAMESPACED_SYSCTL_PREFIXES = ["net.", "fs.mqueue."];

/** The interfaces a corral container has: its loopback, and eth0 on a network. */
const CONTAINER_INTERFACES = new Set(["all", "default", "lo", "eth0"]);

/**
 * The container's sysctls, checked with Docker's rule (only sysctls of the
 * container's own namespaces) and against what exists, so that a bad one is
 * refused at create rather than failing runc at start.
 *
 * @example
 * ```ts
 * sysctlsOf({ "net.ipv4.ip_forward": "1" }); // { "net.ipv4.ip_forward": "1" }
 * sysctlsOf({ "kernel.domainname": "x" }); // throws invalid: sysctl 'kernel.domainname=x' is not allowed
 * ```
 */
export function sysctlsOf(sysctls: Record<string, string>): Record<string, string> {
  for (const [key, value] of Object.entries(sysctls)) {
    const namespaced = IPC_NAMESPACED_SYSCTLS.has(key) ||
      NAMESPACED_SYSCTL_PREFIXES.some((p) => key.startsWith(p));
    if (!namespaced) throw invalid(`sysctl '${key}=${value}' is not allowed`);
    const iface = key.match(/^net\.ipv[46]\.(?:conf|neigh)\.([^.]+)\./)?.[1];
    if (iface !== undefined && !CONTAINER_INTERFACES.has(iface)) {
      throw invalid(`sysctl '${key}': the container has no interface ${iface}, only lo and eth0`);
    }
    if (!/^[\w.-]+$/.test(key) || !existsSync(`/proc/sys/${key.replaceAll(".", "/")}`)) {
      throw invalid(`sysctl '${key}' does not exist on this kernel`);
    }
    if (/[\n\0]/.test(value)) throw invalid(`invalid value for sysctl '${key}'`);
  }
  return sysctls;
}

/** Paths of /proc and /sys a container must not see (Docker's defaults). */
export const MASKED_PATHS = [
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
export const READONLY_PATHS = [
  "/proc/bus",
  "/proc/fs",
  "/proc/irq",
  "/proc/sys",
  "/proc/sysrq-trigger",
];
