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
  };
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
