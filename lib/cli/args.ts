/**
 * corral's argument parser: commands, options, arguments and help, with the
 * command-line behaviour (syntax, messages, help layout) corral had with
 * npm `commander`, in a file that loads in well under a millisecond. A
 * `commander` import alone cost a CLI call ~60 ms of Node compatibility and npm
 * resolution (BENCHMARKS.md, "CLI start").
 *
 * @example
 * ```ts
 * import { Command } from "./args.ts";
 * const program = new Command("demo");
 * program.command("greet").option("-l, --loud", "shout").argument("<name>")
 *   .action((name: string, o: Record<string, unknown>) => {
 *     console.log(o.loud ? `HELLO ${name.toUpperCase()}` : `hello ${name}`);
 *   });
 * await program.parseAsync(["greet", "-l", "you"]);
 * ```
 * @module
 */
import { ExitCode } from "./command.ts";

/** A mistake on the command line: one `error: ...` line, exit code 2. */
export class UsageError extends Error {}

/** Turns an option's text value into its value, given the one before (repeatable options). */
export type ValueParser = (value: string, previous: unknown) => unknown;

// deno-lint-ignore no-explicit-any
type Action = (...args: any[]) => void | Promise<void>;

/** An option: `-s, --long`, `--long <value>` or `--no-long`. */
export class Option {
  readonly short?: string;
  readonly long: string;
  /** The key in {@linkcode Command.opts}: the long name camel-cased, without `no-`. */
  readonly key: string;
  readonly takesValue: boolean;
  readonly negate: boolean;
  parser?: ValueParser;
  defaultValue?: unknown;
  allowed?: string[];

  constructor(readonly flags: string, readonly description = "") {
    const m = flags.match(/^(?:(-[^-\s]), )?(--[\w-]+)(?: [<[].*)?$/);
    if (!m) throw new Error(`bad option flags "${flags}"`);
    this.short = m[1];
    this.long = m[2];
    this.takesValue = flags.includes("<");
    this.negate = this.long.startsWith("--no-");
    this.key = camelCase(this.long.slice(this.negate ? 5 : 2));
  }

  /** Only these values are accepted. */
  choices(values: string[]): this {
    this.allowed = values;
    return this;
  }

  /** The value when the option is not given. */
  default(value: unknown): this {
    this.defaultValue = value;
    return this;
  }

  /** Whether `arg` names this option. */
  is(arg: string): boolean {
    return arg === this.short || arg === this.long;
  }
}

/** A positional argument: `<name>`, `[name]`, `<name...>`. */
interface Argument {
  name: string;
  spec: string;
  required: boolean;
  variadic: boolean;
  description: string;
  defaultValue?: unknown;
}

const HELP = new Option("-h, --help", "display help for command");

/** A command: its options, arguments, subcommands and action. */
export class Command {
  readonly commands: Command[] = [];
  readonly options: Option[] = [];
  readonly args: Argument[] = [];
  #description = "";
  #alias?: string;
  #action?: Action;
  #passThrough = false;
  #positional = false;
  #version?: { text: string; option: Option };
  #values: Record<string, unknown> = {};

  constructor(readonly name: string, readonly parent?: Command) {}

  /** Another name for this command (`network ls` is also `network list`). */
  alias(name: string): this {
    this.#alias = name;
    return this;
  }

  /** Whether `name` calls this command. */
  isCalled(name: string | undefined): boolean {
    return name === this.name || (name !== undefined && name === this.#alias);
  }

  /** The name as help shows it: `ls|list`. */
  get shownName(): string {
    return this.#alias ? `${this.name}|${this.#alias}` : this.name;
  }

  /** Set the description shown in help. */
  description(text: string): this {
    this.#description = text;
    return this;
  }

  /** A flag that prints `text` and ends the program. */
  version(text: string, flags: string, description: string): this {
    this.#version = { text, option: new Option(flags, description) };
    this.options.push(this.#version.option);
    return this;
  }

  /**
   * Add an option; the third argument is a value parser or a default, and a
   * parser may be followed by its default.
   */
  option(flags: string, description: string, parserOrDefault?: unknown, defaultValue?: unknown) {
    const option = new Option(flags, description);
    if (typeof parserOrDefault === "function") {
      option.parser = parserOrDefault as ValueParser;
      option.defaultValue = defaultValue;
    } else option.defaultValue = parserOrDefault;
    return this.addOption(option);
  }

  /** Add a prepared option (one with choices or a default). */
  addOption(option: Option): this {
    this.options.push(option);
    return this;
  }

  /** Add a positional argument, `<name>`, `[name]` or `<name...>`. */
  argument(spec: string, description = "", defaultValue?: unknown): this {
    const name = spec.slice(1, -1).replace(/\.\.\.$/, "");
    this.args.push({
      name,
      spec,
      required: spec.startsWith("<"),
      variadic: spec.endsWith("...>") || spec.endsWith("...]"),
      description,
      defaultValue,
    });
    return this;
  }

  /** What runs: called with the arguments, then the options. */
  action(fn: Action): this {
    this.#action = fn;
    return this;
  }

  /** Add a subcommand and return it. */
  command(name: string): Command {
    const sub = new Command(name, this);
    this.commands.push(sub);
    return sub;
  }

  /** After the first argument, everything is an argument (`run IMAGE sh -c ...`). */
  passThroughOptions(): this {
    this.#passThrough = true;
    return this;
  }

  /** The program's options only before the subcommand's name. */
  enablePositionalOptions(): this {
    this.#positional = true;
    return this;
  }

  /** The options parsed so far, by key. */
  opts(): Record<string, unknown> {
    return this.#values;
  }

  /**
   * Parse `args` (without the program name) and run the chosen command's
   * action. Throws {@linkcode UsageError} for a mistake and
   * {@linkcode ExitCode} 0 after printing help or the version.
   */
  async parseAsync(args: string[]): Promise<void> {
    await this.#parse([], args);
  }

  async #parse(operandsIn: string[], rest: string[]): Promise<void> {
    for (const o of this.options) {
      if (o.negate) this.#values[o.key] = true;
      else if (o.defaultValue !== undefined) this.#values[o.key] = o.defaultValue;
    }
    const { operands: parsed, unknown } = this.#parseOptions(rest);
    const operands = [...operandsIn, ...parsed];
    const sub = this.commands.find((c) => c.isCalled(operands[0]));
    if (sub) return await sub.#parse(operands.slice(1), unknown);
    if (this.commands.length && operands[0] === "help") {
      if (operands[1] === undefined) this.#help(false);
      const target = this.commands.find((c) => c.isCalled(operands[1]));
      if (!target) this.#help(true);
      return await target.#parse([], ["--help"]);
    }
    if (this.commands.length && operands.length === 0 && unknown.length === 0 && !this.#action) {
      this.#help(true);
    }
    if (unknown.some((a) => HELP.is(a))) this.#help(false);
    if (!this.#action && operands.length && this.commands.length) {
      throw new UsageError(`error: unknown command '${operands[0]}'`);
    }
    if (unknown.length) throw new UsageError(`error: unknown option '${unknown[0]}'`);
    if (!this.#action) this.#help(true);
    await this.#action(...this.#arguments(operands), this.#values, this);
  }

  /** Split `args` into options (applied), operands and the first unknown option onwards. */
  #parseOptions(args: string[]): { operands: string[]; unknown: string[] } {
    const operands: string[] = [];
    const unknown: string[] = [];
    let dest = operands;
    const maybeOption = (arg: string) => arg.length > 1 && arg[0] === "-";
    let group: string | undefined;
    let i = 0;
    while (i < args.length || group !== undefined) {
      const arg = group ?? args[i++];
      group = undefined;
      if (arg === "--") {
        if (dest === unknown) dest.push(arg);
        dest.push(...args.slice(i));
        break;
      }
      if (maybeOption(arg)) {
        const option = this.#find(arg);
        if (option) {
          if (option.takesValue) {
            const value = args[i++];
            if (value === undefined) {
              throw new UsageError(`error: option '${option.flags}' argument missing`);
            }
            this.#set(option, value);
          } else this.#set(option);
          continue;
        }
      }
      if (arg.length > 2 && arg[0] === "-" && arg[1] !== "-") {
        const option = this.#find(`-${arg[1]}`);
        if (option) {
          if (option.takesValue) this.#set(option, arg.slice(2));
          else {
            this.#set(option);
            group = `-${arg.slice(2)}`;
          }
          continue;
        }
      }
      if (/^--[^=]+=/.test(arg)) {
        const eq = arg.indexOf("=");
        const option = this.#find(arg.slice(0, eq));
        if (option?.takesValue) {
          this.#set(option, arg.slice(eq + 1));
          continue;
        }
      }
      if (dest === operands && maybeOption(arg)) dest = unknown;
      if (
        (this.#positional || this.#passThrough) && operands.length === 0 && unknown.length === 0
      ) {
        if (this.commands.some((c) => c.isCalled(arg))) {
          operands.push(arg);
          unknown.push(...args.slice(i));
          break;
        }
        if (this.commands.length && arg === "help") {
          operands.push(arg, ...args.slice(i));
          break;
        }
      }
      if (this.#passThrough) {
        dest.push(arg, ...args.slice(i));
        break;
      }
      dest.push(arg);
    }
    return { operands, unknown };
  }

  #find(arg: string): Option | undefined {
    return this.options.find((o) => o.is(arg));
  }

  /** Apply an option met on the command line. */
  #set(option: Option, value?: string): void {
    if (option === this.#version?.option) {
      console.log(this.#version.text);
      throw new ExitCode(0);
    }
    if (value === undefined) {
      this.#values[option.key] = !option.negate;
      return;
    }
    if (option.allowed && !option.allowed.includes(value)) {
      throw new UsageError(
        `error: option '${option.flags}' argument '${value}' is invalid. Allowed choices are ${
          option.allowed.join(", ")
        }.`,
      );
    }
    this.#values[option.key] = option.parser
      ? option.parser(value, this.#values[option.key])
      : value;
  }

  /** The operands as the action's arguments, checked against the declared ones. */
  #arguments(operands: string[]): unknown[] {
    for (const [i, a] of this.args.entries()) {
      if (a.required && operands[i] === undefined) {
        throw new UsageError(`error: missing required argument '${a.name}'`);
      }
    }
    if (!this.args.at(-1)?.variadic && operands.length > this.args.length) {
      const n = this.args.length;
      throw new UsageError(
        `error: too many arguments${this.parent ? ` for '${this.name}'` : ""}. Expected ${n} ` +
          `argument${n === 1 ? "" : "s"} but got ${operands.length}: ${operands.join(", ")}.`,
      );
    }
    return this.args.map((a, i) => a.variadic ? operands.slice(i) : operands[i] ?? a.defaultValue);
  }

  /** Print the help (to stderr when the command line was incomplete) and end with 0. */
  #help(toStderr: boolean): never {
    const stream = toStderr ? Deno.stderr : Deno.stdout;
    const width = stream.isTerminal() ? Deno.consoleSize().columns : 80;
    // The text ends with a blank line's newline, which console.log adds.
    (toStderr ? console.error : console.log)(formatHelp(this, width).replace(/\n$/, ""));
    throw new ExitCode(0);
  }

  /** `name [options] <arg>`, as in help's usage line and command list. */
  usage(): string {
    return [
      "[options]",
      ...this.commands.length ? ["[command]"] : [],
      ...this.args.map((a) => a.spec),
    ].join(" ");
  }

  /** The command's line in its parent's command list. */
  term(): string {
    return [
      this.shownName,
      ...this.options.length ? ["[options]"] : [],
      ...this.args.map((a) => a.spec),
    ]
      .join(" ");
  }

  /** The description shown in help. */
  get about(): string {
    return this.#description;
  }
}

/** `--cpu-shares` → `cpuShares`. */
function camelCase(name: string): string {
  return name.replace(/-(\w)/g, (_, c: string) => c.toUpperCase());
}

/** An option's or argument's help text with its choices and default. */
function describe(
  description: string,
  extra: { choices?: string[]; defaultValue?: unknown; showDefault: boolean },
): string {
  const info: string[] = [];
  if (extra.choices) {
    info.push(`choices: ${extra.choices.map((c) => JSON.stringify(c)).join(", ")}`);
  }
  if (extra.showDefault && extra.defaultValue !== undefined) {
    info.push(`default: ${JSON.stringify(extra.defaultValue)}`);
  }
  if (!info.length) return description;
  return description ? `${description} (${info.join(", ")})` : `(${info.join(", ")})`;
}

/** The help text of `cmd`, laid out for `width` columns. */
function formatHelp(cmd: Command, width: number): string {
  const ancestors: string[] = [];
  for (let c = cmd.parent; c; c = c.parent) ancestors.unshift(c.name);
  const args = cmd.args.some((a) => a.description)
    ? cmd.args.map((a) => [a.name, describe(a.description, { ...a, showDefault: true })])
    : [];
  const options = [...cmd.options, HELP].map((o) => [
    o.flags,
    describe(o.description, {
      choices: o.allowed,
      defaultValue: o.defaultValue,
      showDefault: o.takesValue,
    }),
  ]);
  const commands = cmd.commands.map((c) => [c.term(), c.about]);
  if (commands.length) commands.push(["help [command]", "display help for command"]);
  const termWidth = Math.max(...[...args, ...options, ...commands].map(([t]) => t.length));
  const lines = [`Usage: ${[...ancestors, cmd.shownName].join(" ")} ${cmd.usage()}`, ""];
  if (cmd.about) lines.push(wrap(cmd.about, width), "");
  for (
    const [heading, items] of [["Arguments:", args], ["Options:", options], [
      "Commands:",
      commands,
    ]] as const
  ) {
    if (!items.length) continue;
    lines.push(heading, ...items.map(([t, d]) => formatItem(t, d, termWidth, width)), "");
  }
  return lines.join("\n");
}

/** `  term    description`, the description wrapped under itself. */
function formatItem(term: string, description: string, termWidth: number, width: number): string {
  if (!description) return `  ${term}`;
  const room = width - termWidth - 4;
  const text = room < 40 ? description : wrap(description, room);
  return `  ${term.padEnd(termWidth)}  ${text.replaceAll("\n", `\n${" ".repeat(termWidth + 4)}`)}`;
}

/** Word-wrap `text` to `width` columns (narrower than 40: left as it is). */
function wrap(text: string, width: number): string {
  if (width < 40) return text;
  return text.split("\n").map((line) => {
    const chunks = line.match(/\s*\S+/g);
    if (!chunks) return "";
    const out: string[] = [];
    let current = chunks.shift()!;
    for (const chunk of chunks) {
      if (current.length + chunk.length <= width) current += chunk;
      else {
        out.push(current);
        current = chunk.trimStart();
      }
    }
    out.push(current);
    return out.join("\n");
  }).join("\n");
}
