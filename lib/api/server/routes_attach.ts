/**
 * Attach and resize: `POST /containers/ID/attach` hijacks the connection
 * (`Upgrade: tcp`, 101) and joins the client to the container's streams,
 * which its shim holds (a terminal or an open stdin), or to its log (output
 * only); `POST /containers/ID/resize` and `POST /exec/ID/resize` set a
 * terminal's size.
 * @module
 */
import { attachesThroughShim, attachToShim, resizeTerminal } from "../../container/mod.ts";
import { invalid } from "../../errdefs/mod.ts";
import { proxyStreams } from "./attach_proxy.ts";
import { DEFAULT_DETACH_KEYS, parseDetachKeys } from "../detach_keys.ts";
import { hijackedInput } from "./http.ts";
import { boolParam } from "./request.ts";
import { attachToLog } from "./routes_logs.ts";
import type { AddRoute, ApiContext } from "./server.ts";

/** The content type of a stream: raw with a terminal, Docker's frames without. */
export function streamResponse(body: ReadableStream<Uint8Array>, tty: boolean): Response {
  const type = tty
    ? "application/vnd.docker.raw-stream"
    : "application/vnd.docker.multiplexed-stream";
  return new Response(body, { headers: { "content-type": type } });
}

/** A terminal size from `h` and `w`. */
function sizeParams(url: URL): { h: number; w: number } {
  const size = (name: string) => {
    const v = url.searchParams.get(name) ?? "";
    if (!/^\d+$/.test(v) || Number(v) > 65535) {
      throw invalid(`invalid ${name === "h" ? "height" : "width"} "${v}": expected 0 to 65535`);
    }
    return Number(v);
  };
  return { h: size("h"), w: size("w") };
}

/** Register the attach and resize routes. */
export function attachRoutes(route: AddRoute, { service: svc, execs }: ApiContext): void {
  route("POST", "/containers/{id}/attach", (req, url, p) => {
    const c = svc.store.get(p.id);
    if (!attachesThroughShim(c, svc.runtime.bundle(c.id).dir)) return attachToLog(svc, p.id, url);
    const detachKeys = parseDetachKeys(url.searchParams.get("detachKeys") || DEFAULT_DETACH_KEYS);
    const input = boolParam(url, "stdin") ? hijackedInput(req) : null;
    const pending = attachToShim(svc, c.id, {
      op: "attach",
      stdin: input !== null,
      stdout: boolParam(url, "stdout"),
      stderr: boolParam(url, "stderr"),
    });
    const body = proxyStreams({ ...pending, input, detachKeys });
    return streamResponse(body, Boolean(c.rec.Config.Tty));
  });
  route("POST", "/containers/{id}/resize", async (_r, url, p) => {
    const { h, w } = sizeParams(url);
    await resizeTerminal(svc, p.id, h, w);
    return new Response(null, { status: 200 });
  });
  route("POST", "/exec/{id}/resize", async (_r, url, p) => {
    const { h, w } = sizeParams(url);
    await resizeTerminal(svc, execs.inspect(p.id).ContainerID, h, w, p.id);
    return new Response(null, { status: 200 });
  });
}
