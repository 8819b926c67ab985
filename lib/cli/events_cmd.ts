/**
 * `corral events`: the daemon's events, as lines of text or JSON, until the
 * `--until` time or until interrupted.
 * @module
 */
import type { Command } from "./args.ts";
import { invalid, unavailable } from "../errdefs/mod.ts";
import { type Api, enc, type Opts } from "./command.ts";
import { collect, parseFilterFlags } from "./parse.ts";

/** Register `events`. */
export function addEventsCommand(program: Command, api: Api): void {
  program.command("events").description("stream events")
    .option("-f, --filter <k=v>", "container=, type=, event= (repeatable)", collect)
    .option("--since <time>", "show events since (unix seconds or RFC 3339)")
    .option("--until <time>", "stop at (unix seconds or RFC 3339)")
    .option("--format <format>", "json")
    .action(async (o: Opts) => {
      if (o.format !== undefined && o.format !== "json") {
        throw invalid(`unsupported format "${o.format}": only json`);
      }
      const filters = parseFilterFlags(o.filter as string[] | undefined);
      let q = `?filters=${enc(JSON.stringify(filters))}`;
      if (o.since) q += `&since=${enc(String(o.since))}`;
      if (o.until) q += `&until=${enc(String(o.until))}`;
      const res = await api().call("GET", `/events${q}`);
      const dec = new TextDecoder();
      let buf = "";
      for await (const chunk of res.body!) {
        buf += dec.decode(chunk, { stream: true });
        let nl;
        while ((nl = buf.indexOf("\n")) >= 0) {
          const line = buf.slice(0, nl);
          buf = buf.slice(nl + 1);
          const e = JSON.parse(line);
          // The daemon ends the stream with a message when it dropped this client.
          if (e.message) throw unavailable(e.message);
          console.log(o.format === "json" ? line : formatEvent(e));
        }
      }
    });
}

/** An event as one line: time, type, action, actor and its attributes. */
function formatEvent(
  e: {
    Type: string;
    Action: string;
    Actor: { ID: string; Attributes: Record<string, string> };
    timeNano: number;
  },
): string {
  const attrs = Object.entries(e.Actor.Attributes).map(([k, v]) => `${k}=${v}`).join(", ");
  const t = new Date(e.timeNano / 1e6).toISOString();
  return `${t} ${e.Type} ${e.Action} ${e.Actor.ID}${attrs ? ` (${attrs})` : ""}`;
}
