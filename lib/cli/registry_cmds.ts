/**
 * The registry commands: `pull`, `push`, `login`, `logout` (under `image`
 * too for pull and push), and the pull `run` and `create` make for an image
 * that is missing. Credentials saved by `login` go with every pull and push
 * to that registry, as the docker CLI sends them (`X-Registry-Auth`).
 * @module
 */
import type { Command } from "./args.ts";
import type { ApiClient } from "../api/mod.ts";
import { errorMessage, invalid } from "../errdefs/mod.ts";
import { type Api, enc, type Opts } from "./command.ts";
import { CredentialFile } from "./credentials.ts";
import { renderProgress } from "./progress.ts";

/** Register `pull`, `push`, `login` and `logout` (pull and push under `image` too). */
export function addRegistryCommands(program: Command, api: Api): void {
  const image = program.commands.find((c) => c.name === "image");
  for (const parent of image ? [program, image] : [program]) {
    parent.command("pull").description("pull an image from a registry")
      .option("--platform <os/arch[/variant]>", "the platform of a multi-platform image")
      .option("-q, --quiet", "print only the image reference")
      .argument("<image>")
      .action(async (name: string, o: Opts) => {
        const out = o.quiet ? null : Deno.stdout;
        await pullImage(api(), name, o.platform as string | undefined, out);
        if (o.quiet) console.log(name);
      });
    parent.command("push").description("push an image to a registry")
      .argument("<image>")
      .action(async (name: string) => {
        const { remoteReference } = await import("../registry/mod.ts");
        const ref = remoteReference(name);
        const path = `/images/${enc(ref.name)}/push?tag=${enc(ref.tag ?? "")}`;
        const res = await api().call("POST", path, undefined, await authHeader(ref.registry));
        await renderProgress(res.body!, Deno.stdout, Deno.stdout.isTerminal());
      });
  }
  program.command("login").description("log in to a registry (docker.io when none is given)")
    .option("-u, --username <name>", "user name")
    .option("-p, --password <password>", "password (prefer --password-stdin)")
    .option("--password-stdin", "read the password from standard input")
    .argument("[server]")
    .action(async (server: string | undefined, o: Opts) => {
      const { normalizeServer } = await import("../registry/mod.ts");
      const registry = normalizeServer(server ?? "");
      if (!o.username) throw invalid("login: give a user name with -u");
      if (o.password !== undefined && o.passwordStdin) {
        throw invalid("--password and --password-stdin are mutually exclusive");
      }
      const password = o.passwordStdin
        ? (await new Response(Deno.stdin.readable).text()).replace(/\r?\n$/, "")
        : o.password as string | undefined;
      if (password === undefined) {
        throw invalid("login: give a password with -p or --password-stdin");
      }
      const creds = { username: String(o.username), password };
      const res = await api().json<{ Status: string }>("POST", "/auth", {
        ...creds,
        serveraddress: registry,
      });
      await new CredentialFile().save(registry, creds);
      console.log(res.Status);
    });
  program.command("logout").description("forget the credentials of a registry")
    .argument("[server]")
    .action(async (server: string | undefined) => {
      const { normalizeServer } = await import("../registry/mod.ts");
      const registry = normalizeServer(server ?? "");
      const removed = await new CredentialFile().remove(registry);
      console.log(
        removed ? `Removing login credentials for ${registry}` : `Not logged in to ${registry}`,
      );
    });
}

/**
 * Pull `name` through the daemon, drawing progress on `out` (none: quiet).
 *
 * @example
 * ```ts
 * import { ApiClient } from "../api/mod.ts";
 * await pullImage(new ApiClient("unix:///run/corral/corral.sock"), "busybox", undefined, Deno.stderr);
 * ```
 */
export async function pullImage(
  api: ApiClient,
  name: string,
  platform: string | undefined,
  out: (typeof Deno.stdout | typeof Deno.stderr) | null,
): Promise<void> {
  const { remoteReference } = await import("../registry/mod.ts");
  const ref = remoteReference(name);
  const q = new URLSearchParams({ fromImage: ref.name, tag: ref.digest ?? ref.tag ?? "" });
  if (platform) q.set("platform", platform);
  const res = await api.call(
    "POST",
    `/images/create?${q}`,
    undefined,
    await authHeader(ref.registry),
  );
  const sink = out ?? { writeSync: (p: Uint8Array) => p.length };
  await renderProgress(res.body!, sink, out?.isTerminal() ?? false);
}

/** The `X-Registry-Auth` header for `registry`, from the saved credentials. */
async function authHeader(registry: string): Promise<Record<string, string>> {
  let creds;
  try {
    creds = await new CredentialFile().get(registry);
  } catch (err) {
    throw invalid(`credentials: ${errorMessage(err)}`);
  }
  if (!creds) return {};
  const { encodeRegistryAuth } = await import("../registry/mod.ts");
  return { "x-registry-auth": encodeRegistryAuth(creds, registry) };
}
