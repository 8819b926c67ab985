/**
 * Exec: create a process in a running container, start it (its output as
 * Docker's multiplexed stream, or detached), inspect it for its exit code.
 * @module
 */
import { proxyStreams } from "./attach_proxy.ts";
import { DEFAULT_DETACH_KEYS, parseDetachKeys } from "../detach_keys.ts";
import { hijackedInput } from "./http.ts";
import { streamResponse } from "./routes_attach.ts";
import { encodeFrame, STDERR, STDOUT } from "../stream.ts";
import { readBody } from "./request.ts";
import { json, multiplexed, noContent, streamOf } from "./response.ts";
import type { AddRoute, ApiContext } from "./server.ts";

/** Register the exec routes. */
export function execRoutes(route: AddRoute, { execs }: ApiContext): void {
  route("POST", "/containers/{id}/exec", async (req, _u, p) => {
    const body = await readBody<
      {
        Cmd: string[];
        Env?: string[];
        WorkingDir?: string;
        User?: string;
        Tty?: boolean;
        AttachStdin?: boolean;
      }
    >(req);
    return json({ Id: execs.create(p.id, body) }, 201);
  });
  route("POST", "/exec/{id}/start", async (req, url, p) => {
    const body = await readBody<{ Detach?: boolean; Tty?: boolean }>(req);
    if (!body.Detach && execs.hasStreams(p.id)) {
      const detachKeys = parseDetachKeys(url.searchParams.get("detachKeys") || DEFAULT_DETACH_KEYS);
      const run = await execs.startStreams(p.id);
      const input = hijackedInput(req);
      const output = proxyStreams({
        session: Promise.resolve(run.session),
        input,
        detachKeys,
        cancel: () => {},
        output: run.output,
      });
      return streamResponse(output, run.tty);
    }
    const run = execs.start(p.id);
    if (body.Detach) {
      run.stdout.cancel();
      run.stderr.cancel();
      return noContent();
    }
    return multiplexed(streamOf(async (write) => {
      const pump = async (s: ReadableStream<Uint8Array>, id: number) => {
        for await (const chunk of s) write(encodeFrame(id, chunk));
      };
      await Promise.all([pump(run.stdout, STDOUT), pump(run.stderr, STDERR)]);
      await run.exitCode;
    }));
  });
  route("GET", "/exec/{id}/json", (_r, _u, p) => json(execs.inspect(p.id)));
}
