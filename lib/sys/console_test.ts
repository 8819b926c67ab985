import assert from "node:assert/strict";
import { listenUnix, receiveFd, setWindowSize } from "./console.ts";
import { closeFd, readFd } from "./fd.ts";

Deno.test("an fd sent with SCM_RIGHTS is received; none yet is null; a pty takes a window size", async () => {
  const dir = await Deno.makeTempDir({ prefix: "corral-console-" });
  const path = `${dir}/console.sock`;
  const listener = listenUnix(path);
  try {
    assert.equal(receiveFd(listener), null, "nobody connected yet");
    // A real sender (python's socket.send_fds): the read end of a pipe holding "hello",
    // and a pty master, as runc sends one.
    const py = [
      "import os, socket, struct, fcntl, termios",
      "r, w = os.pipe(); os.write(w, b'hello'); os.close(w)",
      "s = socket.socket(socket.AF_UNIX); s.connect(" + JSON.stringify(path) + ")",
      "socket.send_fds(s, [b'pipe'], [r]); s.close()",
      "m, sl = os.openpty()",
      "s = socket.socket(socket.AF_UNIX); s.connect(" + JSON.stringify(path) + ")",
      "socket.send_fds(s, [b'/dev/pts/x'], [m]); s.close()",
      "import time; time.sleep(2)",
      "print(struct.unpack('HHHH', fcntl.ioctl(sl, termios.TIOCGWINSZ, b'\\0' * 8))[:2])",
    ].join("\n");
    const child = new Deno.Command("python3", { args: ["-c", py], stdout: "piped" }).spawn();
    let pipe: number | null = null;
    for (let i = 0; i < 100 && pipe === null; i++) {
      pipe = receiveFd(listener);
      if (pipe === null) await new Promise((r) => setTimeout(r, 20));
    }
    assert.ok(pipe !== null);
    const buf = new Uint8Array(16);
    assert.equal(new TextDecoder().decode(buf.subarray(0, readFd(pipe, buf))), "hello");
    closeFd(pipe);
    let master: number | null = null;
    for (let i = 0; i < 100 && master === null; i++) {
      master = receiveFd(listener);
      if (master === null) await new Promise((r) => setTimeout(r, 20));
    }
    assert.ok(master !== null);
    setWindowSize(master, 33, 111);
    closeFd(master);
    const out = await child.output();
    assert.equal(new TextDecoder().decode(out.stdout).trim(), "(33, 111)");
  } finally {
    closeFd(listener);
    await Deno.remove(dir, { recursive: true });
  }
});
