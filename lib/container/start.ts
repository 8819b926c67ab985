/**
 * The start path (behaviour.md §2): the run's pids are persisted before
 * `runc start`, so that a crash at any point leaves a state restore turns into
 * a correct one. Any step failing ends in a failed start, recorded with
 * Docker's exit code (125, 126 or 127), everything set up released, and the
 * error thrown to the caller.
 * @module
 */
import { conflict, errorMessage } from "../errdefs/mod.ts";
import { StartFailure } from "../runtime/mod.ts";
import type { Container } from "./container.ts";
import type { ContainerCore } from "./core.ts";
import { healthArgv } from "./model.ts";

/**
 * Start a container (its lock held).
 *
 * @example
 * ```ts
 * import type { Container } from "./container.ts";
 * import type { ContainerCore } from "./core.ts";
 * declare const core: ContainerCore;
 * declare const c: Container;
 * await c.exclusive(() => startContainer(core, c));
 * ```
 */
export async function startContainer(core: ContainerCore, c: Container): Promise<void> {
  if (c.exitHandled) await c.exitHandled;
  core.refuseUnloadable(c);
  core.refuseInGc(c);
  const image = core.opts.images.find(c.rec.ImageID);
  if (!image) {
    throw conflict(
      `container ${c.name} cannot start: its image ${c.rec.Image} (${c.rec.ImageID}) is missing`,
    );
  }
  let created;
  try {
    created = await core.sys.create(c, image);
  } catch (err) {
    const message = errorMessage(err);
    await core.failedBeforeRun(c, exitCodeOf(err), message);
    throw new StartFailure(message, { cause: err });
  }
  const { fifoFd, pids } = created;
  await c.beginRun(pids);
  core.sys.watchExit(fifoFd, c.id, pids);
  await core.connectAttachWaiters(c);
  // Taken before `runc start`: a process that exits at once is seen by its
  // shim before runc returns, and FinishedAt must not precede StartedAt.
  const startedAt = new Date().toISOString();
  try {
    await core.sys.start(c.id);
  } catch (err) {
    // The exit handler records the failed start once the init is gone.
    c.startFailed(exitCodeOf(err), errorMessage(err));
    await core.sys.killAndWait({ pid: pids.pid, startTime: pids.startTime });
    await c.exitHandled;
    throw new StartFailure(errorMessage(err), { cause: err });
  }
  // The same test as the health monitor's: a check with no test to run shows no health.
  await c.running(startedAt, healthArgv(c.rec.Config.Healthcheck?.Test) !== null);
  core.hooks.started(c);
}

/** Docker's exit code for a start that failed outside the runtime. */
const START_FAILED = 125;

/** The exit code of a failed start: the runtime's typed failure, else 125. */
function exitCodeOf(err: unknown): number {
  return err instanceof StartFailure ? err.exitCode : START_FAILED;
}
