import assert from "node:assert/strict";
import { closeFd, O_RDONLY, openFd } from "./fd.ts";
import { childrenSpawned, outputClean, spawnClean } from "./spawn.ts";

/** The fds a child sees: stdio and the one `ls` opens to read the directory. */
function childFds(stdout: Uint8Array): string[] {
  return new TextDecoder().decode(stdout).trim().split(/\s+/).filter((w) => /^\d+$/.test(w));
}

Deno.test("spawnClean and outputClean children inherit only stdio, and are counted", async () => {
  // Opened without O_CLOEXEC, as Deno's node:net opens its sockets.
  const leaky = openFd("/dev/null", O_RDONLY);
  try {
    const before = childrenSpawned();
    const args = [
      "-c",
      `ls /proc/self/fd; if test -e /proc/self/fd/${leaky}; then echo inherited; fi`,
    ];
    const out = await outputClean("sh", { args, stdin: "null" });
    assert.equal(out.code, 0);
    assert.doesNotMatch(new TextDecoder().decode(out.stdout), /inherited/);
    assert.deepEqual(childFds(out.stdout), ["0", "1", "2", "3"]);
    const child = spawnClean("sh", { args, stdin: "null", stdout: "piped" });
    const spawned = await child.output();
    assert.doesNotMatch(new TextDecoder().decode(spawned.stdout), /inherited/);
    assert.equal(childrenSpawned() - before, 2);
  } finally {
    closeFd(leaky);
  }
});
