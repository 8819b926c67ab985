/**
 * Interactive containers through a real terminal (tmux) and real pipes:
 * `run -it` (prompt, output, window size, exit code, detach and attach),
 * `exec -it`, piped stdin from 0 bytes to 100 MB, attach after a daemon
 * SIGKILL, and no sockets or daemon fds left over churn.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { CORRAL, fdCount, integration, sleep, type TestDaemon, withDaemon } from "./harness.ts";
import { shellQuote, Tmux } from "./tmux.ts";

/** A shell line running the corral CLI against `d`. */
function corralLine(d: TestDaemon, ...args: string[]): string {
  return [...CORRAL, "-H", d.host, ...args].map(shellQuote).join(" ");
}

/** Run the CLI with `stdinFile` as its stdin; exit code and stdout. */
async function corralWithStdin(
  d: TestDaemon,
  stdinFile: string,
  ...args: string[]
): Promise<{ code: number; stdout: string; stderr: string }> {
  const line = `${corralLine(d, ...args)} < ${shellQuote(stdinFile)}`;
  const out = await new Deno.Command("sh", {
    args: ["-c", line],
    env: { RUST_BACKTRACE: "0" },
    stdin: "null",
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

/**
 * Type `echo` lines into `typist` until `watcher` (attached to the same
 * container) shows one: both attaches are then made, though neither prints
 * anything when it is.
 */
async function untilEchoed(typist: Tmux, watcher: Tmux): Promise<void> {
  for (let i = 1;; i++) {
    await typist.line(`echo attached-${i}`);
    try {
      return void await watcher.untilScreen(/^attached-\d+\r?$/m, 1000);
    } catch (err) {
      if (i === 20) throw err;
    }
  }
}

async function sha256File(path: string): Promise<string> {
  const out = await new Deno.Command("sha256sum", { args: [path] }).output();
  return new TextDecoder().decode(out.stdout).split(" ")[0];
}

/** The daemon's resident memory in KiB. */
function rssKiB(pid: number): number {
  const m = Deno.readTextFileSync(`/proc/${pid}/status`).match(/VmRSS:\s+(\d+)/);
  return m ? Number(m[1]) : 0;
}

Deno.test(
  "corral run -it: a shell in a real terminal; size, detach, attach, exec -it, exit code",
  integration,
  () =>
    withDaemon(async (d) => {
      const t = await Tmux.start(corralLine(d, "run", "-it", "--name", "box", "busybox", "sh"));
      try {
        await t.untilScreen(/^\/ #\s*$/m);
        await t.line("echo hello-$((6*7))");
        await t.untilScreen(/^hello-42$/m);
        // The container's terminal has the window's size, and follows it (SIGWINCH → resize).
        await t.line("stty size");
        await t.untilScreen(/^30 100$/m);
        await t.resize(90, 25);
        await sleep(300);
        await t.line("clear; stty size");
        await t.untilScreen(/^25 90$/m);
        // ctrl-p ctrl-q: the CLI ends, the container runs on.
        await t.keys("C-p", "C-q");
        await t.untilScreen(/EXIT=0$/m);
        assert.equal(await d.status("box"), "running");
      } finally {
        await t.close();
      }
      // exec -it: a second terminal in the same container.
      const ex = await Tmux.start(corralLine(d, "exec", "-it", "box", "sh"));
      try {
        await ex.untilScreen(/^\/ #\s*$/m);
        await ex.line("tty; echo in-exec");
        await ex.untilScreen(/^\/dev\/pts\/\d+\nin-exec$/m);
        await ex.line("exit 5");
        await ex.untilScreen(/EXIT=5$/m);
      } finally {
        await ex.close();
      }
      // attach: the same shell, its state kept; `exit 3` ends attach with 3.
      const at = await Tmux.start(corralLine(d, "attach", "box"));
      try {
        await at.line("echo back-$((1+1))");
        await at.untilScreen(/^back-2$/m);
        await at.line("exit 3");
        await at.untilScreen(/EXIT=3$/m);
      } finally {
        await at.close();
      }
      await d.untilStatus("box", "exited");
      assert.equal((await d.inspect("box")).State.ExitCode, 3);
      // A TTY container's log is the terminal's output, raw (as Docker logs it).
      assert.match(await d.ok("logs", "box"), /hello-42\r\n/);
    }),
);

Deno.test(
  "piped stdin: 0 B, 1 B, 64 KiB and 100 MB pass intact; the daemon never holds them",
  integration,
  () =>
    withDaemon(async (d) => {
      const echo = await new Deno.Command("sh", {
        args: ["-c", `echo hi | ${corralLine(d, "run", "-i", "--rm", "busybox", "cat")}`],
        env: { RUST_BACKTRACE: "0" },
      }).output();
      assert.equal(echo.code, 0, new TextDecoder().decode(echo.stderr));
      assert.equal(new TextDecoder().decode(echo.stdout), "hi\n");
      for (const size of [0, 1, 64 * 1024]) {
        const file = join(d.dir, `in-${size}`);
        const bytes = new Uint8Array(size);
        crypto.getRandomValues(bytes.subarray(0, Math.min(size, 65536)));
        await Deno.writeFile(file, bytes);
        const r = await corralWithStdin(d, file, "run", "-i", "--rm", "busybox", "sha256sum");
        assert.equal(r.code, 0, r.stderr);
        assert.equal(r.stdout.split(" ")[0], await sha256File(file), `${size} bytes`);
      }
      // 100 MB of random bytes (binary: ctrl-p ctrl-q inside must not detach without a terminal).
      const big = join(d.dir, "in-big");
      const gen = await new Deno.Command("sh", {
        args: ["-c", `head -c 100000000 /dev/urandom > ${shellQuote(big)}`],
      }).output();
      assert.ok(gen.success);
      const before = rssKiB(d.pid);
      let peak = before;
      const sampler = setInterval(() => peak = Math.max(peak, rssKiB(d.pid)), 100);
      try {
        const r = await corralWithStdin(d, big, "run", "-i", "--rm", "busybox", "sha256sum");
        assert.equal(r.code, 0, r.stderr);
        assert.equal(r.stdout.split(" ")[0], await sha256File(big));
      } finally {
        clearInterval(sampler);
      }
      // Each socket read is a fresh buffer that V8 frees once ~64 MiB of them are garbage
      // (its external memory limit), whatever the input's size (300 MB: the same peak).
      // Holding the input would add its 100 MB.
      assert.ok(peak - before < 90 * 1024, `the daemon's RSS grew ${peak - before} KiB`);
      await Deno.remove(big);
    }),
);

Deno.test(
  "attach after a daemon SIGKILL: the shell and its terminal and stdin live on",
  integration,
  () =>
    withDaemon(async (d) => {
      await d.ok("run", "-d", "-it", "--name", "survivor", "busybox", "sh");
      // A container with a plain stdin pipe, open across the crash too.
      await d.ok(
        "run",
        "-d",
        "-i",
        "--name",
        "reader",
        "busybox",
        "sh",
        "-c",
        "cat; echo stdin-closed",
      );
      await d.kill9();
      await d.start();
      const t = await Tmux.start(corralLine(d, "attach", "survivor"));
      try {
        await sleep(500);
        await t.line("echo alive-$((2*3))");
        await t.untilScreen(/^alive-6$/m);
        await t.keys("C-p", "C-q");
        await t.untilScreen(/EXIT=0$/m);
      } finally {
        await t.close();
      }
      assert.equal(await d.status("survivor"), "running");
      // The pipe's stdin is still open: what is sent now reaches cat.
      const file = join(d.dir, "line");
      await Deno.writeTextFile(file, "after-crash\n");
      const r = await corralWithStdin(d, file, "attach", "reader");
      assert.equal(r.code, 0, r.stderr);
      assert.equal(await d.status("reader"), "running");
      assert.match(await d.ok("logs", "reader"), /after-crash/);
    }),
);

Deno.test(
  "churn of -it containers leaves no socket and no daemon fd behind",
  integration,
  () =>
    withDaemon(async (d) => {
      const run = async () => {
        const t = await Tmux.start(
          corralLine(d, "run", "-it", "--rm", "busybox", "sh", "-c", "exit 7"),
        );
        try {
          await t.untilScreen(/EXIT=7$/m);
        } finally {
          await t.close();
        }
      };
      // The daemon holds a live group shim's pidfd: count once the idle ones exited.
      const settledFds = async () => {
        assert.deepEqual(await d.groupShimsLeft(), []);
        await sleep(100); // Deno reaps the shim and closes its pidfd
        return fdCount(d.pid);
      };
      await run();
      const fds = await settledFds();
      for (let i = 0; i < 5; i++) await run();
      const after = await settledFds();
      assert.ok(after <= fds, `daemon fds ${fds} -> ${after}`);
      assert.deepEqual(await d.ok("ps", "-a", "-q"), "");
      // The harness's leak check finds any socket file left in a state dir.
    }),
);

Deno.test(
  "several clients attached at once all see the output; exec -i pipes stdin",
  integration,
  () =>
    withDaemon(async (d) => {
      await d.ok(
        "run",
        "-d",
        "-i",
        "--name",
        "multi",
        "busybox",
        "sh",
        "-c",
        'while read l; do echo "seen $l"; done',
      );
      const watchers = [1, 2].map(() =>
        new Deno.Command(CORRAL[0], {
          args: [...CORRAL.slice(1), "-H", d.host, "attach", "--no-stdin", "multi"],
          env: { RUST_BACKTRACE: "0" },
          stdin: "null",
          stdout: "piped",
          stderr: "piped",
        }).spawn()
      );
      try {
        // Both attached (their connections are made at once; give the CLIs time to start).
        await sleep(2000);
        const file = join(d.dir, "input");
        await Deno.writeTextFile(file, "one\n");
        const r = await corralWithStdin(d, file, "attach", "multi");
        assert.equal(r.code, 0, r.stderr);
        // Its stdin's end ends this attach (no StdinOnce), maybe before the answer came.
        await d.until(
          async () => (await d.ok("logs", "multi")).includes("seen one"),
          5000,
          "logged",
        );
      } finally {
        await sleep(500);
        for (const w of watchers) w.kill("SIGTERM");
      }
      for (const w of watchers) {
        const out = new TextDecoder().decode((await w.output()).stdout);
        assert.match(out, /seen one/, "every attached client saw the output");
      }
      const file = join(d.dir, "exec-in");
      await Deno.writeTextFile(file, "through exec\n");
      const ex = await corralWithStdin(d, file, "exec", "-i", "multi", "cat");
      assert.equal(ex.code, 0, ex.stderr);
      assert.equal(ex.stdout, "through exec\n");
    }),
);

Deno.test(
  "a group shim serves several interactive containers: each its own terminal, stdin and exec -it",
  integration,
  () =>
    withDaemon(async (d) => {
      // The second and third join the shim the first started: their console
      // sockets are served by that shim, the one that runs their `runc create`.
      await d.ok("run", "-d", "-it", "--name", "a", "busybox", "sh");
      await d.ok("run", "-d", "-it", "--name", "b", "busybox", "sh");
      await d.ok(
        "run",
        "-d",
        "-i",
        "--name",
        "c",
        "busybox",
        "sh",
        "-c",
        "while read l; do echo c-got-$l; done",
      );
      const shims = await Promise.all(
        ["a", "b", "c"].map(async (n) => (await d.inspect(n)).State.PPid),
      );
      assert.equal(new Set(shims).size, 1, `one shim: ${shims}`);
      assert.ok(Deno.readTextFileSync(`/proc/${shims[0]}/cmdline`).split("\0").includes("--group"));

      // Each terminal is its own: a's shell keeps its state, b's is another.
      const ta = await Tmux.start(corralLine(d, "attach", "a"));
      try {
        await ta.line("X=in-a; tty; echo $X-$((2*3))");
        await ta.untilScreen(/^\/dev\/pts\/0\nin-a-6$/m);
        await ta.keys("C-p", "C-q");
        await ta.untilScreen(/EXIT=0$/m);
      } finally {
        await ta.close();
      }
      const tb = await Tmux.start(corralLine(d, "attach", "b"));
      try {
        await tb.line("echo b-sees-${X:-nothing}");
        await tb.untilScreen(/^b-sees-nothing$/m);
        await tb.line("exit 4");
        await tb.untilScreen(/EXIT=4$/m);
      } finally {
        await tb.close();
      }
      await d.untilStatus("b", "exited");
      assert.equal((await d.inspect("b")).State.ExitCode, 4);
      // b's end leaves its shim's other containers (and their sockets) alone.
      assert.equal(await d.status("a"), "running");
      assert.equal(await d.status("c"), "running");

      // exec -it in a: a terminal of its own, through the same group shim.
      const ex = await Tmux.start(corralLine(d, "exec", "-it", "a", "sh"));
      try {
        await ex.line("tty; echo ex-$X-ok");
        await ex.untilScreen(/^\/dev\/pts\/\d+\nex--ok$/m);
        await ex.line("exit 6");
        await ex.untilScreen(/EXIT=6$/m);
      } finally {
        await ex.close();
      }

      // c's stdin is a pipe its shim holds: an attach's stdin reaches it.
      const input = join(d.dir, "to-c");
      await Deno.writeTextFile(input, "one\ntwo\n");
      const r = await corralWithStdin(d, input, "attach", "c");
      assert.equal(r.code, 0, r.stderr);
      await d.until(
        async () => /c-got-one\nc-got-two/.test(await d.ok("logs", "c")),
        5000,
        "c's log",
      );

      await d.ok("rm", "-f", "a", "c");
      assert.deepEqual(await d.groupShimsLeft(), []);
    }, { args: ["--shim-group-size", "3"] }),
);

Deno.test(
  "corral start -ai, --detach-keys and attach --no-stdin on the CLI's parser",
  integration,
  () =>
    withDaemon(async (d) => {
      await d.ok("create", "-it", "--name", "later", "busybox", "sh");
      const st = await Tmux.start(
        corralLine(d, "start", "-ai", "--detach-keys", "ctrl-x", "later"),
      );
      try {
        await st.untilScreen(/^\/ #\s*$/m);
        await st.line("echo started-$((3*3))");
        await st.untilScreen(/^started-9$/m);
        // The chosen key detaches; ctrl-p ctrl-q would be the shell's.
        await st.keys("C-x");
        await st.untilScreen(/EXIT=0$/m);
      } finally {
        await st.close();
      }
      assert.equal(await d.status("later"), "running");
      // --no-stdin: the output only; what is typed never reaches the shell.
      const watch = await Tmux.start(corralLine(d, "attach", "--no-stdin", "later"));
      const at = await Tmux.start(corralLine(d, "attach", "later"));
      try {
        // Both attaches are made (neither prints a thing): lines typed in `at` until `watch` shows one.
        await untilEchoed(at, watch);
        await watch.line("echo typed-in-watch");
        await at.line("echo from-$((40+2)); exit 8");
        await watch.untilScreen(/^from-42$/m);
        await watch.untilScreen(/EXIT=8$/m);
        await at.untilScreen(/EXIT=8$/m);
      } finally {
        await watch.close();
        await at.close();
      }
      assert.doesNotMatch(await d.ok("logs", "later"), /^typed-in-watch\r?$/m);
      assert.equal((await d.inspect("later")).State.ExitCode, 8);
      // As docker attach: a stopped container is refused at once, never waited on.
      const stopped = await d.cli("attach", "later");
      assert.notEqual(stopped.code, 0);
      assert.match(
        stopped.stderr,
        /^corral: you cannot attach to a stopped container, start it first\n$/,
      );
      const bad = await d.cli("start", "-ai", "--detach-keys", "ctrl-", "later");
      assert.notEqual(bad.code, 0);
      assert.equal(bad.stderr.trim().split("\n").length, 1, bad.stderr);
    }),
);
