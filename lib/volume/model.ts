/**
 * The volume model: a volume as persisted in `ROOT/volumes/NAME/volume.json`
 * and shown by the API, its name rules and Docker's anonymous-volume label.
 * @module
 */
import { invalid } from "../errdefs/mod.ts";

/** The label Docker puts on anonymous volumes (prune removes only those by default). */
export const ANONYMOUS_LABEL = "com.docker.volume.anonymous";

/** The one driver corral has. */
export const LOCAL_DRIVER = "local";

/** What is persisted about a volume. */
export interface VolumeRecord {
  Name: string;
  Driver: string;
  /** RFC 3339, whole seconds (Docker's format). */
  CreatedAt: string;
  Labels: Record<string, string>;
  /** The driver options it was created with (`type`, `o`, `device`). */
  Options: Record<string, string>;
  /**
   * Set while a copy-up moves the image's content into the volume: the copy
   * beside it is complete, and a retry finishes the move (copy_up.ts).
   */
  CopyUp?: "moving";
}

/** Docker's rule for a local volume's name. */
const NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]+$/;

/**
 * Refuse a name Docker's local driver refuses (so a name is never a path).
 *
 * @example
 * ```ts
 * validateVolumeName("db-data"); // ok
 * validateVolumeName("../x"); // throws invalid
 * ```
 */
export function validateVolumeName(name: string): string {
  if (typeof name !== "string" || !NAME.test(name) || name.length > 255) {
    throw invalid(
      `create ${name}: "${name}" includes invalid characters for a local volume name, ` +
        `only "[a-zA-Z0-9][a-zA-Z0-9_.-]" are allowed. If you intended to pass a host directory, ` +
        `use absolute path`,
    );
  }
  return name;
}

/**
 * A new anonymous volume's name: 64 hex digits, as Docker's.
 *
 * @example
 * ```ts
 * anonymousName().length; // 64
 * ```
 */
export function anonymousName(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(32));
  return [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/** Whether a volume is anonymous. */
export function isAnonymous(v: VolumeRecord): boolean {
  return ANONYMOUS_LABEL in v.Labels;
}
