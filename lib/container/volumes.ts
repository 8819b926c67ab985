/**
 * A container's volumes: resolved at create from `-v name:/path`, `-v /path`,
 * `--mount type=volume`, `--volumes-from` and the image's and request's
 * `Volumes` (an anonymous volume for each path nothing else mounts), a
 * missing named volume created then; taken by each run at start (mounted,
 * filled from the image) and released by its cleanup; the anonymous ones
 * removed with the container by `rm -v` and `--rm`.
 * @module
 */
import { posix } from "node:path";
import { invalid } from "../errdefs/mod.ts";
import { parseBind, type VolumeBind } from "../runtime/mod.ts";
import { resolveInRoot, validateVolumeName, type VolumeStore } from "../volume/mod.ts";
import type { ContainerConfig, HostConfig, MountSpec, VolumeMount } from "./model.ts";
import type { ContainerRecord } from "./model.ts";

/** A volume of a new container before it exists: `Name` "" is a new anonymous one. */
interface PlannedVolume extends VolumeMount {
  DriverOpts?: Record<string, string>;
  Labels?: Record<string, string>;
}

/** What a create request's volumes resolve to. */
export interface VolumePlan {
  volumes: PlannedVolume[];
  /** Host binds `--volumes-from` carries over. */
  binds: string[];
}

/** Docker's normalized container path (no trailing slash, no `.` or `..`). */
function cleanPath(path: string): string {
  return posix.normalize(path).replace(/(.)\/$/, "$1");
}

/**
 * Resolve a new container's volumes; names and options are checked, nothing
 * is created. `source` finds a `--volumes-from` container.
 *
 * @example
 * ```ts
 * import { defaultHostConfig, emptyConfig } from "./model.ts";
 * const plan = planVolumes(
 *   emptyConfig({ Volumes: { "/cache": {} } }),
 *   { ...defaultHostConfig(), Binds: ["db:/var/lib/db:ro"] },
 *   () => null,
 * );
 * plan.volumes.map((v) => v.Name); // ["db", ""]
 * ```
 */
export function planVolumes(
  config: ContainerConfig,
  hc: HostConfig,
  source: (ref: string) => ContainerRecord | null,
): VolumePlan {
  const volumes: PlannedVolume[] = [];
  const binds: string[] = [];
  for (const spec of hc.Binds ?? []) {
    const b = parseBind(spec);
    if (b.kind !== "volume") continue;
    volumes.push({
      Name: b.name === "" ? "" : validateVolumeName(b.name),
      Destination: cleanPath(b.destination),
      RW: !b.readonly,
      // Docker shows a named volume's `-v` without a mode as "z".
      Mode: b.mode || (b.name === "" ? "" : "z"),
      NoCopy: b.nocopy,
      Anonymous: b.name === "",
    });
  }
  for (const m of hc.Mounts ?? []) if (m.Type === "volume") volumes.push(mountVolume(m));
  if (!Array.isArray(hc.VolumesFrom ?? [])) throw invalid("VolumesFrom must be an array");
  for (const from of hc.VolumesFrom ?? []) {
    if (typeof from !== "string") throw invalid("VolumesFrom must be an array of strings");
    const [ref, mode, ...more] = from.split(":");
    if (more.length || (mode !== undefined && mode !== "ro" && mode !== "rw")) {
      throw invalid(`invalid mode for --volumes-from ${from}: ro or rw`);
    }
    const other = source(ref);
    if (!other) throw invalid(`No such container: ${ref}`);
    for (const v of other.MountPoints ?? []) {
      // Shared, never owned: rm -v of this container leaves it.
      volumes.push({ ...v, RW: mode ? mode === "rw" : v.RW, Anonymous: false });
    }
    for (const spec of other.HostConfig.Binds ?? []) {
      const b = parseBind(spec);
      if (b.kind !== "bind") continue;
      const ro = mode ? mode === "ro" : b.readonly;
      binds.push(`${b.source}:${b.destination}${ro ? ":ro" : ""}`);
    }
  }
  const taken = new Set([
    ...volumes.map((v) => v.Destination),
    ...[...(hc.Binds ?? []), ...binds].map((b) => cleanPath(parseBind(b).destination)),
    ...(hc.Mounts ?? []).map((m) => cleanPath(m.Target ?? "")),
    ...Object.keys(hc.Tmpfs ?? {}).map(cleanPath),
  ]);
  for (const path of Object.keys(config.Volumes ?? {})) {
    if (!path.startsWith("/")) throw invalid(`invalid volume path ${path}: not absolute`);
    if (taken.has(cleanPath(path))) continue;
    taken.add(cleanPath(path));
    volumes.push({
      Name: "",
      Destination: cleanPath(path),
      RW: true,
      Mode: "",
      NoCopy: false,
      Anonymous: true,
    });
  }
  return { volumes, binds };
}

/** A `--mount type=volume`, checked with Docker's messages. */
function mountVolume(m: MountSpec): PlannedVolume {
  const fail = (why: string): never => {
    throw invalid(`invalid mount config for type "volume": ${why}`);
  };
  if (!m.Target) fail("field Target must not be empty");
  if (!m.Target.startsWith("/")) {
    fail(`invalid mount path: '${m.Target}' mount path must be absolute`);
  }
  if (cleanPath(m.Target) === "/") fail("invalid specification: destination can't be '/'");
  if (m.BindOptions && Object.values(m.BindOptions).some((v) => v)) {
    fail("field BindOptions must not be specified");
  }
  if (m.TmpfsOptions && Object.values(m.TmpfsOptions).some((v) => v)) {
    fail("field TmpfsOptions must not be specified");
  }
  const opts = m.VolumeOptions ?? {};
  if (typeof opts !== "object") fail("field VolumeOptions must be an object");
  const driver = opts.DriverConfig?.Name;
  if (driver && driver !== "local") {
    throw invalid(`error looking up volume plugin ${driver}: plugin "${driver}" not found`);
  }
  const name = m.Source ?? "";
  const driverOpts = opts.DriverConfig?.Options ?? undefined;
  const labels = opts.Labels ?? undefined;
  return {
    Name: name === "" ? "" : validateVolumeName(name),
    Destination: cleanPath(m.Target),
    RW: !m.ReadOnly,
    Mode: "",
    NoCopy: Boolean(opts.NoCopy),
    Anonymous: name === "",
    ...(driverOpts ? { DriverOpts: { ...driverOpts } } : {}),
    ...(labels ? { Labels: { ...labels } } : {}),
  };
}

/**
 * Create what a plan needs: a new anonymous volume for each unnamed one, a
 * missing named one (with the options given); an existing one is used as it
 * is. When one fails, the anonymous ones made so far are removed.
 */
export async function createVolumes(
  store: VolumeStore,
  plan: VolumePlan,
): Promise<VolumeMount[]> {
  const made: string[] = [];
  const mounts: VolumeMount[] = [];
  try {
    for (const { DriverOpts, Labels, ...v } of plan.volumes) {
      const existed = v.Name !== "" && store.find(v.Name) !== null;
      const rec = await store.create({
        Name: v.Name,
        DriverOpts,
        Labels,
        anonymous: v.Anonymous,
      });
      if (!existed && v.Anonymous) made.push(rec.Name);
      mounts.push({ ...v, Name: rec.Name });
    }
  } catch (err) {
    for (const name of made) await store.remove(name).catch(() => {});
    throw err;
  }
  return mounts;
}

/**
 * Take a run's volumes at start: each is mounted if it has a mount, filled
 * with the image's content at its path when empty (unless `nocopy`), and
 * recorded as held by the run. Returns what the spec binds in.
 */
export async function takeVolumes(
  store: VolumeStore,
  rec: ContainerRecord,
  rootfs: string,
): Promise<VolumeBind[]> {
  const binds: VolumeBind[] = [];
  for (const v of rec.MountPoints ?? []) {
    const source = v.NoCopy ? null : resolveInRoot(rootfs, v.Destination);
    const data = await store.acquire(v.Name, rec.Id, source);
    binds.push({ source: data, destination: v.Destination, readonly: !v.RW });
  }
  return binds;
}

/** The containers whose records mount a volume. */
export function volumeUsers(records: Iterable<ContainerRecord>, name: string): ContainerRecord[] {
  return [...records].filter((r) => r.MountPoints?.some((v) => v.Name === name));
}
