/**
 * Memory per running container, as the density and shim-group sections
 * measure it: sleeping containers started through the API, their shims'
 * PSS shared out (a group shim counts once), and conmon's under podman.
 * @module
 */
import type { TestDaemon } from "../tests/harness.ts";
import { runDetached } from "./corral.ts";
import { sleep } from "./exec.ts";
import type { Podman } from "./podman.ts";
import { inPool, range } from "./pool.ts";
import { meanRollup, type Rollup, smapsRollup } from "./procmem.ts";

/** Requests in flight while setting containers up. */
const CONCURRENCY = 4;

/**
 * Start `count` sleeping containers; their ids.
 *
 * @example
 * ```ts
 * import type { TestDaemon } from "../tests/harness.ts";
 * declare const d: TestDaemon;
 * const ids = await runSleepers(d, 50);
 * ```
 */
export function runSleepers(d: TestDaemon, count: number): Promise<string[]> {
  return inPool(range(count), CONCURRENCY, () => runDetached(d.api, ["sleep", "100000"]));
}

/** The shims of some containers and their memory. */
export interface ShimMemory {
  /** The distinct shim pids. */
  shims: number[];
  /** The shims' rollups summed and divided by the containers. */
  perContainer: Rollup;
  /** The shims' mean rollup. */
  perShim: Rollup;
}

/**
 * The shims serving `ids` (each counted once) and their memory.
 *
 * @example
 * ```ts
 * import type { TestDaemon } from "../tests/harness.ts";
 * declare const d: TestDaemon;
 * declare const ids: string[];
 * const { perContainer } = await shimMemory(d, ids);
 * ```
 */
export async function shimMemory(d: TestDaemon, ids: string[]): Promise<ShimMemory> {
  const shims = [
    ...new Set(await Promise.all(ids.map(async (id) => (await d.inspect(id)).State.PPid))),
  ];
  const perShim = meanRollup(shims.map(smapsRollup));
  const share = (kib: number) => kib * shims.length / ids.length;
  return {
    shims,
    perShim,
    perContainer: {
      rss: share(perShim.rss),
      pss: share(perShim.pss),
      pssAnon: share(perShim.pssAnon),
      pssFile: share(perShim.pssFile),
    },
  };
}

/**
 * conmon's mean memory with `count` podman containers running, read after
 * `settleMs`; the containers are removed after.
 *
 * @example
 * ```ts
 * import type { Podman } from "./podman.ts";
 * declare const podman: Podman;
 * const { pss } = await conmonMemory(podman, 50, 20_000);
 * ```
 */
export async function conmonMemory(
  podman: Podman,
  count: number,
  settleMs: number,
): Promise<Rollup> {
  const pids: number[] = [];
  for (let i = 0; i < count; i++) {
    const id = await podman.runDetached(["sleep", "100000"]);
    pids.push(Number(await podman.inspect(id, "{{.State.ConmonPid}}")));
  }
  await sleep(settleMs);
  const mean = meanRollup(pids.map(smapsRollup));
  await podman.removeAll();
  return mean;
}
