import assert from "node:assert/strict";
import { unixRequest } from "./http1.ts";

/** A real HTTP server on a unix socket (Deno.serve, as the daemon's). */
async function withServer(
  handler: (req: Request) => Response | Promise<Response>,
  fn: (socket: string) => Promise<void>,
): Promise<void> {
  const dir = await Deno.makeTempDir();
  const socket = `${dir}/s.sock`;
  const server = Deno.serve({ path: socket, onListen: () => {} }, handler);
  try {
    await fn(socket);
  } finally {
    await server.shutdown();
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("unixRequest: sized, chunked and empty answers; a streamed request body", async () => {
  await withServer(async (req) => {
    const url = new URL(req.url);
    if (url.pathname === "/echo") return new Response(await req.text());
    if (url.pathname === "/none") return new Response(null, { status: 204 });
    // A streamed answer: chunked on the wire.
    return new Response(
      new ReadableStream({
        start(c) {
          for (const s of ["a\n", "b\n", "c\n"]) c.enqueue(new TextEncoder().encode(s));
          c.close();
        },
      }),
    );
  }, async (socket) => {
    const echo = await unixRequest(socket, {
      method: "POST",
      target: "/echo?x=1",
      body: new TextEncoder().encode("hello"),
    });
    assert.equal(echo.status, 200);
    assert.equal(await echo.text(), "hello");
    const none = await unixRequest(socket, { method: "POST", target: "/none" });
    assert.equal(none.status, 204);
    assert.equal(none.body, null);
    const stream = await unixRequest(socket, { method: "GET", target: "/stream" });
    assert.equal(await stream.text(), "a\nb\nc\n");
    const piped = await unixRequest(socket, {
      method: "POST",
      target: "/echo",
      body: ReadableStream.from(["x", "y", "z"].map((s) => new TextEncoder().encode(s))),
    });
    assert.equal(await piped.text(), "xyz");
  });
});

Deno.test("unixRequest: an answer sent before the whole body was read still arrives", async () => {
  await withServer(
    () => Response.json({ message: "too big" }, { status: 413 }),
    async (socket) => {
      const res = await unixRequest(socket, {
        method: "POST",
        target: "/big",
        body: new Uint8Array(8 * 1024 * 1024),
      });
      assert.equal(res.status, 413);
      assert.deepEqual(await res.json(), { message: "too big" });
    },
  );
});

Deno.test("unixRequest: no server is a connection error", async () => {
  await assert.rejects(
    unixRequest("/nonexistent/corral.sock", { method: "GET", target: "/" }),
    Deno.errors.NotFound,
  );
});
