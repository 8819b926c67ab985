import assert from "node:assert/strict";
import { Command, Option, UsageError } from "./args.ts";
import { ExitCode } from "./command.ts";
import { collect, parseCount } from "./parse.ts";

/** A program with one command recording what its action got. */
function program() {
  const calls: unknown[][] = [];
  const p = new Command("corral").version("9.9", "--version", "print the version")
    .option("-H, --host <unix://PATH>", "daemon socket").enablePositionalOptions();
  p.command("ps").option("-a, --all", "all").option("-q, --quiet", "ids")
    .option("-f, --filter <k=v>", "filter", collect)
    .option("-t, --time <s>", "seconds", parseCount("timeout"))
    .option("--no-trunc", "do not truncate")
    .addOption(new Option("--mode <m>", "mode").choices(["a", "b"]))
    .action((o: Record<string, unknown>) => void calls.push(["ps", { ...o }]));
  p.command("run").option("-d, --detach", "detach").option("--name <n>", "name", "anon")
    .argument("<image>").argument("[command...]").passThroughOptions()
    .action((image: string, cmd: string[], o: Record<string, unknown>) =>
      void calls.push(["run", image, cmd, { ...o }])
    );
  p.command("rename").argument("<container>").argument("<new-name>")
    .action((a: string, b: string) => void calls.push(["rename", a, b]));
  return { p, calls };
}

async function parse(args: string[]) {
  const { p, calls } = program();
  await p.parseAsync(args);
  return { calls, host: p.opts().host };
}

async function usageError(args: string[]): Promise<string> {
  try {
    await parse(args);
  } catch (err) {
    if (err instanceof UsageError) return err.message;
    throw err;
  }
  throw new Error(`${args.join(" ")} parsed`);
}

Deno.test("options: grouped short flags, --opt=value, repeats, parsers, negation", async () => {
  const { calls, host } = await parse([
    "-H",
    "unix:///s",
    "ps",
    "-aq",
    "-fstatus=x",
    "--filter=name=y",
    "-t",
    "3",
    "--mode",
    "b",
  ]);
  assert.equal(host, "unix:///s");
  assert.deepEqual(calls, [["ps", {
    all: true,
    quiet: true,
    filter: ["status=x", "name=y"],
    time: 3,
    trunc: true,
    mode: "b",
  }]]);
  const neg = await parse(["ps", "--no-trunc"]);
  assert.equal((neg.calls[0][1] as Record<string, unknown>).trunc, false);
});

Deno.test("pass-through: options after the first argument belong to the command", async () => {
  const { calls } = await parse(["run", "-d", "img", "sh", "-c", "--name", "x"]);
  assert.deepEqual(calls, [["run", "img", ["sh", "-c", "--name", "x"], {
    detach: true,
    name: "anon",
  }]]);
  const dashes = await parse(["run", "--", "img", "-x"]);
  assert.deepEqual(dashes.calls[0].slice(1, 3), ["img", ["-x"]]);
});

Deno.test("mistakes: one-line messages, as commander worded them", async () => {
  assert.equal(await usageError(["nope"]), "error: unknown command 'nope'");
  assert.equal(await usageError(["ps", "--bogus"]), "error: unknown option '--bogus'");
  assert.equal(await usageError(["ps", "-rf"]), "error: unknown option '-rf'");
  assert.equal(
    await usageError(["-H"]),
    "error: option '-H, --host <unix://PATH>' argument missing",
  );
  assert.equal(
    await usageError(["ps", "--mode", "c"]),
    "error: option '--mode <m>' argument 'c' is invalid. Allowed choices are a, b.",
  );
  assert.equal(await usageError(["rename", "a"]), "error: missing required argument 'new-name'");
  assert.equal(
    await usageError(["rename", "a", "b", "c"]),
    "error: too many arguments for 'rename'. Expected 2 arguments but got 3: a, b, c.",
  );
  // Program options come before the command: after it they are the command's.
  assert.equal(await usageError(["ps", "-H", "x"]), "error: unknown option '-H'");
  // A value parser's own error goes through as it is.
  await assert.rejects(parse(["ps", "-t", "x"]), /invalid timeout "x"/);
});

Deno.test("help and version end with exit code 0", async () => {
  for (const args of [["--version"], ["--help"], ["ps", "-h"], ["help", "run"], []]) {
    await assert.rejects(parse(args), (err) => err instanceof ExitCode && err.code === 0);
  }
});
