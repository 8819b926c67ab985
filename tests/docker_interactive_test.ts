/**
 * The docker CLI's interactive commands against corral, in a real terminal
 * (tmux): `docker run -it` (prompt, output, window size and resize, detach
 * with ctrl-p ctrl-q, exit code), `docker attach`, `docker exec -it`,
 * `docker start -ai`, and piped stdin with `docker run -i`.
 */
import assert from "node:assert/strict";
import { Docker, dockerTestOptions } from "./docker.ts";
import { sleep, type TestDaemon, withDaemon } from "./harness.ts";
import { shellQuote, Tmux } from "./tmux.ts";

const cliTest = dockerTestOptions("tests/docker_interactive_test.ts");

/** A shell line running the docker CLI against `d`, with `docker`'s own config. */
function dockerLine(d: TestDaemon, docker: Docker, ...args: string[]): string {
  const env = `DOCKER_HOST=${shellQuote(d.host)} DOCKER_CONFIG=${shellQuote(docker.config)}`;
  return `${env} docker ${args.map(shellQuote).join(" ")}`;
}

Deno.test(
  "docker CLI: run -it, resize, detach, attach, exec -it, start -ai, exit codes",
  cliTest,
  () =>
    withDaemon(async (d) => {
      const docker = new Docker(d);
      const t = await Tmux.start(
        dockerLine(d, docker, "run", "-it", "--name", "box", "busybox", "sh"),
      );
      try {
        await t.untilScreen(/^\/ #\s*$/m);
        await t.line("stty size; echo hi-$((3+4))");
        await t.untilScreen(/^30 100\nhi-7$/m);
        await t.resize(80, 20);
        await sleep(300);
        await t.line("clear; stty size");
        await t.untilScreen(/^20 80$/m);
        await t.keys("C-p", "C-q");
        await t.untilScreen(/EXIT=0$/m);
      } finally {
        await t.close();
      }
      assert.equal((await docker.inspect("box")).State.Status, "running");
      const ex = await Tmux.start(dockerLine(d, docker, "exec", "-it", "box", "sh"));
      try {
        await ex.untilScreen(/^\/ #\s*$/m);
        await ex.line("tty; exit 5");
        await ex.untilScreen(/^\/dev\/pts\/\d+$/m);
        await ex.untilScreen(/EXIT=5$/m);
      } finally {
        await ex.close();
      }
      const at = await Tmux.start(dockerLine(d, docker, "attach", "box"));
      try {
        await sleep(500);
        await at.line("echo attached-$((1+1)); exit 3");
        await at.untilScreen(/^attached-2$/m);
        await at.untilScreen(/EXIT=3$/m);
      } finally {
        await at.close();
      }
      assert.equal((await docker.inspect("box")).State.ExitCode, 3);

      await docker.ok("create", "-it", "--name", "later", "busybox", "sh");
      const st = await Tmux.start(dockerLine(d, docker, "start", "-ai", "later"));
      try {
        await st.untilScreen(/^\/ #\s*$/m);
        await st.line("echo started; exit 4");
        await st.untilScreen(/EXIT=4$/m);
      } finally {
        await st.close();
      }

      // Piped stdin: docker run -i closes it at the input's end (StdinOnce).
      const echo = await docker.exec(["run", "-i", "--rm", "busybox", "cat"], {
        stdin: new TextEncoder().encode("hi\n"),
      });
      assert.equal(echo.code, 0, echo.stderr);
      assert.equal(echo.stdout, "hi\n");
      const binary = new Uint8Array(256 * 1024);
      crypto.getRandomValues(binary.subarray(0, 65536));
      binary.set(binary.subarray(0, 65536), 65536);
      const wc = await docker.exec(["run", "-i", "--rm", "busybox", "wc", "-c"], { stdin: binary });
      assert.equal(wc.stdout.trim(), String(binary.length));
    }),
);
