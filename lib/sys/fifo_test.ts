import assert from "node:assert/strict";
import { join } from "node:path";
import {
  closeFd,
  EPOLLHUP,
  EpollLoop,
  ErrnoError,
  mkfifo,
  O_CLOEXEC,
  O_NONBLOCK,
  O_RDONLY,
  O_WRONLY,
  openFd,
  readFd,
  unmount,
} from "./mod.ts";

const tmp = () => Deno.makeTempDir({ prefix: "corral-sys-" });

Deno.test("a fifo reader gets HUP through epoll when the last writer closes", async () => {
  const dir = await tmp();
  const path = join(dir, "exit_fifo");
  mkfifo(path);
  mkfifo(path); // an existing fifo is reused
  const rd = openFd(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  const ep = new EpollLoop();
  ep.start();
  let resolveHup!: (ev: number) => void;
  const hup = new Promise<number>((r) => resolveHup = r);
  ep.add(rd, (ev) => {
    ep.remove(rd);
    resolveHup(ev);
  });
  // No writer yet: nothing is reported.
  const early = await Promise.race([
    hup.then(() => "hup"),
    new Promise((r) => setTimeout(() => r("none"), 100)),
  ]);
  assert.equal(early, "none");
  const wr = openFd(path, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
  closeFd(wr);
  assert.ok((await hup) & EPOLLHUP);
  assert.equal(readFd(rd, new Uint8Array(8)), 0, "EOF after the writer left");
  closeFd(rd);
  await ep.stop();
  await Deno.remove(dir, { recursive: true });
});

Deno.test("a reader opened after the last writer closed never sees HUP", async () => {
  const dir = await tmp();
  const path = join(dir, "f");
  mkfifo(path);
  const first = openFd(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  closeFd(openFd(path, O_WRONLY | O_NONBLOCK | O_CLOEXEC));
  closeFd(first);
  const late = openFd(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  const ep = new EpollLoop();
  ep.start();
  let seen = false;
  ep.add(late, () => seen = true);
  await new Promise((r) => setTimeout(r, 100));
  assert.equal(seen, false);
  ep.remove(late);
  closeFd(late);
  await ep.stop();
  await Deno.remove(dir, { recursive: true });
});

Deno.test("opening a fifo's write end without a reader fails with ENXIO", async () => {
  const dir = await tmp();
  const path = join(dir, "f");
  mkfifo(path);
  assert.throws(
    () => openFd(path, O_WRONLY | O_NONBLOCK | O_CLOEXEC),
    (e) => e instanceof ErrnoError && e.code === "ENXIO",
  );
  await Deno.remove(dir, { recursive: true });
});

Deno.test("errno becomes a typed error; umount2 of a non-mount is a no-op", async () => {
  assert.throws(
    () => openFd("/nonexistent/corral", O_RDONLY),
    (e) =>
      e instanceof ErrnoError && e.code === "ENOENT" && e.errno === 2 &&
      /open \/nonexistent\/corral: ENOENT/.test(e.message),
  );
  const dir = await tmp();
  unmount(dir); // EINVAL: not a mount point, counts as done
  await Deno.remove(dir, { recursive: true });
});

Deno.test("one epoll serves many fifos and stops promptly through its eventfd", async () => {
  const dir = await tmp();
  const ep = new EpollLoop();
  ep.start();
  const fds: number[] = [];
  const seen = new Set<number>();
  for (let i = 0; i < 64; i++) {
    const p = join(dir, `f${i}`);
    mkfifo(p);
    const rd = openFd(p, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    fds.push(rd);
    ep.add(rd, () => {
      ep.remove(rd);
      seen.add(rd);
    });
    closeFd(openFd(p, O_WRONLY | O_NONBLOCK | O_CLOEXEC));
  }
  const deadline = Date.now() + 5000;
  while (seen.size < 64 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
  assert.equal(seen.size, 64);
  assert.equal(ep.size, 0);
  for (const fd of fds) closeFd(fd);
  const t0 = performance.now();
  await ep.stop();
  assert.ok(performance.now() - t0 < 1000);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("a handler that throws is reported to onError and the loop goes on", async () => {
  const dir = await tmp();
  const reported: string[] = [];
  const ep = new EpollLoop({ onError: (fd, error) => reported.push(`${fd}: ${error}`) });
  ep.start();
  const hupOf = (name: string, handler: (rd: number) => void) => {
    const p = join(dir, name);
    mkfifo(p);
    const rd = openFd(p, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    ep.add(rd, () => {
      ep.remove(rd);
      handler(rd);
    });
    closeFd(openFd(p, O_WRONLY | O_NONBLOCK | O_CLOEXEC));
    return rd;
  };
  const failing = hupOf("failing", () => {
    throw new Error("handler bug");
  });
  let resolveLater!: () => void;
  const later = new Promise<void>((r) => resolveLater = r);
  const working = hupOf("working", () => resolveLater());
  await later;
  assert.deepEqual(reported, [`${failing}: Error: handler bug`]);
  closeFd(failing);
  closeFd(working);
  await ep.stop();
  await Deno.remove(dir, { recursive: true });
});
