/**
 * Bare `runc run` as the floor every engine is compared with: a bundle with
 * the spec corral would write (lib/runtime buildSpec) on a copy of the same
 * busybox rootfs.
 * @module
 */
import { join } from "node:path";
import { buildSpec, cgroupMounts } from "../lib/runtime/mod.ts";
import { exec, execOk, type ExecResult } from "./exec.ts";

/** A runc bundle and runc root of the benchmark. */
export class RuncPeer {
  readonly bundle: string;
  readonly runcRoot: string;
  readonly cgroupParent: string;

  constructor(readonly dir: string) {
    this.bundle = join(dir, "bundle");
    this.runcRoot = join(dir, "runc-root");
    this.cgroupParent = `corral-bench-runc-${dir.split("-").at(-1)}`;
  }

  /** Copy the rootfs and write the config of `args`. */
  async prepare(rootfs: string, args: string[]): Promise<void> {
    await Deno.mkdir(this.bundle, { recursive: true });
    await execOk(["cp", "-a", rootfs, join(this.bundle, "rootfs")]);
    const spec = buildSpec({
      id: "bench",
      args,
      env: ["PATH=/usr/sbin:/usr/bin:/sbin:/bin"],
      cwd: "/",
      user: "",
      hostname: "bench",
      rootfs: join(this.bundle, "rootfs"),
      cgroupsPath: `/${this.cgroupParent}/bench`,
      host: {},
      files: [],
    });
    await Deno.writeTextFile(join(this.bundle, "config.json"), JSON.stringify(spec));
  }

  /** `runc run` in the foreground: create, start, wait, delete. */
  run(id: string): Promise<ExecResult> {
    return exec(["runc", "--root", this.runcRoot, "run", "--bundle", this.bundle, id]);
  }

  /**
   * `runc create` then `runc start` of the prepared bundle, detached (stdio
   * /dev/null: a piped one would be held by the init), then `runc delete -f`;
   * the ms of create + start, runc's own start of a container.
   */
  async createStart(id: string): Promise<number> {
    const runc = (...args: string[]) =>
      new Deno.Command("runc", {
        args: ["--root", this.runcRoot, ...args],
        stdin: "null",
        stdout: "null",
        stderr: "null",
      }).output();
    const t0 = performance.now();
    const started = (await runc("create", "--bundle", this.bundle, id)).success &&
      (await runc("start", id)).success;
    const ms = performance.now() - t0;
    await runc("delete", "-f", id);
    if (!started) throw new Error(`runc create + start of ${id} failed`);
    return ms;
  }

  /** Remove the cgroup parent runc leaves (its leaf dirs go with each container). */
  cleanup(): void {
    for (const mnt of cgroupMounts()) {
      try {
        Deno.removeSync(join(mnt, this.cgroupParent));
      } catch {
        // Not in this hierarchy.
      }
    }
  }
}
