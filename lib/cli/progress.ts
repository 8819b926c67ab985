/**
 * Docker's JSON progress stream (pull, push) drawn for a person: on a
 * terminal one line per layer, redrawn in place with its bar; otherwise one
 * plain line per change of a layer's status (no bars, no byte counts). An
 * `error` line ends the command with its message.
 * @module
 */
import { CorralError } from "../errdefs/mod.ts";

interface Message {
  id?: string;
  status?: string;
  progress?: string;
  error?: string;
  errorDetail?: { message?: string };
}

const enc = new TextEncoder();

/**
 * Read the stream to its end, drawing it on `out` (a terminal when
 * `terminal`). Throws the stream's error line as an error.
 *
 * @example
 * ```ts
 * declare const res: Response;
 * await renderProgress(res.body!, Deno.stdout, Deno.stdout.isTerminal());
 * ```
 */
export async function renderProgress(
  body: ReadableStream<Uint8Array>,
  out: { writeSync(p: Uint8Array): number },
  terminal: boolean,
): Promise<void> {
  const write = (text: string) => {
    const bytes = enc.encode(text);
    for (let off = 0; off < bytes.length;) off += out.writeSync(bytes.subarray(off));
  };
  const lines: string[] = [];
  const shown = new Map<string, string>();
  let buffer = "";
  const handle = (msg: Message) => {
    if (msg.error !== undefined) {
      throw new CorralError("internal", msg.errorDetail?.message ?? msg.error);
    }
    if (!msg.id) {
      if (msg.status) write(`${msg.status}\n`);
      return;
    }
    const text = `${msg.id}: ${msg.status ?? ""}${
      terminal && msg.progress ? ` ${msg.progress}` : ""
    }`;
    if (!terminal) {
      if (shown.get(msg.id) !== msg.status) write(`${text}\n`);
      shown.set(msg.id, msg.status ?? "");
      return;
    }
    const row = lines.indexOf(msg.id);
    if (row < 0) {
      lines.push(msg.id);
      write(`${text}\n`);
      return;
    }
    // Up to the layer's line, rewrite it, back down.
    const up = lines.length - row;
    write(`\x1b[${up}A\r\x1b[2K${text}\r\x1b[${up}B`);
  };
  for await (const chunk of body.pipeThrough(new TextDecoderStream())) {
    buffer += chunk;
    let nl: number;
    while ((nl = buffer.indexOf("\n")) >= 0) {
      const line = buffer.slice(0, nl).trim();
      buffer = buffer.slice(nl + 1);
      if (line) handle(JSON.parse(line));
    }
  }
  if (buffer.trim()) handle(JSON.parse(buffer));
}
