import assert from "node:assert/strict";
import { connectFailure } from "./client.ts";

Deno.test("a socket the user may not open is 'permission denied', not 'is it running?'", () => {
  const denied = new TypeError("client error (Connect)", {
    cause: new Error("Permission denied (os error 13)"),
  });
  assert.match(connectFailure("/s.sock", denied), /^permission denied .* \/s\.sock$/);
  const refused = new TypeError("client error (Connect)", {
    cause: new Error("Connection refused (os error 111)"),
  });
  assert.match(connectFailure("/s.sock", refused), /is it running\?$/);
});
