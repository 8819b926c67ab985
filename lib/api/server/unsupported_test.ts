import assert from "node:assert/strict";
import { checkCreateBody, checkHostConfig } from "./unsupported.ts";

Deno.test("create body: keys Docker does not have are ignored, as Docker ignores them", () => {
  // dockerode leaves `name` in the body (and puts it in the query, which names the container).
  checkCreateBody({ Image: "busybox", name: "web", platform: "linux/amd64" }, {});
  checkHostConfig({ Memory: 64 << 20, SomethingNew: { on: true } });
});

Deno.test("create body: a Docker option corral cannot honour is refused by name", () => {
  // Terminals and stdin are honoured.
  checkCreateBody({ Image: "busybox", Tty: true, OpenStdin: true, StdinOnce: true }, {});
  assert.throws(
    () => checkCreateBody({ Image: "busybox", Domainname: "example.com" }, {}),
    /Config\.Domainname is not supported by corral/,
  );
  assert.throws(
    () => checkHostConfig({ BlkioWeight: 300 }),
    /HostConfig\.BlkioWeight is not supported by corral/,
  );
});

Deno.test("create body: bind mounts and anonymous volumes (Volumes and Binds) pass", () => {
  // volumes={"/srv": {"bind": "/x", "mode": "ro"}} sends Binds ["/srv:/x:ro"] and Volumes {"/x": {}}.
  checkCreateBody({ Image: "busybox", Volumes: { "/x": {} } }, { Binds: ["/srv:/x:ro"] });
  checkCreateBody({ Image: "busybox", Volumes: { "/x/": {} } }, { Binds: ["/srv:/x"] }); // one path
  // An anonymous volume, alone or as docker-py's volumes=["/cache"] sends it: the volume module's.
  checkCreateBody({ Image: "busybox", Volumes: { "/cache": {} } }, {});
  checkCreateBody({ Image: "busybox", Volumes: { "/cache": {} } }, { Binds: ["/cache"] });
});
