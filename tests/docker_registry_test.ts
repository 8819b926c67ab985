/**
 * The real docker CLI against corral with a real registry: `docker login`
 * (corral's `/auth`), `docker pull` with its progress, the pulled image run,
 * `docker push`.
 * @module
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { Docker, dockerTestOptions } from "./docker.ts";
import { withDaemon } from "./harness.ts";
import { skopeoPush, startRegistry } from "./registry.ts";

const cliTest = dockerTestOptions("tests/docker_registry_test.ts");
const USER = { username: "docker-user", password: "pw-for-docker" };

Deno.test(
  "docker CLI: login against corral's /auth, pull with progress, run, push, logout",
  cliTest,
  async () => {
    const reg = await startRegistry(USER);
    try {
      await withDaemon(async (d) => {
        const docker = new Docker(d);
        const archive = join(d.dir, "busybox.tar");
        await d.ok("save", "-o", archive, "busybox");
        const image = `${reg.host}/cli/box:1`;
        await skopeoPush(
          `docker-archive:${archive}`,
          image,
          "--dest-creds",
          `${USER.username}:${USER.password}`,
        );

        const wrong = await docker.exec(
          ["login", "-u", USER.username, "--password-stdin", reg.host],
          { stdin: new TextEncoder().encode("wrong\n") },
        );
        assert.notEqual(wrong.code, 0);
        assert.match(wrong.stderr, /unauthorized/);
        const login = await docker.exec(
          ["login", "-u", USER.username, "--password-stdin", reg.host],
          { stdin: new TextEncoder().encode(`${USER.password}\n`) },
        );
        assert.equal(login.code, 0, login.stderr);
        assert.match(login.stdout, /Login Succeeded/);

        const pull = await docker.run("pull", image);
        assert.equal(pull.code, 0, pull.stderr);
        assert.match(pull.stdout, /^1: Pulling from cli\/box\n/);
        assert.match(pull.stdout, /[0-9a-f]{12}: Pull complete\n/);
        assert.match(pull.stdout, /\nDigest: sha256:[0-9a-f]{64}\n/);
        assert.ok(
          pull.stdout.includes(`Status: Downloaded newer image for ${image}\n`),
          pull.stdout,
        );
        assert.equal(
          await docker.out("run", "--rm", image, "echo", "pulled by docker"),
          "pulled by docker\n",
        );
        const again = await docker.ok("pull", image);
        assert.match(again, /Status: Image is up to date for /);

        await docker.ok("tag", image, `${reg.host}/cli/pushed:2`);
        const push = await docker.run("push", `${reg.host}/cli/pushed:2`);
        assert.equal(push.code, 0, push.stderr);
        assert.match(push.stdout, /2: digest: sha256:[0-9a-f]{64} size: \d+/);

        await docker.ok("logout", reg.host);
        await docker.ok("rmi", image);
        const denied = await docker.run("pull", image);
        assert.notEqual(denied.code, 0);
        assert.match(denied.stderr, /pull access denied|unauthorized/);
      });
    } finally {
      await reg.stop();
    }
  },
);
