/**
 * `POST /containers/ID/update`: the docker CLI sends every resource field and
 * the restart policy, the ones the user did not give as 0, null or an empty
 * policy name, which Docker reads as "unchanged".
 * @module
 */
import type { HostConfig } from "../../container/mod.ts";
import { checkHostConfig } from "./unsupported.ts";

/** Fields whose 0, "" (or null) means "leave as it is". */
const UNSET_WHEN_ZERO = [
  "Memory",
  "MemorySwap",
  "MemoryReservation",
  "NanoCpus",
  "CpuShares",
  "CpusetCpus",
  "RestartDelay",
  "RestartMaxDelay",
] as const;

/** The host config fields update changes; the others are set at create. */
const UPDATABLE = new Set<string>([
  ...UNSET_WHEN_ZERO,
  "PidsLimit",
  "RestartPolicy",
  "HealthOnFailure",
]);

/**
 * The changes an update body asks for; an unsupported field set to anything
 * but its zero value is refused (400).
 *
 * @example
 * ```ts
 * updateChanges({ Memory: 0, PidsLimit: null, RestartPolicy: { Name: "always", MaximumRetryCount: 0 } });
 * // { RestartPolicy: { Name: "always", MaximumRetryCount: 0 } }
 * ```
 */
export function updateChanges(body: Record<string, unknown>): Partial<HostConfig> {
  checkHostConfig(body, UPDATABLE);
  const changes: Record<string, unknown> = {};
  const policy = body.RestartPolicy as { Name?: unknown } | null | undefined;
  // A policy that is not an object is passed on for the service to refuse.
  if (policy !== undefined && policy !== null && (typeof policy !== "object" || policy.Name)) {
    changes.RestartPolicy = policy;
  }
  for (const k of UNSET_WHEN_ZERO) {
    if (body[k] !== undefined && body[k] !== null && body[k] !== 0 && body[k] !== "") {
      changes[k] = body[k];
    }
  }
  // A given pids limit of 0 or -1 means unlimited; only null means unchanged.
  if (body.PidsLimit !== undefined && body.PidsLimit !== null) changes.PidsLimit = body.PidsLimit;
  if (body.HealthOnFailure) changes.HealthOnFailure = body.HealthOnFailure;
  return changes as Partial<HostConfig>;
}
