/**
 * The progress drawing of `corral pull` and `push`: plain lines when the
 * output is not a terminal, lines redrawn in place when it is, and the
 * stream's error line as the command's error.
 * @module
 */
import assert from "node:assert/strict";
import { renderProgress } from "./progress.ts";

const LINES = [
  { status: "Pulling from app", id: "1" },
  { status: "Pulling fs layer", progressDetail: {}, id: "aaa" },
  { status: "Pulling fs layer", progressDetail: {}, id: "bbb" },
  {
    status: "Downloading",
    progressDetail: { current: 1, total: 2 },
    progress: "[=>  ]",
    id: "aaa",
  },
  {
    status: "Downloading",
    progressDetail: { current: 2, total: 2 },
    progress: "[===>]",
    id: "aaa",
  },
  { status: "Pull complete", progressDetail: {}, id: "aaa" },
  { status: "Digest: sha256:00" },
];

/** The stream of `msgs`, split at awkward places, and what was drawn. */
async function draw(msgs: object[], terminal: boolean): Promise<string> {
  const text = msgs.map((m) => JSON.stringify(m) + "\r\n").join("");
  const bytes = new TextEncoder().encode(text);
  const body = new ReadableStream<Uint8Array>({
    start(ctrl) {
      for (let i = 0; i < bytes.length; i += 7) ctrl.enqueue(bytes.subarray(i, i + 7));
      ctrl.close();
    },
  });
  let out = "";
  await renderProgress(body, {
    writeSync(p) {
      out += new TextDecoder().decode(p);
      return p.length;
    },
  }, terminal);
  return out;
}

Deno.test("progress: one plain line per status change when not a terminal", async () => {
  assert.equal(
    await draw(LINES, false),
    "1: Pulling from app\naaa: Pulling fs layer\nbbb: Pulling fs layer\naaa: Downloading\n" +
      "aaa: Pull complete\nDigest: sha256:00\n",
  );
});

Deno.test("progress: a terminal gets each layer's line redrawn in place with its bar", async () => {
  const out = await draw(LINES, true);
  assert.ok(out.includes("\x1b[2A\r\x1b[2Kaaa: Downloading [===>]\r\x1b[2B"), JSON.stringify(out));
  assert.ok(out.endsWith("Digest: sha256:00\n"));
});

Deno.test("progress: an error line ends the command with its message", async () => {
  await assert.rejects(
    draw([LINES[0], { error: "x", errorDetail: { message: "digest mismatch: blob" } }], false),
    /^CorralError: digest mismatch: blob$/,
  );
});
