/**
 * `corral exec`: run a command in a running container, its output on ours
 * and its exit code as ours.
 * @module
 */
import type { Command } from "commander";
import { type Api, enc, ExitCode, type Opts } from "./command.ts";
import { hijack, parseDetachKeys } from "../api/mod.ts";
import { pumpFrames } from "./output.ts";
import { runSession } from "./terminal.ts";
import { collect } from "./parse.ts";

/** Register `exec`. */
export function addExecCommand(program: Command, api: Api): void {
  program.command("exec").description("run a command in a running container")
    .option("-e, --env <KEY=VALUE>", "environment variable (repeatable)", collect)
    .option("-w, --workdir <dir>", "working directory")
    .option("-u, --user <user>", "user[:group]")
    .option("-i, --interactive", "send stdin to the command")
    .option("-t, --tty", "give the command a terminal")
    .option("--detach-keys <keys>", "keys that detach from the command (ctrl-p,ctrl-q)")
    .argument("<container>").argument("<command...>")
    .passThroughOptions()
    .action(async (ref: string, command: string[], o: Opts) => {
      const c = api();
      if (o.detachKeys !== undefined) parseDetachKeys(String(o.detachKeys));
      const { Id } = await c.json<{ Id: string }>("POST", `/containers/${enc(ref)}/exec`, {
        Cmd: command,
        Env: o.env ?? [],
        WorkingDir: o.workdir ?? "",
        User: o.user ?? "",
        AttachStdin: Boolean(o.interactive),
        AttachStdout: true,
        AttachStderr: true,
        Tty: Boolean(o.tty),
      });
      if (o.interactive || o.tty) {
        const keys = o.detachKeys ? `?detachKeys=${enc(String(o.detachKeys))}` : "";
        const h = await hijack(c.path, "POST", `/exec/${Id}/start${keys}`, {
          Detach: false,
          Tty: Boolean(o.tty),
        });
        const end = await runSession(c, h, {
          stdin: Boolean(o.interactive),
          tty: Boolean(o.tty),
          resizePath: o.tty ? `/exec/${Id}/resize` : undefined,
          detachKeys: o.detachKeys as string | undefined,
        });
        if (end.detached) return;
        const inst = await c.json<{ ExitCode: number }>("GET", `/exec/${Id}/json`);
        throw new ExitCode(inst.ExitCode ?? 0);
      }
      const res = await c.call("POST", `/exec/${Id}/start`, { Detach: false, Tty: false });
      await pumpFrames(res.body!);
      const inst = await c.json<{ ExitCode: number }>("GET", `/exec/${Id}/json`);
      throw new ExitCode(inst.ExitCode ?? 0);
    });
}
