import assert from "node:assert/strict";
import { requestUpgrade, unixRequest } from "./http1.ts";

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

Deno.test("requestUpgrade: a 101 hands over the connection with the bytes read past the head; a refusal's body is text", async () => {
  const dir = await Deno.makeTempDir();
  const socket = `${dir}/u.sock`;
  const listener = Deno.listen({ transport: "unix", path: socket });
  // A raw server (Deno.serve has no upgrade to tcp): 101 and stream bytes in one write, then an echo.
  const serving = (async () => {
    for (let i = 0; i < 2; i++) {
      const conn = await listener.accept();
      const buf = new Uint8Array(4096);
      const n = (await conn.read(buf))!;
      const head = new TextDecoder().decode(buf.subarray(0, n));
      const refusal = '{"message":"no such"}';
      const answer = head.includes("/refuse")
        ? `HTTP/1.1 404 Not Found\r\ncontent-length: ${refusal.length}\r\n\r\n${refusal}`
        : "HTTP/1.1 101 UPGRADED\r\nupgrade: tcp\r\n\r\nearly";
      await conn.write(new TextEncoder().encode(answer));
      if (!head.includes("/refuse")) {
        const m = (await conn.read(buf))!;
        await conn.write(buf.subarray(0, m));
      }
      conn.close();
    }
  })();
  try {
    const conn = await Deno.connect({ transport: "unix", path: socket });
    const up = await requestUpgrade(conn, {
      method: "POST",
      target: "/attach",
      body: new Uint8Array([1]),
    });
    assert.equal(up.status, 101);
    assert.equal(new TextDecoder().decode(up.early()), "early");
    await conn.write(new TextEncoder().encode("both ways"));
    const buf = new Uint8Array(64);
    assert.equal(new TextDecoder().decode(buf.subarray(0, (await conn.read(buf))!)), "both ways");
    conn.close();
    const conn2 = await Deno.connect({ transport: "unix", path: socket });
    const no = await requestUpgrade(conn2, { method: "POST", target: "/refuse" });
    assert.equal(no.status, 404);
    assert.equal(JSON.parse(await no.text()).message, "no such");
    conn2.close();
    await serving;
  } finally {
    listener.close();
    await Deno.remove(dir, { recursive: true });
  }
});
