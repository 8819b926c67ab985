/**
 * Registries: `docker pull` (`POST /images/create?fromImage=`), `docker push`
 * and `docker login` (`POST /auth`). Pull and push stream Docker's JSON
 * progress; what fails before the stream has begun (an unknown image, a
 * refused login, an unreachable registry) is an HTTP error, what fails after
 * is a last `{"error": …}` line, as Docker does.
 * @module
 */
import { errorMessage, invalid } from "../../errdefs/mod.ts";
import {
  decodeRegistryAuth,
  errorLine,
  type ProgressMessage,
  type ProgressSink,
} from "../../registry/mod.ts";
import { readBody } from "./request.ts";
import { json, jsonLines, streamOf } from "./response.ts";
import type { AddRoute, ApiContext } from "./server.ts";

const enc = new TextEncoder();

/** Register push and login; pull shares `/images/create` with import (see {@linkcode pullImage}). */
export function registryRoutes(route: AddRoute, ctx: ApiContext): void {
  route("POST", "/images/{name*}/push", (req, url, p) => {
    const name = decodeURIComponent(p.name);
    const tag = url.searchParams.get("tag");
    const creds = decodeRegistryAuth(req.headers.get("x-registry-auth"));
    // A missing local image is a 404, before the stream.
    ctx.images.resolve(tag ? `${name}:${tag}` : name);
    return progressStream((sink) => ctx.registry.push(name, tag, creds, sink));
  });
  route("POST", "/auth", async (req) => {
    const body = await readBody<{ username?: string; password?: string; serveraddress?: string }>(
      req,
    );
    if (!body.username) throw invalid("login: username is required");
    await ctx.registry.login(body.serveraddress ?? "", {
      username: body.username,
      password: body.password ?? "",
    });
    return json({ Status: "Login Succeeded", IdentityToken: "" });
  });
}

/** `POST /images/create?fromImage=NAME&tag=TAG[&platform=]`: a pull. */
export async function pullImage(req: Request, url: URL, ctx: ApiContext): Promise<Response> {
  const pull = await ctx.registry.preparePull(url.searchParams.get("fromImage") ?? "", {
    tag: url.searchParams.get("tag") ?? undefined,
    platform: url.searchParams.get("platform") ?? undefined,
    creds: decodeRegistryAuth(req.headers.get("x-registry-auth")),
  });
  return progressStream((sink) => pull.run(sink));
}

/** The JSON lines `work` reports, and an error line if it fails. */
function progressStream(work: (sink: ProgressSink) => Promise<unknown>): Response {
  return jsonLines(streamOf(async (write) => {
    const send = (msg: ProgressMessage) => write(enc.encode(JSON.stringify(msg) + "\r\n"));
    try {
      await work(send);
    } catch (err) {
      send(errorLine(errorMessage(err)));
    }
  }));
}
