/**
 * The image model: Docker-shaped image config and image record, and the
 * normalization of a caller's partial config.
 * @module
 */
import { invalid } from "../errdefs/mod.ts";

/** What a container of this image runs by default (Docker's image `Config`). */
export interface ImageConfig {
  Cmd: string[];
  Entrypoint: string[] | null;
  Env: string[];
  WorkingDir: string;
  User: string;
  Labels: Record<string, string>;
  /** Empty means the runtime default (SIGTERM). */
  StopSignal: string;
  /** The image's HEALTHCHECK; absent when it has none. */
  Healthcheck?: ImageHealthcheck;
  /** The image's VOLUME paths (keys; values are empty objects); absent when it has none. */
  Volumes?: Record<string, Record<string, never>>;
  /** The image's `EXPOSE` ports, Docker's `{"80/tcp": {}}`; absent when it has none. */
  ExposedPorts?: Record<string, Record<string, never>>;
}

/** A health check an image carries (Docker's `Healthcheck`; durations in ns, 0: default). */
export interface ImageHealthcheck {
  /** `["CMD-SHELL", cmd]`, `["CMD", ...argv]` or `["NONE"]`. */
  Test: string[];
  Interval: number;
  Timeout: number;
  StartPeriod: number;
  Retries: number;
}

/** An image as `docker image inspect` shows it (the subset corral keeps). */
export interface Image {
  /** "sha256:" + 64 hex. */
  Id: string;
  /** "name:tag" references pointing at this image. */
  RepoTags: string[];
  /** Creation time, ISO 8601. */
  Created: string;
  /** Bytes of regular file content in all layers. */
  Size: number;
  /** Layer ids (64 hex), bottom first. */
  Layers: string[];
  Config: ImageConfig;
  /** "name@sha256:…" of the manifests it was pulled by (Docker's `RepoDigests`); absent when none. */
  RepoDigests?: string[];
  /** For a pulled image, what a push of it can reuse. */
  Origin?: ImageOrigin;
}

/** A layer blob in a registry: its compressed archive. */
export interface BlobDescriptor {
  /** "sha256:" + 64 hex of the blob as stored. */
  digest: string;
  size: number;
  mediaType: string;
}

/**
 * Where a pulled image came from. Its config document, byte for byte (the
 * image id is its sha256), and the registry blob of each layer: a push of
 * the image reuses both, so it gives the same digests.
 */
export interface ImageOrigin {
  /** The image config document as the registry served it. */
  config: string;
  /** The blob of each layer, bottom first. */
  layers: BlobDescriptor[];
  /** "registry/repository" names it was pulled from (cross-repository mounts). */
  repositories: string[];
}

/**
 * A complete config from a partial one: missing fields get Docker's defaults,
 * wrongly typed fields are refused, label keys are sorted so equal configs
 * serialize (and hash) equally.
 *
 * @example
 * ```ts
 * normalizeConfig({ Cmd: ["sh"] }).Entrypoint; // null
 * normalizeConfig({ Cmd: "sh" as unknown as string[] }); // throws invalid
 * ```
 */
export function normalizeConfig(partial: Partial<ImageConfig> = {}): ImageConfig {
  const labels = partial.Labels ?? {};
  if (typeof labels !== "object" || labels === null || Array.isArray(labels)) {
    throw invalid("image config: Labels must be an object of strings");
  }
  const sortedLabels: Record<string, string> = {};
  for (const key of Object.keys(labels).sort()) {
    sortedLabels[key] = stringField(`Labels.${key}`, labels[key]);
  }
  return {
    Cmd: stringList("Cmd", partial.Cmd ?? []),
    Entrypoint: partial.Entrypoint == null ? null : stringList("Entrypoint", partial.Entrypoint),
    Env: stringList("Env", partial.Env ?? []),
    WorkingDir: stringField("WorkingDir", partial.WorkingDir ?? ""),
    User: stringField("User", partial.User ?? ""),
    Labels: sortedLabels,
    StopSignal: stringField("StopSignal", partial.StopSignal ?? ""),
    // Left out when absent, so the config (and the id hashed from it) of an
    // image without one is what it always was.
    ...(partial.Healthcheck == null ? {} : { Healthcheck: healthcheck(partial.Healthcheck) }),
    ...(partial.Volumes == null || Object.keys(partial.Volumes).length === 0
      ? {}
      : { Volumes: volumes(partial.Volumes) }),
    ...(partial.ExposedPorts == null || Object.keys(partial.ExposedPorts).length === 0
      ? {}
      : { ExposedPorts: exposedPorts(partial.ExposedPorts) }),
  };
}

/** VOLUME paths: absolute, keys sorted (equal configs hash equally). */
function volumes(value: unknown): Record<string, Record<string, never>> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw invalid("image config: Volumes must be an object whose keys are paths");
  }
  const out: Record<string, Record<string, never>> = {};
  for (const path of Object.keys(value).sort()) {
    if (!path.startsWith("/")) throw invalid(`image config: volume path ${path} is not absolute`);
    out[path] = {};
  }
  return out;
}

function healthcheck(value: unknown): ImageHealthcheck {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw invalid("image config: Healthcheck must be an object");
  }
  const hc = value as Record<string, unknown>;
  const count = (field: keyof ImageHealthcheck): number => {
    const v = hc[field] ?? 0;
    if (typeof v !== "number" || !Number.isSafeInteger(v) || v < 0) {
      throw invalid(`image config: Healthcheck.${field} must be a non-negative integer`);
    }
    return v;
  };
  return {
    Test: stringList("Healthcheck.Test", hc.Test ?? []),
    Interval: count("Interval"),
    Timeout: count("Timeout"),
    StartPeriod: count("StartPeriod"),
    Retries: count("Retries"),
  };
}

/** `EXPOSE` keys, `PORT[/tcp|udp|sctp]`, sorted so that equal sets hash equally. */
function exposedPorts(value: unknown): Record<string, Record<string, never>> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw invalid("image config: ExposedPorts must be an object");
  }
  const out: Record<string, Record<string, never>> = {};
  for (const key of Object.keys(value).sort()) {
    if (!/^\d{1,5}(\/(tcp|udp|sctp))?$/.test(key)) {
      throw invalid(`image config: invalid exposed port "${key}"`);
    }
    out[key] = {};
  }
  return out;
}

function stringList(field: string, value: unknown): string[] {
  if (!Array.isArray(value) || !value.every((v) => typeof v === "string")) {
    throw invalid(`image config: ${field} must be a list of strings`);
  }
  return [...value];
}

function stringField(field: string, value: unknown): string {
  if (typeof value !== "string") throw invalid(`image config: ${field} must be a string`);
  return value;
}
