/**
 * The docker CLI's volume commands through corral, unmodified: volume
 * create, ls (filters), inspect, rm (refused in use, -f), prune (-a), run -v
 * with named and anonymous volumes, --mount type=volume, rm -v, system df
 * and system prune --volumes.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { Docker, dockerTestOptions } from "./docker.ts";
import { withDaemon } from "./harness.ts";

Deno.test(
  "docker CLI: volume create/ls/inspect/rm/prune, run -v name and anonymous, --mount, rm -v, system df and prune",
  dockerTestOptions("tests/docker_volumes_test.ts"),
  () =>
    withDaemon(async (d) => {
      const docker = new Docker(d);
      assert.equal(await docker.ok("volume", "create", "--label", "app=db", "dbdata"), "dbdata");
      const generated = await docker.ok("volume", "create");
      assert.match(generated, /^[0-9a-f]{64}$/);
      assert.deepEqual(
        (await docker.lines("volume", "ls", "--format", "{{.Driver}} {{.Name}}")).sort(),
        [`local ${generated}`, "local dbdata"].sort(),
      );
      assert.deepEqual(await docker.lines("volume", "ls", "-q", "-f", "label=app=db"), ["dbdata"]);
      assert.deepEqual(await docker.lines("volume", "ls", "-q", "-f", "name=dbd"), ["dbdata"]);
      assert.equal(
        await docker.ok(
          "volume",
          "inspect",
          "--format",
          "{{.Mountpoint}} {{json .Labels}}",
          "dbdata",
        ),
        `${join(d.root, "volumes", "dbdata", "_data")} {"app":"db"}`,
      );

      await docker.ok(
        "run",
        "--rm",
        "-v",
        "dbdata:/data",
        "busybox",
        "sh",
        "-c",
        "echo hello > /data/f",
      );
      assert.equal(
        await docker.ok("run", "--rm", "-v", "dbdata:/data:ro", "busybox", "cat", "/data/f"),
        "hello",
      );
      await docker.ok(
        "run",
        "-d",
        "--name",
        "holder",
        "--mount",
        "type=volume,src=dbdata,dst=/d",
        "busybox",
        "sleep",
        "60",
      );
      assert.equal(
        await docker.ok(
          "inspect",
          "-f",
          "{{range .Mounts}}{{.Type}} {{.Name}} {{.Destination}} {{.Driver}} {{.RW}}{{end}}",
          "holder",
        ),
        "volume dbdata /d local true",
      );
      const inUse = await docker.run("volume", "rm", "dbdata");
      assert.equal(inUse.code, 1);
      assert.match(inUse.stderr, /remove dbdata: volume is in use - \[[0-9a-f]{64}\]/);
      assert.deepEqual(await docker.lines("volume", "ls", "-q", "-f", "dangling=true"), [
        generated,
      ]);
      assert.deepEqual(
        await docker.lines("system", "df", "--format", "{{.Type}} {{.TotalCount}} {{.Active}}"),
        ["Images 1 1", "Containers 1 1", "Local Volumes 2 1", "Build Cache 0 0"],
      );
      await docker.ok("rm", "-f", "holder");

      // Anonymous volumes: `-v /path` (the CLI sends it as Config.Volumes).
      await docker.ok("run", "--rm", "-v", "/cache", "busybox", "touch", "/cache/x");
      assert.equal((await docker.lines("volume", "ls", "-q")).length, 2, "--rm took its volume");
      await docker.ok("run", "--name", "anon", "-v", "/cache", "busybox", "true");
      const anon = await docker.ok("inspect", "-f", "{{range .Mounts}}{{.Name}}{{end}}", "anon");
      assert.match(anon, /^[0-9a-f]{64}$/);
      await docker.ok("rm", "-v", "anon");
      assert.equal(
        (await docker.lines("volume", "ls", "-q")).includes(anon),
        false,
        "rm -v took it",
      );
      await docker.ok("run", "--name", "left", "-v", "/cache", "busybox", "true");
      const left = await docker.ok("inspect", "-f", "{{range .Mounts}}{{.Name}}{{end}}", "left");
      await docker.ok("rm", "left");
      // Docker 23+: prune (and system prune --volumes) takes unused anonymous volumes only.
      const pruned = await docker.ok("system", "prune", "-f", "--volumes");
      assert.match(pruned, new RegExp(`Deleted Volumes:\\n${left}\\n`));
      assert.deepEqual(
        (await docker.lines("volume", "ls", "-q")).sort(),
        [generated, "dbdata"].sort(),
      );
      assert.match(await docker.ok("volume", "prune", "-f"), /Total reclaimed space: 0B/);
      const all = await docker.ok("volume", "prune", "-a", "-f");
      assert.match(all, /dbdata/);
      assert.match(all, /Total reclaimed space: 6B/);
      assert.deepEqual(await docker.lines("volume", "ls", "-q"), []);

      assert.equal((await docker.run("volume", "rm", "-f", "nosuch")).code, 0);
      const missing = await docker.run("volume", "inspect", "nosuch");
      assert.equal(missing.code, 1);
      assert.match(missing.stderr, /no such volume/);
      const bad = await docker.run("volume", "create", "../x");
      assert.equal(bad.code, 1);
      assert.match(bad.stderr, /includes invalid characters for a local volume name/);
      assert.deepEqual([...Deno.readDirSync(join(d.root, "volumes"))], []);
    }),
);
