/**
 * `corral exec`: run a command in a running container, its output on ours
 * and its exit code as ours.
 * @module
 */
import type { Command } from "./args.ts";
import { type Api, enc, ExitCode, type Opts } from "./command.ts";
import { pumpFrames } from "./output.ts";
import { collect } from "./parse.ts";

/** Register `exec`. */
export function addExecCommand(program: Command, api: Api): void {
  program.command("exec").description("run a command in a running container")
    .option("-e, --env <KEY=VALUE>", "environment variable (repeatable)", collect)
    .option("-w, --workdir <dir>", "working directory")
    .option("-u, --user <user>", "user[:group]")
    .argument("<container>").argument("<command...>")
    .passThroughOptions()
    .action(async (ref: string, command: string[], o: Opts) => {
      const c = api();
      const { Id } = await c.json<{ Id: string }>("POST", `/containers/${enc(ref)}/exec`, {
        Cmd: command,
        Env: o.env ?? [],
        WorkingDir: o.workdir ?? "",
        User: o.user ?? "",
        AttachStdout: true,
        AttachStderr: true,
      });
      const res = await c.call("POST", `/exec/${Id}/start`, { Detach: false, Tty: false });
      await pumpFrames(res.body!);
      const inst = await c.json<{ ExitCode: number }>("GET", `/exec/${Id}/json`);
      throw new ExitCode(inst.ExitCode ?? 0);
    });
}
