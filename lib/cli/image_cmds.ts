/**
 * The image commands: `image ls` (and `images`), `image import`, `load`,
 * `save` and `tag` (under `image` and at the top), `image busybox` and
 * `image rm`. Pull and push are in registry_cmds.ts.
 * @module
 */
import type { Command } from "./args.ts";
import { errorMessage, invalid } from "../errdefs/mod.ts";
import { type Api, enc, type Opts } from "./command.ts";
import { ago, humanSize, printRows } from "./output.ts";
import { collect, parseFilterFlags } from "./parse.ts";

/** Register `image` with its subcommands, and `images`, `load` and `save` at the top. */
export function addImageCommands(program: Command, api: Api): void {
  const images = program.command("image").description("manage images");
  // As Docker: `image ls` and `images` are one command with one set of flags.
  for (const ls of [images.command("ls"), program.command("images")]) {
    ls.description("list images")
      .option("-a, --all", "all images (corral keeps no intermediate images)")
      .option("-q, --quiet", "only ids")
      .option("-f, --filter <k=v>", "filter: dangling, label, reference, before, since", collect)
      .option("--no-trunc", "full ids")
      .option("--format <format>", "a Go template (`table …` for columns), or json")
      .action((o: Opts) => listImages(api, o));
  }
  images.command("import").description("import a rootfs (.tar, .tar.gz or directory) as an image")
    .argument("<source>").argument("<name>")
    .action((source: string, name: string) => importImage(api, source, name));
  // load, save and tag, as Docker has them: under `image` and at the top.
  for (const parent of [program, images]) {
    addArchiveCommands(parent, api);
    parent.command("tag").description("add a name to an image (e.g. a registry name to push)")
      .argument("<source>").argument("<target>")
      .action(async (source: string, target: string) => {
        const colon = target.lastIndexOf(":");
        const hasTag = colon > target.lastIndexOf("/");
        const q = `repo=${enc(hasTag ? target.slice(0, colon) : target)}` +
          (hasTag ? `&tag=${enc(target.slice(colon + 1))}` : "");
        await api().call("POST", `/images/${enc(source)}/tag?${q}`);
      });
  }
  images.command("busybox").description("build the minimal image from the host's static busybox")
    .argument("[name]", "image name", "busybox:latest")
    .action(async (name: string) => {
      const res = await api().json<{ Id: string }>("POST", "/corral/images/busybox", {
        Name: name,
      });
      console.log(res.Id);
    });
  images.command("rm").description("remove images").option(
    "-f, --force",
    "even if containers use it",
  )
    .argument("<image...>")
    .action(async (refs: string[], o: Opts) => {
      for (const r of refs) {
        const res = await api().json<{ Untagged?: string; Deleted?: string }[]>(
          "DELETE",
          `/images/${enc(r)}${o.force ? "?force=1" : ""}`,
        );
        for (const x of res) {
          console.log(x.Untagged ? `Untagged: ${x.Untagged}` : `Deleted: ${x.Deleted}`);
        }
      }
    });
}

/** `docker images`' table: a row per tag. */
/** `images`' columns by the names its templates use, and their headers. */
const IMAGE_HEADERS: Record<string, unknown> = {
  Repository: "REPOSITORY",
  Tag: "TAG",
  ID: "IMAGE ID",
  Digest: "DIGEST",
  CreatedSince: "CREATED",
  CreatedAt: "CREATED AT",
  Size: "SIZE",
};

/** `images` without `--format`, as docker images shows it. */
const IMAGE_TABLE = "table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}";

interface ImageSummary {
  Id: string;
  RepoTags: string[];
  RepoDigests?: string[];
  Created: number;
  Size: number;
}

/** One row per name of each image (`<none>` for an untagged one), as the docker CLI lists them. */
function imageRows(list: ImageSummary[], full: boolean): Record<string, unknown>[] {
  return list.flatMap((i) =>
    (i.RepoTags.length ? i.RepoTags : ["<none>:<none>"]).map((t) => {
      const k = t.lastIndexOf(":");
      const repo = t.slice(0, k);
      const digest = i.RepoDigests?.find((d) => d.startsWith(`${repo}@`));
      return {
        Repository: repo,
        Tag: t.slice(k + 1),
        ID: full ? i.Id : i.Id.replace("sha256:", "").slice(0, 12),
        Digest: digest ? digest.slice(repo.length + 1) : "<none>",
        CreatedSince: ago(i.Created),
        CreatedAt: new Date(i.Created * 1000).toISOString(),
        Size: humanSize(i.Size),
      };
    })
  );
}

async function listImages(api: Api, o: Opts): Promise<void> {
  const filters = parseFilterFlags(o.filter as string[] | undefined);
  const list = await api().json<ImageSummary[]>(
    "GET",
    `/images/json?filters=${enc(JSON.stringify(filters))}`,
  );
  // `--no-trunc` is the negation of a `trunc` flag, as the parser reads `--no-X`.
  const rows = imageRows(list, o.trunc === false);
  // Each image once, as docker images -q.
  if (o.quiet) return [...new Set(rows.map((r) => r.ID))].forEach((id) => console.log(id));
  if (o.format === "json") return list.forEach((i) => console.log(JSON.stringify(i)));
  printRows(rows, o.format ? String(o.format) : IMAGE_TABLE, IMAGE_HEADERS, IMAGE_TABLE);
}

/** A directory is imported by path, a file by its content. */
async function importImage(api: Api, source: string, name: string): Promise<void> {
  // Resolved here: the daemon's working directory is not the caller's.
  let info: Deno.FileInfo;
  try {
    info = await Deno.stat(source);
  } catch (err) {
    throw invalid(`cannot read ${source}: ${errorMessage(err)}`);
  }
  if (info.isDirectory) {
    const body = { Source: await Deno.realPath(source), Name: name };
    console.log((await api().json<{ Id: string }>("POST", "/corral/images/import", body)).Id);
    return;
  }
  // A file's content is sent: it is read with the caller's rights, not the daemon's.
  const path = `/images/create?fromSrc=-&repo=${enc(name)}`;
  const res = await api().json<{ status: string }>("POST", path, await openInput(source));
  console.log(res.status);
}

/** Register `load` and `save` under `parent`. */
function addArchiveCommands(parent: Command, api: Api): void {
  parent.command("load").description("load images from a docker save or OCI archive")
    .option("-i, --input <file>", "read the archive from a file (default: standard input)")
    .action(async (o: Opts) => {
      if (!o.input && Deno.stdin.isTerminal()) {
        throw invalid("no archive to load: use -i FILE or redirect standard input");
      }
      const input = o.input ? await openInput(String(o.input)) : Deno.stdin.readable;
      const res = await api().call("POST", "/images/load", input);
      for (const line of (await res.text()).split("\n").filter(Boolean)) {
        const msg = JSON.parse(line) as { stream?: string };
        if (msg.stream) Deno.stdout.writeSync(new TextEncoder().encode(msg.stream));
      }
    });
  parent.command("save").description("write images to a docker save archive")
    .option("-o, --output <file>", "write to a file (default: standard output)")
    .argument("<image...>")
    .action(async (refs: string[], o: Opts) => {
      if (!o.output && Deno.stdout.isTerminal()) {
        throw invalid("refusing to write an archive to a terminal: use -o FILE or redirect");
      }
      const q = refs.map((r) => `names=${enc(r)}`).join("&");
      const res = await api().call("GET", `/images/get?${q}`);
      await saveOutput(res.body!, o.output ? String(o.output) : null);
    });
}

/** An archive to load, or one clear error when it cannot be read. */
async function openInput(path: string): Promise<ReadableStream<Uint8Array>> {
  try {
    return (await Deno.open(path)).readable;
  } catch (err) {
    throw invalid(`cannot read ${path}: ${errorMessage(err)}`);
  }
}

/**
 * Write a saved archive to `path` (all of it, then renamed into place, so a
 * failed save leaves no partial file) or to standard output.
 */
async function saveOutput(body: ReadableStream<Uint8Array>, path: string | null): Promise<void> {
  if (path === null) return await body.pipeTo(Deno.stdout.writable, { preventClose: true });
  const temp = `${path}.corral-partial`;
  try {
    await Deno.writeFile(temp, body);
    await Deno.rename(temp, path);
  } catch (err) {
    await Deno.remove(temp).catch(() => {});
    throw invalid(`cannot write ${path}: ${errorMessage(err)}`);
  }
}
