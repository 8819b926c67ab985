/**
 * What the command files share: the daemon's client made on first use, the
 * parsed options, the exit-code ending, and path encoding.
 * @module
 */
import type { ApiClient } from "../api/mod.ts";
import { CorralError } from "../errdefs/mod.ts";
import { printObjects } from "./output.ts";

/** Thrown to end the program with an exit code (the container's, for run/exec/wait). */
export class ExitCode extends Error {
  constructor(readonly code: number) {
    super(`exit ${code}`);
  }
}

/** A command's parsed options, by their camel-cased long names. */
export type Opts = Record<string, unknown>;

/**
 * The daemon's client, made on the first call: one connection pool for the
 * whole command, and none for a command that needs no daemon.
 */
export type Api = () => ApiClient;

/** One path segment or query value, URL-encoded. */
export const enc = (s: string): string => encodeURIComponent(s);

/**
 * `inspect`: GET each path, print what was found (JSON, or through
 * `format`), then fail with the last "no such" error, as docker inspect does.
 */
export async function inspectEach(api: ApiClient, paths: string[], format?: string): Promise<void> {
  const found: unknown[] = [];
  let missing: CorralError | null = null;
  for (const path of paths) {
    try {
      found.push(await api.json("GET", path));
    } catch (err) {
      if (!(err instanceof CorralError) || err.kind !== "not_found") throw err;
      missing = err;
    }
  }
  printObjects(found, format);
  if (missing) throw missing;
}
