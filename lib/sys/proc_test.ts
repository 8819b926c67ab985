import assert from "node:assert/strict";
import { identify, isAlive, parseNetDev, parseSignal, readProcStat, signalProcess } from "./mod.ts";

Deno.test("process identity is (pid, start time); a wrong start time is another process", async () => {
  const child = new Deno.Command("sleep", { args: ["30"] }).spawn();
  const id = identify(child.pid)!;
  assert.ok(id.startTime > 0);
  assert.ok(isAlive(id));
  const impostor = { pid: child.pid, startTime: id.startTime + 1 };
  assert.equal(isAlive(impostor), false);
  assert.equal(signalProcess(impostor, 9), false, "never signal a reused pid");
  assert.ok(isAlive(id), "the real process was not touched");
  assert.ok(signalProcess(id, 9));
  await child.status;
  assert.equal(isAlive(id), false);
});

Deno.test("stat parsing survives a command name with spaces and parens", async () => {
  const dir = await Deno.makeTempDir();
  const exe = `${dir}/we ird) (name`;
  await Deno.copyFile("/bin/sleep", exe);
  const child = new Deno.Command(exe, { args: ["30"] }).spawn();
  await new Promise((r) => setTimeout(r, 50));
  const st = readProcStat(child.pid)!;
  assert.equal(st.ppid, Deno.pid);
  assert.ok(st.startTime > 0);
  child.kill("SIGKILL");
  await child.status;
  await Deno.remove(dir, { recursive: true });
});

Deno.test("signal names and numbers", () => {
  assert.equal(parseSignal("KILL"), 9);
  assert.equal(parseSignal("SIGTERM"), 15);
  assert.equal(parseSignal("usr1"), 10);
  assert.equal(parseSignal("15"), 15);
  assert.equal(parseSignal("SIGNOPE"), null);
  assert.equal(parseSignal("0"), null);
  assert.equal(parseSignal("99"), null);
});

Deno.test("parseNetDev: every interface's counters but the loopback's", () => {
  const text = "Inter-|   Receive |  Transmit\n face |bytes packets|bytes packets\n" +
    "    lo:    10    1    0    0    0     0          0         0       10       1    0    0    0     0       0          0\n" +
    "  eth0:  1500   12    1    2    0     0          0         0      900       7    3    4    0     0       0          0\n";
  assert.deepEqual(parseNetDev(text), {
    eth0: {
      rx_bytes: 1500,
      rx_packets: 12,
      rx_errors: 1,
      rx_dropped: 2,
      tx_bytes: 900,
      tx_packets: 7,
      tx_errors: 3,
      tx_dropped: 4,
    },
  });
});
