/**
 * The devices of a container's OCI spec: the nodes runc creates in its /dev
 * (`--device`, or every host device when privileged) and the device cgroup
 * rules that let the container use them.
 * @module
 */
import { join } from "node:path";
import { invalid } from "../errdefs/mod.ts";
import type { DeviceMapping } from "./spec.ts";

/** A device node of the spec's `linux.devices`. */
interface LinuxDevice {
  path: string;
  type: "c" | "b";
  major: number;
  minor: number;
  fileMode: number;
  uid: number;
  gid: number;
}

/** A rule of the device cgroup (`linux.resources.devices`). */
interface DeviceRule {
  allow: boolean;
  type?: "c" | "b";
  major?: number;
  minor?: number;
  access: string;
}

/** Directories of the host's /dev that hold no device of its own (Docker skips them too). */
const SKIPPED_DEV_DIRS = new Set(["pts", "shm", "fd", "mqueue", ".lxc", ".lxd-mounts", ".udev"]);

/** The major and minor numbers of a dev_t (glibc's encoding). */
function majorMinor(rdev: number): { major: number; minor: number } {
  const high = Math.floor(rdev / 2 ** 32);
  const low = rdev % 2 ** 32;
  return {
    major: (((low >>> 8) & 0xfff) | (high & ~0xfff)) >>> 0,
    minor: ((low & 0xff) | (((low >>> 12) | (high << 20)) & ~0xff)) >>> 0,
  };
}

/** The device node `info` describes, as the container gets it at `path`; null when not a device. */
function deviceAt(path: string, info: Deno.FileInfo): LinuxDevice | null {
  if (!info.isCharDevice && !info.isBlockDevice) return null;
  return {
    path,
    type: info.isCharDevice ? "c" : "b",
    ...majorMinor(info.rdev ?? 0),
    fileMode: (info.mode ?? 0o600) & 0o7777,
    uid: info.uid ?? 0,
    gid: info.gid ?? 0,
  };
}

/** Every device node under the host's /dev (a privileged container gets them all). */
function hostDevices(dir = "/dev"): LinuxDevice[] {
  const devices: LinuxDevice[] = [];
  for (const entry of Deno.readDirSync(dir)) {
    const path = join(dir, entry.name);
    if (entry.isDirectory) {
      if (!SKIPPED_DEV_DIRS.has(entry.name)) devices.push(...hostDevices(path));
      continue;
    }
    // The console is the engine's, not the container's.
    if (path === "/dev/console") continue;
    try {
      const device = deviceAt(path, Deno.lstatSync(path));
      if (device) devices.push(device);
    } catch {
      // Gone meanwhile.
    }
  }
  return devices;
}

/** `--device` permissions: r, w and m, each at most once. */
function checkPermissions(perms: string): string {
  if (!/^[rwm]{1,3}$/.test(perms) || new Set(perms).size !== perms.length) {
    throw invalid(`invalid device mode: ${perms}`);
  }
  return perms;
}

/** One `--device` mapping, its host node looked up now (refused when missing). */
function mappedDevice(d: DeviceMapping): { device: LinuxDevice; rule: DeviceRule } {
  const path = d.PathInContainer || d.PathOnHost;
  if (!d.PathOnHost?.startsWith("/") || !path.startsWith("/")) {
    throw invalid(`invalid device specification: ${d.PathOnHost}:${path} (absolute paths)`);
  }
  const access = checkPermissions(d.CgroupPermissions || "rwm");
  let info: Deno.FileInfo;
  try {
    info = Deno.statSync(d.PathOnHost);
  } catch (err) {
    const why = err instanceof Deno.errors.NotFound ? "no such file or directory" : String(err);
    throw invalid(
      `error gathering device information while adding custom device "${d.PathOnHost}": ${why}`,
    );
  }
  if (info.isDirectory) {
    throw invalid(`--device ${d.PathOnHost}: a directory of devices is not supported by corral`);
  }
  const device = deviceAt(path, info);
  if (!device) {
    throw invalid(
      `error gathering device information while adding custom device "${d.PathOnHost}": ` +
        "not a device node",
    );
  }
  const { type, major, minor } = device;
  return { device, rule: { allow: true, type, major, minor, access } };
}

/**
 * The device nodes of the container and the device cgroup rules: every
 * device denied but `--device` ones, or every host device allowed when
 * privileged.
 *
 * @example
 * ```ts
 * const { devices, rules } = devicesOf({ Devices: [{ PathOnHost: "/dev/null", PathInContainer: "/dev/n" }] });
 * rules; // [{ allow: false, access: "rwm" }, { allow: true, type: "c", major: 1, minor: 3, access: "rwm" }]
 * ```
 */
export function devicesOf(
  host: { Privileged?: boolean; Devices?: DeviceMapping[] | null },
): { devices: LinuxDevice[]; rules: DeviceRule[] } {
  const mapped = (host.Devices ?? []).map(mappedDevice);
  if (host.Privileged) {
    const taken = new Set(mapped.map((m) => m.device.path));
    const devices = [
      ...hostDevices().filter((d) => !taken.has(d.path)),
      ...mapped.map((m) => m.device),
    ];
    return { devices, rules: [{ allow: true, access: "rwm" }] };
  }
  return {
    devices: mapped.map((m) => m.device),
    rules: [{ allow: false, access: "rwm" }, ...mapped.map((m) => m.rule)],
  };
}
