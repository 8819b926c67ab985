/**
 * The real docker CLI pointed at a test daemon, for the tests that drive
 * corral with it. Without a docker CLI those tests are skipped with a loud
 * warning; CI installs one (scripts/setup.sh with CORRAL_WITH_DOCKER_CLI=1).
 * @module
 */
import { join } from "node:path";
import { type CliResult, type Inspect, integration, type TestDaemon } from "./harness.ts";

/** The docker CLI binary: /usr/local/bin/docker, else the first on PATH. */
function findDocker(): string | null {
  const dirs = ["/usr/local/bin", ...(Deno.env.get("PATH") ?? "").split(":").filter((d) => d)];
  for (const dir of dirs) {
    try {
      if (Deno.statSync(join(dir, "docker")).isFile) return join(dir, "docker");
    } catch {
      // Not in this directory.
    }
  }
  return null;
}

const DOCKER = findDocker();

/** Test options for a file of docker CLI tests: skipped, loudly, without a docker CLI. */
export function dockerTestOptions(file: string): typeof integration & { ignore: boolean } {
  if (!DOCKER) {
    console.warn(
      `\n!!!!!!!! docker CLI not found (/usr/local/bin/docker or PATH): ${file} ` +
        "is SKIPPED. Install Debian's docker.io package to run it. !!!!!!!!\n",
    );
  }
  return { ...integration, ignore: DOCKER === null };
}

/** The docker CLI pointed at a test daemon, with an empty config of its own. */
export class Docker {
  readonly config: string;

  constructor(readonly d: TestDaemon) {
    this.config = join(d.dir, "docker-config");
    Deno.mkdirSync(this.config, { recursive: true });
  }

  run(...args: string[]): Promise<CliResult> {
    return this.exec(args);
  }

  runWith(env: Record<string, string>, ...args: string[]): Promise<CliResult> {
    return this.exec(args, { env });
  }

  /** Run with extra environment and, optionally, `stdin` fed to the command. */
  async exec(
    args: string[],
    opts: { env?: Record<string, string>; stdin?: Uint8Array } = {},
  ): Promise<CliResult> {
    const child = this.spawn(args, opts);
    if (opts.stdin) {
      const w = child.stdin.getWriter();
      await w.write(opts.stdin);
      await w.close();
    }
    const out = await child.output();
    const dec = new TextDecoder();
    return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
  }

  /** Start the CLI, its stdout and stderr piped (a command that runs until it is killed). */
  spawn(
    args: string[],
    opts: { env?: Record<string, string>; stdin?: Uint8Array } = {},
  ): Deno.ChildProcess {
    return new Deno.Command(DOCKER!, {
      args,
      // No user config, context or API version override leaks in.
      clearEnv: true,
      env: {
        PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin",
        HOME: this.config,
        DOCKER_CONFIG: this.config,
        DOCKER_HOST: this.d.host,
        ...opts.env,
      },
      stdin: opts.stdin ? "piped" : "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
  }

  /** Run and fail on a non-zero exit; the trimmed stdout. */
  async ok(...args: string[]): Promise<string> {
    return (await this.out(...args)).trim();
  }

  /** Run and fail on a non-zero exit; the stdout as printed. */
  async out(...args: string[]): Promise<string> {
    const r = await this.run(...args);
    if (r.code !== 0) throw new Error(`docker ${args.join(" ")} exited ${r.code}: ${r.stderr}`);
    return r.stdout;
  }

  async json<T>(...args: string[]): Promise<T> {
    return JSON.parse(await this.ok(...args)) as T;
  }

  /** Output lines of a listing (none for an empty output). */
  async lines(...args: string[]): Promise<string[]> {
    const out = await this.ok(...args);
    return out === "" ? [] : out.split("\n");
  }

  async inspect(ref: string): Promise<Inspect> {
    return (await this.json<Inspect[]>("inspect", ref))[0];
  }
}
