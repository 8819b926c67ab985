/**
 * `logs` on a big json-file log (issue 12 item 4): past ~120k lines every read,
 * `--tail 1` included, overflowed the stack and read the whole log into memory.
 * Logs now stream, and a tail is read backwards from the end of the files.
 */
import assert from "node:assert/strict";
import { decodeFrames } from "../lib/api/mod.ts";
import { integration, type TestDaemon, withDaemon } from "./harness.ts";

const LINES = 150_000;

/** The stdout text of a logs request over the API. */
async function apiLogs(d: TestDaemon, id: string, query: string): Promise<string> {
  const res = await d.api.call("GET", `/containers/${id}/logs?${query}`);
  const dec = new TextDecoder();
  let out = "";
  await decodeFrames(res.body!, (_stream, payload) => {
    out += dec.decode(payload);
  });
  return out;
}

/** The payload size in the header of the frame at the start of `bytes`. */
function frameSize(bytes: Uint8Array): number {
  return new DataView(bytes.buffer, bytes.byteOffset).getUint32(4);
}

/** Asserts `text` is the lines 1…n of `seq 1 n`. */
function assertSeq(text: string, n: number, what: string): void {
  const lines = text.split("\n");
  assert.equal(lines.pop(), "", `${what}: ends with a newline`);
  assert.equal(lines.length, n, `${what}: line count`);
  const wrong = lines.findIndex((l, i) => l !== String(i + 1));
  assert.equal(wrong, -1, `${what}: line ${wrong + 1} is ${JSON.stringify(lines[wrong])}`);
}

Deno.test(
  "logs of 150,000 lines: --tail 1, the whole log, tail=-1 and friends over the API",
  integration,
  () =>
    withDaemon(async (d) => {
      const id = await d.ok("run", "-d", "--name", "big", "busybox", "seq", "1", String(LINES));
      assert.equal(await d.ok("wait", "big"), "0");

      const tail = await d.cli("logs", "--tail", "1", "big");
      assert.deepEqual([tail.code, tail.stdout, tail.stderr], [0, `${LINES}\n`, ""]);
      const all = await d.cli("logs", "big");
      assert.equal(all.code, 0, all.stderr);
      assertSeq(all.stdout, LINES, "logs");

      // -f on an exited container: the tail (or everything), then the stream ends.
      assert.equal(await d.ok("logs", "-f", "--tail", "2", "big"), `${LINES - 1}\n${LINES}`);
      // (Over the API: the CLI writes a frame at a time, which takes seconds for this log.)
      assertSeq(await apiLogs(d, id, "stdout=1&follow=1"), LINES, "follow=1");
      assert.match(
        await d.ok("logs", "--tail", "1", "--timestamps", "big"),
        new RegExp(`^\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{9}Z ${LINES}$`),
      );

      // Docker reads a tail that is not a non-negative count as "all" (testcontainers sends -1).
      for (const t of ["-1", "all", "", "x"]) {
        assertSeq(await apiLogs(d, id, `stdout=1&tail=${t}`), LINES, `tail=${t}`);
      }
      assert.equal(await apiLogs(d, id, "stdout=1&tail=0"), "");
      const many = (await apiLogs(d, id, "stdout=1&tail=149000")).split("\n");
      assert.deepEqual([many.length, many[0], many.at(-2)], [149_001, "1001", String(LINES)]);
      assert.equal(
        await apiLogs(d, id, "stdout=1&tail=3"),
        `${LINES - 2}\n${LINES - 1}\n${LINES}\n`,
      );
      assert.equal(await apiLogs(d, id, "stderr=1&tail=all"), "", "stdout lines only");
      const future = Math.ceil(Date.now() / 1000) + 60;
      assert.equal(await apiLogs(d, id, `stdout=1&since=${future}`), "");
      assert.equal(await apiLogs(d, id, `stdout=1&tail=5&since=${future}`), "");
    }),
);

Deno.test(
  "logs -f --tail 1 on a running container: the last line, then new ones; leaving frees the log",
  integration,
  () =>
    withDaemon(async (d) => {
      const id = await d.ok("run", "-d", "busybox", "sh", "-c", "seq 1 50000; exec sleep 60");
      const logFds = () => d.containerFdsOfDaemon().filter((f) => f.includes("-json.log"));
      await d.until(async () => (await d.cli("logs", "--tail", "1", id)).stdout === "50000\n");
      const res = await d.api.call("GET", `/containers/${id}/logs?stdout=1&follow=1&tail=1`);
      const reader = res.body!.getReader();
      // Frames may straddle reads: keep the bytes of an unfinished one for the next read.
      let got = "";
      let raw = new Uint8Array(0);
      const readUntil = async (end: string) => {
        while (!got.endsWith(end)) {
          const { value } = await reader.read();
          const joined = new Uint8Array(raw.length + value!.length);
          joined.set(raw);
          joined.set(value!, raw.length);
          raw = joined;
          for (let size; raw.length >= 8 && raw.length >= 8 + (size = frameSize(raw));) {
            got += new TextDecoder().decode(raw.subarray(8, 8 + size));
            raw = raw.slice(8 + size);
          }
        }
      };
      await readUntil("50000\n");
      // Output of the running container, written to its stdout (the shim's pipe).
      await d.ok("exec", id, "sh", "-c", "echo late > /proc/1/fd/1");
      await readUntil("late\n");
      assert.equal(got, "50000\nlate\n");
      // The follower holds the log (an earlier request's fd may take a moment to go).
      await d.until(() => logFds().length === 1, 5000, "only the follower to hold the log");
      await reader.cancel();
      await d.until(() => logFds().length === 0, 5000, "the follower to close the log");
      assert.equal(await d.ok("logs", "--tail", "1", id), "late");
    }),
);
