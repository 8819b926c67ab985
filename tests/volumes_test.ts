/**
 * Volumes on real runc containers: a database-like container's data in a
 * named volume survives rm, a daemon SIGKILL and a host reboot; anonymous
 * volumes go with --rm and rm -v; copy-up from the image (and nocopy), also
 * across a daemon killed in the middle of it; tmpfs and bind-backed volumes
 * mounted at start and unmounted at exit; prune; bad input changes nothing.
 */
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { mountsUnder } from "../lib/sys/mod.ts";
import { integration, simulateReboot, type TestDaemon, withDaemon } from "./harness.ts";

/** The volumes' names (`volume ls -q`), sorted. */
async function volumeNames(d: TestDaemon, ...filters: string[]): Promise<string[]> {
  const out = await d.ok("volume", "ls", "-q", ...filters.flatMap((f) => ["-f", f]));
  return out ? out.split("\n").sort() : [];
}

/** What is in ROOT/volumes (volume dirs and leftovers), sorted. */
function volumeDirs(d: TestDaemon): string[] {
  try {
    return [...Deno.readDirSync(join(d.root, "volumes"))].map((e) => e.name).sort();
  } catch {
    return [];
  }
}

const dataOf = (d: TestDaemon, name: string) => join(d.root, "volumes", name, "_data");

/**
 * Import an image whose `/data` holds `files` (name → content) and is a
 * `VOLUME`: the host's static busybox and the files, through `docker import`'s
 * API with `--change`.
 */
async function importVolumeImage(
  d: TestDaemon,
  repo: string,
  files: Record<string, string>,
): Promise<void> {
  const dir = await Deno.makeTempDir({ dir: d.dir, prefix: "img-" });
  await Deno.mkdir(join(dir, "bin"));
  await Deno.copyFile("/bin/busybox", join(dir, "bin", "busybox"));
  for (const applet of ["sh", "cat", "ls", "wc", "echo", "sleep", "stat", "touch", "true"]) {
    await Deno.symlink("busybox", join(dir, "bin", applet));
  }
  await Deno.mkdir(join(dir, "data"), { mode: 0o750 });
  await Deno.chmod(join(dir, "data"), 0o750);
  await Deno.chown(join(dir, "data"), 1000, 1000);
  for (const [name, text] of Object.entries(files)) {
    await Deno.mkdir(join(dir, "data", name, ".."), { recursive: true });
    await Deno.writeTextFile(join(dir, "data", name), text);
  }
  const tar = await new Deno.Command("tar", { args: ["-C", dir, "-cf", "-", "."] }).output();
  assert.equal(tar.code, 0);
  const changes = ["VOLUME /data", 'CMD ["/bin/sh"]', "ENV PATH=/bin"]
    .map((c) => `changes=${encodeURIComponent(c)}`).join("&");
  await d.api.json(
    "POST",
    `/images/create?fromSrc=-&repo=${repo}&tag=latest&${changes}`,
    tar.stdout,
  );
  await Deno.remove(dir, { recursive: true });
}

Deno.test(
  "a database's named volume keeps its data across rm, a new container, a daemon SIGKILL and a host reboot",
  integration,
  () =>
    withDaemon(async (d) => {
      const db = await d.ok(
        "run",
        "-d",
        "--name",
        "db",
        "-v",
        "dbdata:/var/lib/db",
        "busybox",
        "sh",
        "-c",
        "echo row1 >> /var/lib/db/table; sleep 600",
      );
      await d.until(async () =>
        (await d.cli("exec", "db", "cat", "/var/lib/db/table")).stdout === "row1\n"
      );
      // Created on first use, shown in Docker's shape.
      assert.deepEqual(await volumeNames(d), ["dbdata"]);
      assert.deepEqual((await d.inspect("db")).Mounts, [{
        Type: "volume",
        Name: "dbdata",
        Source: dataOf(d, "dbdata"),
        Destination: "/var/lib/db",
        Driver: "local",
        Mode: "z",
        RW: true,
        Propagation: "",
      }]);
      const inUse = await d.cli("volume", "rm", "dbdata");
      assert.equal(inUse.code, 1);
      assert.equal(inUse.stderr, `corral: remove dbdata: volume is in use - [${db}]\n`);

      // A crash of the daemon: the running database keeps its volume.
      await d.kill9();
      await d.start();
      await d.ok("exec", "db", "sh", "-c", "echo row2 >> /var/lib/db/table");
      await d.ok("rm", "-f", "db");
      // A stopped container holds it too.
      await d.ok(
        "run",
        "--name",
        "writer",
        "-v",
        "dbdata:/var/lib/db",
        "busybox",
        "sh",
        "-c",
        "echo row3 >> /var/lib/db/table",
      );
      assert.match((await d.cli("volume", "rm", "dbdata")).stderr, /volume is in use/);
      await d.ok("rm", "writer");
      assert.equal(
        await d.ok("run", "--rm", "-v", "dbdata:/d:ro", "busybox", "cat", "/d/table"),
        "row1\nrow2\nrow3",
      );

      // A host reboot: the state dir is gone, the root (and the volume) stays.
      const db2 = await d.ok(
        "run",
        "-d",
        "--name",
        "db2",
        "-v",
        "dbdata:/var/lib/db",
        "busybox",
        "sleep",
        "600",
      );
      await simulateReboot(d, [db2]);
      await d.start();
      assert.equal(
        await d.ok("run", "--rm", "-v", "dbdata:/d", "busybox", "cat", "/d/table"),
        "row1\nrow2\nrow3",
      );
      const ro = await d.cli("run", "--rm", "-v", "dbdata:/d:ro", "busybox", "touch", "/d/x");
      assert.notEqual(ro.code, 0, "a read-only volume cannot be written");
      await d.ok("rm", "db2");
      assert.equal(await d.ok("volume", "rm", "dbdata"), "dbdata");
      assert.deepEqual(volumeDirs(d), []);
      assert.deepEqual(await volumeNames(d), []);
    }),
);

Deno.test(
  "anonymous volumes go with --rm and rm -v, named ones stay; prune takes unused anonymous ones (all with -a)",
  integration,
  () =>
    withDaemon(async (d) => {
      assert.equal(
        await d.ok(
          "run",
          "--rm",
          "-v",
          "/scratch",
          "-v",
          "keep:/keep",
          "busybox",
          "sh",
          "-c",
          "echo x > /scratch/f; echo k > /keep/f",
        ),
        "",
      );
      assert.deepEqual(
        await volumeNames(d),
        ["keep"],
        "--rm took the anonymous volume, not the named one",
      );

      await d.ok("run", "--name", "a", "-v", "/scratch", "-v", "keep:/keep", "busybox", "true");
      await d.ok("run", "--name", "b", "-v", "/scratch", "busybox", "true");
      const anonOf = async (ref: string) =>
        ((await d.inspect(ref)).Mounts as { Name: string; Destination: string }[])
          .find((m) => m.Destination === "/scratch")!.Name;
      const anonA = await anonOf("a");
      const anonB = await anonOf("b");
      assert.match(anonA, /^[0-9a-f]{64}$/);
      assert.deepEqual(await volumeNames(d), [anonA, anonB, "keep"].sort());
      assert.deepEqual(await volumeNames(d, "dangling=true"), []);
      await d.ok("rm", "a");
      assert.deepEqual(await volumeNames(d, "dangling=true"), [anonA, "keep"].sort());
      await d.ok("rm", "-v", "b");
      assert.deepEqual(
        await volumeNames(d),
        [anonA, "keep"].sort(),
        "rm -v took b's anonymous volume",
      );

      // Docker 23+: prune takes unused anonymous volumes; -a the named ones too.
      await d.ok("volume", "create", "--label", "tier=cache", "named2");
      const pruned = await d.ok("volume", "prune", "-f");
      assert.match(pruned, new RegExp(`Deleted Volumes:\\n${anonA}\\n`));
      assert.deepEqual(await volumeNames(d), ["keep", "named2"]);
      await d.ok("run", "--name", "user", "-v", "keep:/keep", "busybox", "true");
      await d.ok("volume", "prune", "-a", "-f", "--filter", "label=tier=cache");
      assert.deepEqual(await volumeNames(d), ["keep"], "the label filter holds");
      await d.ok("volume", "prune", "-a", "-f");
      assert.deepEqual(await volumeNames(d), ["keep"], "a volume in use is never pruned");
      // Container prune leaves volumes, as Docker's does.
      const cp = await d.api.json<{ ContainersDeleted: string[] }>("POST", "/containers/prune");
      assert.equal(cp.ContainersDeleted.length, 1);
      assert.deepEqual(await volumeNames(d), ["keep"]);
      // Before API 1.42 a prune takes every unused volume.
      const old = await d.api.json<{ VolumesDeleted: string[] }>("POST", "/../v1.41/volumes/prune");
      assert.deepEqual(old.VolumesDeleted, ["keep"]);
      assert.deepEqual(volumeDirs(d), []);
    }),
);

Deno.test(
  "copy-up fills a new volume from the image (VOLUME entries too), never a non-empty one; nocopy copies nothing",
  integration,
  () =>
    withDaemon(async (d) => {
      await importVolumeImage(d, "volimg", { "seed.txt": "seed", "sub/deep.txt": "deep" });
      // The VOLUME survives save and load (docker save format).
      const archive = join(d.dir, "volimg.tar");
      await d.ok("save", "-o", archive, "volimg");
      await d.ok("image", "rm", "volimg");
      await d.ok("load", "-i", archive);
      assert.deepEqual(
        (await d.api.json<{ Config: { Volumes: unknown } }>("GET", "/images/volimg/json")).Config
          .Volumes,
        { "/data": {} },
      );
      assert.equal(
        await d.ok(
          "run",
          "--rm",
          "-v",
          "cu:/data",
          "volimg",
          "cat",
          "/data/seed.txt",
          "/data/sub/deep.txt",
        ),
        "seeddeep",
      );
      assert.equal(await Deno.readTextFile(join(dataOf(d, "cu"), "sub", "deep.txt")), "deep");
      const st = await Deno.stat(dataOf(d, "cu"));
      assert.equal(st.mode! & 0o7777, 0o750, "the volume takes the image directory's mode");
      assert.equal(st.uid, 1000, "and its owner");
      assert.equal(existsSync(join(dataOf(d, "cu"), ".corral-copy-up")), false);
      // Not empty: nothing is copied again.
      await d.ok("run", "--rm", "-v", "cu:/data", "volimg", "sh", "-c", "rm /data/seed.txt");
      assert.equal(await d.ok("run", "--rm", "-v", "cu:/data", "volimg", "ls", "/data"), "sub");

      assert.equal(
        await d.ok("run", "--rm", "-v", "nc:/data:nocopy", "volimg", "ls", "-A", "/data"),
        "",
      );
      assert.equal(
        await d.ok(
          "run",
          "--rm",
          "--mount",
          "type=volume,src=nc2,dst=/data,volume-nocopy",
          "volimg",
          "ls",
          "-A",
          "/data",
        ),
        "",
      );

      // The image's VOLUME: an anonymous volume, filled from the image, gone with rm -v.
      await d.ok("run", "--name", "anon", "volimg", "cat", "/data/seed.txt");
      const [m] = (await d.inspect("anon")).Mounts as {
        Type: string;
        Name: string;
        Destination: string;
      }[];
      assert.equal(m.Type, "volume");
      assert.equal(m.Destination, "/data");
      assert.equal(await Deno.readTextFile(join(dataOf(d, m.Name), "seed.txt")), "seed");
      // A bind over the VOLUME path wins: no anonymous volume.
      await Deno.mkdir(join(d.dir, "host"));
      await d.ok("run", "--rm", "-v", `${join(d.dir, "host")}:/data`, "volimg", "true");
      await d.ok("rm", "-v", "anon");
      assert.deepEqual(await volumeNames(d), ["cu", "nc", "nc2"]);
    }),
);

Deno.test(
  "a daemon killed during copy-up leaves the volume empty or complete; the next start finishes it",
  integration,
  () =>
    withDaemon(async (d) => {
      const files: Record<string, string> = {};
      for (let i = 0; i < 1000; i++) files[`f${i}`] = `${i}`;
      await importVolumeImage(d, "bigimg", files);
      const states = new Set<string>();
      const count = (dir: string) => {
        try {
          return [...Deno.readDirSync(dir)].length;
        } catch {
          return 0;
        }
      };
      const marked = (name: string) =>
        Deno.readTextFileSync(join(d.root, "volumes", name, "volume.json")).includes("moving");
      // Killed as the copy begins, halfway through it, and while it is moved in.
      const moments: [string, (name: string, tmp: string) => boolean][] = [
        ["begun", (_n, tmp) => existsSync(tmp)],
        ["half copied", (_n, tmp) => count(tmp) >= 500],
        ["moving in", (name) => marked(name)],
      ];
      for (const [round, [moment, reached]] of moments.entries()) {
        const name = `crash${round}`;
        await d.ok("create", "--name", name, "-v", `${name}:/data`, "bigimg", "sleep", "600");
        const start = d.cli("start", name);
        const tmp = join(dataOf(d, name), ".corral-copy-up");
        await d.until(() => reached(name, tmp), 20_000, `the copy-up ${moment}`);
        await d.kill9();
        await start;
        // What the crash left: empty (but the partial copy), or a complete copy marked to be moved in.
        const data = dataOf(d, name);
        const entries = [...Deno.readDirSync(data)].map((e) => e.name);
        const meta = JSON.parse(
          await Deno.readTextFile(join(d.root, "volumes", name, "volume.json")),
        );
        const moved = entries.filter((e) => e !== ".corral-copy-up").length;
        states.add(meta.CopyUp === "moving" ? "moving" : moved === 0 ? "empty" : "complete");
        if (meta.CopyUp === "moving") {
          const copied = [...Deno.readDirSync(join(data, ".corral-copy-up"))].length;
          assert.equal(moved + copied, 1000, `round ${round}: a complete copy being moved in`);
        } else {
          assert.ok(moved === 0 || moved === 1000, `round ${round}: ${moved} entries, not marked`);
          if (moved === 1000) assert.equal(entries.includes(".corral-copy-up"), false);
        }
        await d.start();
        if ((await d.status(name)) !== "running") await d.ok("start", name);
        assert.equal(await d.ok("exec", name, "sh", "-c", "ls /data | wc -l"), "1000");
        assert.equal(await d.ok("exec", name, "cat", "/data/f999"), "999");
        assert.equal(existsSync(join(data, ".corral-copy-up")), false);
        await d.ok("rm", "-f", name);
      }
      assert.deepEqual([...states].sort(), ["empty", "moving"], "both crash points were hit");
    }),
);

Deno.test(
  "tmpfs and bind-backed volumes are mounted while a container uses them and unmounted after, crash or not",
  integration,
  () =>
    withDaemon(async (d) => {
      const hostDir = join(d.dir, "hostdir");
      await Deno.mkdir(hostDir);
      await d.ok(
        "volume",
        "create",
        "-o",
        "type=tmpfs",
        "-o",
        "device=tmpfs",
        "-o",
        "o=size=1m",
        "tv",
      );
      await d.ok(
        "volume",
        "create",
        "-o",
        "type=none",
        "-o",
        "o=bind",
        "-o",
        `device=${hostDir}`,
        "bv",
      );
      const vinfo = JSON.parse(await d.ok("volume", "inspect", "tv"))[0];
      assert.deepEqual(vinfo.Options, { type: "tmpfs", device: "tmpfs", o: "size=1m" });
      const volumeMounts = () => mountsUnder(join(d.root, "volumes")).sort();
      assert.deepEqual(volumeMounts(), [], "nothing mounted before a container uses them");

      await d.ok(
        "run",
        "-d",
        "--name",
        "c1",
        "-v",
        "tv:/t",
        "-v",
        "bv:/b",
        "busybox",
        "sh",
        "-c",
        "echo hi > /t/x; echo hb > /b/y; sleep 600",
      );
      await d.until(() => existsSync(join(hostDir, "y")));
      assert.deepEqual(volumeMounts(), [dataOf(d, "bv"), dataOf(d, "tv")].sort());
      // Shared by two containers at once, as Docker's tmpfs volume is.
      await d.ok("run", "-d", "--name", "c2", "-v", "tv:/t", "busybox", "sleep", "600");
      await d.until(async () => (await d.cli("exec", "c2", "cat", "/t/x")).stdout === "hi\n");
      const full = await d.cli(
        "exec",
        "c2",
        "sh",
        "-c",
        "dd if=/dev/zero of=/t/big bs=1k count=2048",
      );
      assert.notEqual(full.code, 0, "the tmpfs is 1m");
      await d.ok("stop", "-t", "0", "c1");
      assert.deepEqual(volumeMounts(), [dataOf(d, "tv")], "c2 still holds the tmpfs");
      // The daemon crashes while c2 holds it: restore finds c2 again from its record.
      await d.kill9();
      await d.start();
      await d.ok("stop", "-t", "0", "c2");
      assert.deepEqual(volumeMounts(), [], "released by the last user's cleanup");
      assert.equal(await Deno.readTextFile(join(hostDir, "y")), "hb\n");
      // Churn: no mount is left behind.
      for (let i = 0; i < 5; i++) {
        await d.ok("run", "--rm", "-v", "tv:/t", "-v", "bv:/b", "busybox", "ls", "/b");
      }
      assert.deepEqual(volumeMounts(), []);
      await d.ok("rm", "c1", "c2");
      await d.ok("volume", "rm", "bv", "tv");
      assert.equal(
        await Deno.readTextFile(join(hostDir, "y")),
        "hb\n",
        "rm of a bind-backed volume keeps the host's data",
      );
    }),
);

Deno.test(
  "a volume mount that cannot be unmounted puts the container in the gc until its holder goes",
  integration,
  () =>
    withDaemon(async (d) => {
      await d.ok("volume", "create", "-o", "type=tmpfs", "-o", "device=tmpfs", "busyvol");
      await d.ok("run", "-d", "--name", "held", "-v", "busyvol:/v", "busybox", "sleep", "600");
      const data = dataOf(d, "busyvol");
      await d.until(() => mountsUnder(data).length === 1, 5000, "the tmpfs mounted");
      // A host process whose cwd is in the volume: its unmount is EBUSY.
      const holder = new Deno.Command("sleep", { args: ["600"], cwd: data, stdin: "null" }).spawn();
      await d.ok("stop", "-t", "0", "held");
      const info = await d.inspect("held");
      assert.equal(info.State.Status, "gc");
      assert.match(info.State.GC?.LastError ?? "", /volume busyvol: umount2 .*EBUSY/);
      assert.match((await d.cli("rm", "held")).stderr, /is being cleaned up \(gc\)/);
      assert.match((await d.cli("volume", "rm", "busyvol")).stderr, /volume is in use/);
      holder.kill("SIGKILL");
      await holder.status;
      await d.untilStatus("held", "exited");
      assert.deepEqual(mountsUnder(data), [], "the gc unmounted it");
      await d.ok("rm", "held");
      await d.ok("volume", "rm", "busyvol");
    }),
);

Deno.test(
  "--volumes-from mounts another container's volumes; system df shows volumes with their users",
  integration,
  () =>
    withDaemon(async (d) => {
      await d.ok(
        "run",
        "--name",
        "src",
        "-v",
        "shared:/s",
        "-v",
        "/anon",
        "busybox",
        "sh",
        "-c",
        "echo s > /s/f; echo a > /anon/f",
      );
      assert.equal(
        await d.ok("run", "--rm", "--volumes-from", "src", "busybox", "cat", "/s/f", "/anon/f"),
        "s\na",
      );
      const ro = await d.cli("run", "--rm", "--volumes-from", "src:ro", "busybox", "touch", "/s/g");
      assert.notEqual(ro.code, 0);
      await d.ok("run", "--name", "user2", "--volumes-from", "src", "busybox", "true");
      const anon = ((await d.inspect("src")).Mounts as { Name: string; Destination: string }[])
        .find((m) => m.Destination === "/anon")!.Name;
      const df = await d.api.json<
        { Volumes: { Name: string; UsageData: { RefCount: number; Size: number } }[] }
      >("GET", "/system/df");
      const shared = df.Volumes.find((v) => v.Name === "shared")!;
      assert.equal(shared.UsageData.RefCount, 2);
      assert.equal(shared.UsageData.Size, 2);
      // rm -v leaves an anonymous volume another container still mounts.
      await d.ok("rm", "-v", "src");
      assert.ok((await volumeNames(d)).includes(anon));
      await d.ok("rm", "-v", "user2");
      assert.deepEqual(await volumeNames(d), [anon, "shared"].sort(), "user2 did not own it");
    }),
);

Deno.test(
  "bad volume input is a 4xx with one line and changes nothing",
  integration,
  () =>
    withDaemon(async (d) => {
      await Deno.mkdir(join(d.dir, "outside"));
      await Deno.writeTextFile(join(d.dir, "outside", "keep"), "keep");
      const bad: [string[], RegExp][] = [
        [["volume", "create", "../x"], /includes invalid characters for a local volume name/],
        [["volume", "create", "a/b"], /includes invalid characters/],
        [["volume", "create", "-d", "nfs", "v1"], /plugin "nfs" not found/],
        [
          ["volume", "create", "-o", "type=ext4", "-o", "device=/dev/sda", "v1"],
          /type "ext4" is not supported/,
        ],
        [
          ["volume", "create", "-o", "type=tmpfs", "-o", "o=bogus", "v1"],
          /invalid option for type=tmpfs: "bogus"/,
        ],
        [
          ["volume", "create", "-o", "type=none", "-o", "o=bind", "-o", "device=rel", "v1"],
          /absolute path/,
        ],
        [
          [
            "volume",
            "create",
            "-o",
            "type=none",
            "-o",
            "o=bind",
            "-o",
            "device=/nonexistent",
            "v1",
          ],
          /no such directory/,
        ],
        [["volume", "create", "-o", "colour=red", "v1"], /invalid option key: "colour"/],
        [["volume", "inspect", "nope"], /get nope: no such volume/],
        [["volume", "rm", "nope"], /get nope: no such volume/],
        [["run", "--rm", "-v", "../x:/d", "busybox", "true"], /includes invalid characters/],
        [["run", "--rm", "-v", "v1:/d:bogus", "busybox", "true"], /invalid volume mode "bogus"/],
        [["run", "--rm", "-v", "v1:/", "busybox", "true"], /destination can't be '\/'/],
        [
          ["run", "--rm", "--mount", "type=volume,src=../../etc,dst=/d", "busybox", "true"],
          /invalid characters/,
        ],
        [[
          "run",
          "--rm",
          "--mount",
          "type=volume,src=v1,dst=/d,volume-opt=type=ext4",
          "busybox",
          "true",
        ], /type "ext4" is not supported/],
        [
          ["run", "--rm", "-v", "v1:/d", "-v", "v2:/d", "busybox", "true"],
          /Duplicate mount point: \/d/,
        ],
        [
          ["run", "--rm", "--volumes-from", "nosuch", "busybox", "true"],
          /No such container: nosuch/,
        ],
      ];
      for (const [args, message] of bad) {
        const r = await d.cli(...args);
        assert.equal(r.code, 1, args.join(" "));
        assert.match(r.stderr, message, args.join(" "));
        assert.equal(r.stderr.split("\n").length, 2, `one line: ${r.stderr}`);
      }
      const res = await d.api.request("DELETE", "/volumes/..%2F..%2Fouter");
      assert.equal(res.status, 404);
      await res.body?.cancel();
      const traversal = await d.api.request("POST", "/volumes/create", { Name: "../../outside" });
      assert.equal(traversal.status, 400);
      assert.match((await traversal.json()).message, /invalid characters/);
      assert.deepEqual(volumeDirs(d), [], "nothing was created");
      assert.deepEqual(await volumeNames(d), []);
      assert.equal(await d.ok("ps", "-a", "-q"), "");
      assert.equal(await Deno.readTextFile(join(d.dir, "outside", "keep")), "keep");
      // rm -f of a missing volume is no error, as in Docker.
      assert.equal((await d.cli("volume", "rm", "-f", "nope")).code, 0);
    }),
);
