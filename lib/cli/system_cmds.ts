/**
 * What is not about one container or image: `corral gc` and `corral version`.
 * @module
 */
import type { Command } from "./args.ts";
import { CORRAL_VERSION } from "../api/mod.ts";
import { errorMessage } from "../errdefs/mod.ts";
import type { Api } from "./command.ts";
import { printTable } from "./output.ts";

/** Register `gc`: the containers whose cleanup is being retried. */
export function addGcCommand(program: Command, api: Api): void {
  program.command("gc").description("list containers whose cleanup is being retried")
    .action(async () => {
      const list = await api().json<{ id: string; tries: number; lastError: string }[]>(
        "GET",
        "/corral/gc",
      );
      printTable(
        ["CONTAINER ID", "TRIES", "LAST ERROR"],
        list.map((e) => [e.id.slice(0, 12), String(e.tries), e.lastError]),
      );
    });
}

/** Register `version`: the client's, and the daemon's when it answers. */
export function addVersionCommand(program: Command, api: Api): void {
  program.command("version").description("client and daemon versions").action(async () => {
    console.log(`Client: corral ${CORRAL_VERSION} (deno ${Deno.version.deno})`);
    try {
      const v = await api().json<{ Version: string; ApiVersion: string }>("GET", "/version");
      console.log(`Server: corral ${v.Version} (API ${v.ApiVersion})`);
    } catch (err) {
      console.log(`Server: ${errorMessage(err)}`);
    }
  });
}
