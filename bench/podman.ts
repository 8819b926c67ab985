/**
 * Podman as a peer: installed from Debian on request, run with its own
 * storage under the benchmark's directory and the flags that make it work on
 * this host (platform.md: runc, rlimits within the host's hard limit), on an
 * image imported from the same busybox rootfs corral runs.
 * @module
 */
import { join } from "node:path";
import { exec, execOk, type ExecResult } from "./exec.ts";
import { firstLine } from "./machine.ts";

/** The image name podman runs. */
export const PODMAN_IMAGE = "localhost/corral-bench-busybox:latest";

/**
 * Flags of every `podman run`: runc (crun fails on this host's hybrid
 * cgroups), rlimits the host allows, and no network, like corral's empty
 * network namespace.
 */
export const PODMAN_RUN_FLAGS = [
  "--network",
  "none",
  "--ulimit",
  "nofile=1024:1024",
  "--ulimit",
  "nproc=1024:1024",
];

/** A podman with private storage in `dir`. */
export class Podman {
  readonly root: string;
  readonly runroot: string;

  constructor(readonly dir: string) {
    this.root = join(dir, "storage");
    this.runroot = join(dir, "run");
  }

  /** Whether podman is installed. */
  static async installed(): Promise<boolean> {
    return (await firstLine("podman", ["--version"])) !== null;
  }

  /**
   * `apt-get install -y podman` (after `apt-get update` if the first try
   * fails); throws if podman is still missing.
   */
  static async install(log: (msg: string) => void): Promise<void> {
    if (await Podman.installed()) return;
    const env = { DEBIAN_FRONTEND: "noninteractive" };
    log("installing podman from Debian (apt-get install -y podman)");
    let r = await exec(["apt-get", "install", "-y", "podman"], env);
    if (r.code !== 0) {
      await exec(["apt-get", "update"], env);
      r = await exec(["apt-get", "install", "-y", "podman"], env);
    }
    if (r.code !== 0 || !(await Podman.installed())) {
      throw new Error(`apt-get install podman failed: ${r.stderr.trim().slice(-500)}`);
    }
  }

  /** argv of `podman` with this instance's storage and runtime. */
  argv(...args: string[]): string[] {
    return ["podman", "--root", this.root, "--runroot", this.runroot, "--runtime", "runc", ...args];
  }

  /** Run podman; non-zero exits throw. */
  run(...args: string[]): Promise<ExecResult> {
    return execOk(this.argv(...args));
  }

  /** Import a rootfs directory as {@linkcode PODMAN_IMAGE} (through a tar). */
  async importRootfs(rootfs: string): Promise<void> {
    const tar = join(this.dir, "busybox.tar");
    await execOk(["tar", "-C", rootfs, "-cf", tar, "."]);
    await this.run("import", tar, PODMAN_IMAGE);
  }

  /** `podman run -d` of a command; returns the container id. */
  async runDetached(cmd: string[], extra: string[] = []): Promise<string> {
    const r = await this.run("run", "-d", ...PODMAN_RUN_FLAGS, ...extra, PODMAN_IMAGE, ...cmd);
    return r.stdout.trim();
  }

  /** One `podman inspect --format` value. */
  async inspect(id: string, format: string): Promise<string> {
    return (await this.run("inspect", "--format", format, id)).stdout.trim();
  }

  /** Remove every container of this storage (SIGKILL at once). */
  async removeAll(): Promise<void> {
    await exec(this.argv("rm", "-af", "-t", "0"));
  }

  /** Remove its containers and images; the caller removes `dir` and any mount left in it. */
  async destroy(): Promise<void> {
    await this.removeAll();
    await exec(this.argv("rmi", "-af"));
  }
}
