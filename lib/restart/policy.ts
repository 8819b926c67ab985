/**
 * Restart policy parsing and validation, shared by the CLI and the API.
 * @module
 */
import { invalid } from "../errdefs/mod.ts";

/** Restart policy names. */
export type RestartPolicyName = "no" | "always" | "on-failure" | "unless-stopped" | "on-reboot";

/** Docker's `HostConfig.RestartPolicy`. */
export interface RestartPolicy {
  Name: RestartPolicyName | "";
  MaximumRetryCount: number;
}

const NAMES: RestartPolicyName[] = ["no", "always", "on-failure", "unless-stopped", "on-reboot"];

/**
 * Parse `no`, `always`, `unless-stopped`, `on-reboot` or `on-failure[:N]`.
 *
 * @example
 * ```ts
 * parseRestartPolicy("on-failure:3"); // { Name: "on-failure", MaximumRetryCount: 3 }
 * parseRestartPolicy("always:2"); // throws invalid
 * ```
 */
export function parseRestartPolicy(text: string): RestartPolicy {
  const parts = text.split(":");
  if (parts.length > 2) throw invalid(`invalid restart policy "${text}": too many ':'`);
  const [name, count] = parts;
  if (parts.length === 2) {
    if (!/^\d+$/.test(count)) {
      throw invalid(
        `invalid restart policy "${text}": maximum retry count must be a non-negative integer`,
      );
    }
    return validateRestartPolicy({
      Name: name as RestartPolicyName,
      MaximumRetryCount: Number(count),
    }, true);
  }
  return validateRestartPolicy(
    { Name: (name || "no") as RestartPolicyName, MaximumRetryCount: 0 },
    false,
  );
}

/**
 * Validate a policy as the API receives it. `countGiven` says that a count was
 * written (only on-failure may have one). A missing or empty name is `no`.
 *
 * @example
 * ```ts
 * validateRestartPolicy({ Name: "", MaximumRetryCount: 0 }); // { Name: "no", MaximumRetryCount: 0 }
 * validateRestartPolicy({ Name: "always", MaximumRetryCount: 3 }); // throws invalid
 * ```
 */
export function validateRestartPolicy(
  p: RestartPolicy,
  countGiven = (p?.MaximumRetryCount ?? 0) !== 0,
): RestartPolicy {
  if (typeof p !== "object" || p === null || Array.isArray(p)) {
    throw invalid("invalid restart policy: expected an object {Name, MaximumRetryCount}");
  }
  const name = p.Name === "" || p.Name === undefined ? "no" : p.Name;
  if (!NAMES.includes(name)) {
    throw invalid(`invalid restart policy "${p.Name}": must be one of ${NAMES.join(", ")}`);
  }
  const n = p.MaximumRetryCount ?? 0;
  if (!Number.isInteger(n) || n < 0) {
    throw invalid(
      `invalid restart policy: maximum retry count must be a non-negative integer, not ${n}`,
    );
  }
  if (countGiven && name !== "on-failure") {
    throw invalid(
      `invalid restart policy "${name}": maximum retry count can only be used with on-failure`,
    );
  }
  return { Name: name, MaximumRetryCount: n };
}

/**
 * `--rm` (AutoRemove) only goes with the `no` policy.
 *
 * @example
 * ```ts
 * checkAutoRemove({ Name: "always", MaximumRetryCount: 0 }, true); // throws invalid
 * ```
 */
export function checkAutoRemove(p: RestartPolicy, autoRemove: boolean): void {
  if (autoRemove && p.Name !== "no" && p.Name !== "") {
    throw invalid(`conflicting options: --rm cannot be used with restart policy "${p.Name}"`);
  }
}

/**
 * `on-failure:3` style text for a policy.
 *
 * @example
 * ```ts
 * formatRestartPolicy({ Name: "on-failure", MaximumRetryCount: 3 }); // "on-failure:3"
 * ```
 */
export function formatRestartPolicy(p: RestartPolicy): string {
  return p.Name === "on-failure" && p.MaximumRetryCount > 0
    ? `on-failure:${p.MaximumRetryCount}`
    : (p.Name || "no");
}
