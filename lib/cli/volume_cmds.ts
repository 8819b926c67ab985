/**
 * `corral volume create|ls|inspect|rm|prune`, as docker's volume commands.
 * @module
 */
import type { Command } from "./args.ts";
import { invalid } from "../errdefs/mod.ts";
import { type Api, enc, inspectEach, type Opts } from "./command.ts";
import { humanSize, printTable } from "./output.ts";
import { collect } from "./parse.ts";

/** `KEY=VALUE` flags (`-o`, `--label`) as an object; a bare key has an empty value. */
function keyValues(list: string[] | undefined, what: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const kv of list ?? []) {
    const i = kv.indexOf("=");
    if (i === 0) throw invalid(`invalid ${what} "${kv}": expected KEY=VALUE`);
    out[i < 0 ? kv : kv.slice(0, i)] = i < 0 ? "" : kv.slice(i + 1);
  }
  return out;
}

/** `-f KEY=VALUE` flags as Docker's `filters` query. */
function filtersQuery(list: string[] | undefined): string {
  const filters: Record<string, string[]> = {};
  for (const f of list ?? []) {
    const i = f.indexOf("=");
    if (i <= 0) throw invalid(`invalid filter "${f}": expected KEY=VALUE`);
    (filters[f.slice(0, i)] ??= []).push(f.slice(i + 1));
  }
  return Object.keys(filters).length ? `filters=${enc(JSON.stringify(filters))}` : "";
}

/** Register `volume` with its subcommands. */
export function addVolumeCommands(program: Command, api: Api): void {
  const volume = program.command("volume").description("manage volumes");
  volume.command("create").description("create a volume (a generated name when none is given)")
    .argument("[name]")
    .option("-d, --driver <driver>", "volume driver", "local")
    .option("-o, --opt <KEY=VALUE>", "driver option: type, o, device (repeatable)", collect)
    .option("--label <KEY=VALUE>", "label (repeatable)", collect)
    .action(async (name: string | undefined, o: Opts) => {
      const v = await api().json<{ Name: string }>("POST", "/volumes/create", {
        Name: name ?? "",
        Driver: o.driver,
        DriverOpts: keyValues(o.opt as string[] | undefined, "option"),
        Labels: keyValues(o.label as string[] | undefined, "label"),
      });
      console.log(v.Name);
    });
  volume.command("ls").description("list volumes")
    .option("-q, --quiet", "only names")
    .option("-f, --filter <KEY=VALUE>", "name, label, dangling, driver (repeatable)", collect)
    .action(async (o: Opts) => {
      const q = filtersQuery(o.filter as string[] | undefined);
      const { Volumes } = await api().json<{ Volumes: { Name: string; Driver: string }[] }>(
        "GET",
        `/volumes${q ? `?${q}` : ""}`,
      );
      if (o.quiet) return Volumes.forEach((v) => console.log(v.Name));
      printTable(["DRIVER", "VOLUME NAME"], Volumes.map((v) => [v.Driver, v.Name]));
    });
  volume.command("inspect").description("show volumes as JSON")
    .option("-s, --size", "with UsageData (bytes, containers using it)")
    .option("-f, --format <template>", "each volume through a Go template (or json)")
    .argument("<volume...>")
    .action((names: string[], o: Opts) =>
      inspectEach(
        api(),
        names.map((n) => `/volumes/${enc(n)}${o.size ? "?size=1" : ""}`),
        o.format as string,
      )
    );
  volume.command("rm").description("remove volumes no container uses")
    .option("-f, --force", "no error for a volume that does not exist")
    .argument("<volume...>")
    .action(async (names: string[], o: Opts) => {
      for (const n of names) {
        await api().call("DELETE", `/volumes/${enc(n)}${o.force ? "?force=1" : ""}`);
        console.log(n);
      }
    });
  volume.command("prune").description("remove unused anonymous volumes (all unused with -a)")
    .option("-a, --all", "named volumes too")
    .option("-f, --force", "do not ask (corral never asks)")
    .option("--filter <KEY=VALUE>", "label, label! (repeatable)", collect)
    .action(async (o: Opts) => {
      const filters = [
        ...((o.filter as string[] | undefined) ?? []),
        ...(o.all ? ["all=true"] : []),
      ];
      const q = filtersQuery(filters);
      const r = await api().json<{ VolumesDeleted: string[] | null; SpaceReclaimed: number }>(
        "POST",
        `/volumes/prune${q ? `?${q}` : ""}`,
      );
      const deleted = r.VolumesDeleted ?? [];
      if (deleted.length) console.log(["Deleted Volumes:", ...deleted, ""].join("\n"));
      console.log(`Total reclaimed space: ${humanSize(r.SpaceReclaimed)}`);
    });
}
