/**
 * Error kinds shared by every module, in the containerd style: an error says
 * what kind of failure it is; the API maps kinds to HTTP statuses and back.
 *
 * @example
 * ```ts
 * import { notFound, errorKind } from "./mod.ts";
 * const err = notFound("no such container: web");
 * errorKind(err); // "not_found"
 * ```
 * @module
 */

/** The kinds of failure a caller can act on. */
export type ErrorKind =
  | "invalid"
  | "not_found"
  | "conflict"
  | "not_modified"
  | "unauthorized"
  | "unavailable"
  | "internal";

/** An error that carries its kind. */
export class CorralError extends Error {
  /** What kind of failure this is. */
  readonly kind: ErrorKind;
  constructor(kind: ErrorKind, message: string, options?: ErrorOptions) {
    super(message, options);
    this.kind = kind;
    this.name = "CorralError";
  }
}

/** Bad input: a malformed value, an unknown option. */
export function invalid(message: string): CorralError {
  return new CorralError("invalid", message);
}

/** The named object does not exist. */
export function notFound(message: string): CorralError {
  return new CorralError("not_found", message);
}

/** The request conflicts with the object's current state. */
export function conflict(message: string): CorralError {
  return new CorralError("conflict", message);
}

/** The request asks for the state the object is already in: nothing to do. */
export function notModified(message: string): CorralError {
  return new CorralError("not_modified", message);
}

/** Credentials are missing or refused (a registry's, for pull, push and login). */
export function unauthorized(message: string): CorralError {
  return new CorralError("unauthorized", message);
}

/** The service cannot answer yet (e.g. restore still running). */
export function unavailable(message: string): CorralError {
  return new CorralError("unavailable", message);
}

/** The kind of any thrown value; plain errors are internal. */
export function errorKind(err: unknown): ErrorKind {
  return err instanceof CorralError ? err.kind : "internal";
}

/** The message of any thrown value. */
export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
