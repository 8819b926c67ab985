/**
 * `--format` templates as the docker CLI reads them: Go's text/template
 * language for what scripts use (`{{.State.Status}}`, `{{json .Config}}`,
 * `{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}`, `{{if}}` with
 * `{{else if}}`, `{{with}}`, variables, pipes, parentheses, methods of the
 * data such as `{{.Label "k"}}`) with Go's built-in functions (`index`, `len`,
 * `slice`, `printf`, `eq`, `lt`, `not`, `and`, `or`, ...) and the docker
 * CLI's own (`json`, `join`, `split`, `lower`, `upper`, `title`, `truncate`,
 * `pad`). Values print as Go prints them (`map[k:v]`, `[a b]`, `<no value>`).
 * @module
 */
import { invalid } from "../errdefs/mod.ts";

/** A term of a command: a field chain, a literal, or a function name. */
type Term =
  | { kind: "field"; base: Base; path: string[] }
  | { kind: "literal"; value: unknown }
  | { kind: "ident"; name: string };

/** Where a field chain starts: the dot, a variable, or a parenthesized pipeline. */
type Base = { dot: true } | { variable: string } | { pipe: Pipe };

/** `$a, $b :=` then commands joined by `|`. */
interface Pipe {
  decl: string[];
  cmds: Term[][];
}

type BlockKind = "if" | "with" | "range";

/** `if`, `with` or `range`: its pipeline, its body and its else branch. */
interface Block {
  kind: BlockKind;
  pipe: Pipe;
  body: Node[];
  orElse: Node[];
}

type Node = { kind: "text"; text: string } | { kind: "action"; pipe: Pipe } | Block;

/** A parsed template: render it once per object. */
export interface Template {
  render(data: unknown): string;
}

/**
 * Parse `text`; a mistake is a one-line usage error naming it.
 *
 * @example
 * ```ts
 * const t = parseTemplate("{{.Name}} is {{.State.Status}}");
 * t.render({ Name: "web", State: { Status: "running" } }); // "web is running"
 * ```
 */
export function parseTemplate(text: string): Template {
  const nodes = new Parser(text).parse();
  return {
    render: (data) => {
      const out: string[] = [];
      execute(nodes, { dot: data, vars: new Map([["$", data]]) }, out);
      return out.join("");
    },
  };
}

function fail(message: string): never {
  throw invalid(`template: ${message}`);
}

/** The template's text cut into literal text and actions (trim markers applied). */
function splitActions(text: string): ({ text: string } | { action: string })[] {
  const parts: ({ text: string } | { action: string })[] = [];
  let at = 0;
  while (at < text.length) {
    const open = text.indexOf("{{", at);
    if (open < 0) {
      parts.push({ text: text.slice(at) });
      break;
    }
    let literal = text.slice(at, open);
    let inner = open + 2;
    // `{{- ` trims the text before; the dash needs white space after it (else it is a number).
    if (text[inner] === "-" && /\s/.test(text[inner + 1] ?? "")) {
      literal = literal.trimEnd();
      inner += 2;
    }
    if (literal) parts.push({ text: literal });
    const close = actionEnd(text, inner);
    let action = text.slice(inner, close);
    at = close + 2;
    if (/\s-$/.test(action)) {
      action = action.slice(0, -2);
      while (at < text.length && /\s/.test(text[at])) at++;
    }
    parts.push({ action: action.trim() });
  }
  return parts;
}

/** Where the action starting at `from` ends: the first `}}` outside a quoted string. */
function actionEnd(text: string, from: number): number {
  for (let i = from; i < text.length; i++) {
    const c = text[i];
    if (c === "}" && text[i + 1] === "}") return i;
    if (c === '"' || c === "`") {
      for (i++; i < text.length && text[i] !== c; i++) if (c === '"' && text[i] === "\\") i++;
    }
  }
  return fail("unclosed action");
}

type Token =
  | { t: "field"; path: string[] }
  | { t: "var"; name: string; path: string[] }
  | { t: "literal"; value: unknown }
  | { t: "ident"; name: string }
  | { t: "(" | ")" | "|" | ":=" | "," }
  | { t: "path"; path: string[] };

/** The tokens of one action. */
function lex(src: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < src.length) {
    const rest = src.slice(i);
    let m: RegExpMatchArray | null;
    if (/^\s/.test(rest)) i++;
    else if ((m = rest.match(/^"(?:[^"\\]|\\.)*"/))) {
      tokens.push({ t: "literal", value: goStringLiteral(m[0]) });
      i += m[0].length;
    } else if ((m = rest.match(/^`[^`]*`/))) {
      tokens.push({ t: "literal", value: m[0].slice(1, -1) });
      i += m[0].length;
    } else if ((m = rest.match(/^-?\d+(\.\d+)?/))) {
      tokens.push({ t: "literal", value: Number(m[0]) });
      i += m[0].length;
    } else if ((m = rest.match(/^\$\w*((\.\w+)*)/))) {
      const name = m[0].slice(0, m[0].length - m[1].length);
      tokens.push({ t: "var", name, path: m[1].split(".").slice(1) });
      i += m[0].length;
    } else if ((m = rest.match(/^\.(\w+(\.\w+)*)?/))) {
      const path = m[0] === "." ? [] : m[0].slice(1).split(".");
      // A chain right after `)` reads a field of the parenthesized value.
      tokens.push(
        tokens.at(-1)?.t === ")" && src[i - 1] === ")" ? { t: "path", path } : {
          t: "field",
          path,
        },
      );
      i += m[0].length;
    } else if ((m = rest.match(/^(true|false|nil)\b/))) {
      tokens.push({ t: "literal", value: m[1] === "nil" ? null : m[1] === "true" });
      i += m[0].length;
    } else if ((m = rest.match(/^[A-Za-z_]\w*/))) {
      tokens.push({ t: "ident", name: m[0] });
      i += m[0].length;
    } else if (rest.startsWith(":=")) {
      tokens.push({ t: ":=" });
      i += 2;
    } else if ("()|,".includes(rest[0])) {
      tokens.push({ t: rest[0] as "(" | ")" | "|" | "," });
      i++;
    } else fail(`unexpected "${rest[0]}" in {{${src}}}`);
  }
  return tokens;
}

/** Go's escapes that JSON lacks, as the code points they stand for. */
const GO_ESCAPE = /\\(x[0-9a-fA-F]{2}|U[0-9a-fA-F]{8}|[0-7]{3}|a|v|')/g;

/** A Go interpreted string literal ("..." with Go's escapes). */
function goStringLiteral(quoted: string): string {
  const json = quoted.replace(GO_ESCAPE, (_, e: string) => {
    const code = e[0] === "x" || e[0] === "U"
      ? parseInt(e.slice(1), 16)
      : ({ a: 7, v: 11, "'": 39 } as Record<string, number>)[e] ?? parseInt(e, 8);
    return JSON.stringify(String.fromCodePoint(code)).slice(1, -1);
  });
  try {
    // A raw tab is legal in Go's literal, not in JSON's.
    return JSON.parse(json.replaceAll("\t", "\\t"));
  } catch {
    return fail(`bad string ${quoted}`);
  }
}

/** Reads one action's tokens into a pipeline. */
class PipeReader {
  #at = 0;
  constructor(readonly tokens: Token[], readonly src: string) {}

  pipe(stop: ")" | null = null): Pipe {
    const decl: string[] = [];
    const assign = this.tokens.findIndex((t) => t.t === ":=");
    if (stop === null && assign > 0) {
      // `$v :=` or `$k, $v :=`, nothing else.
      const names = this.tokens.slice(0, assign);
      const ok = (names.length === 1 || names.length === 3) &&
        names.every((t, i) => i % 2 === 1 ? t.t === "," : t.t === "var" && t.path.length === 0);
      if (!ok) fail(`bad declaration in {{${this.src}}}`);
      for (const t of names) if (t.t === "var") decl.push(t.name);
      this.#at = assign + 1;
    }
    const cmds: Term[][] = [[]];
    while (this.#at < this.tokens.length) {
      const tok = this.tokens[this.#at++];
      if (tok.t === ")") {
        if (stop !== ")") fail(`unexpected ")" in {{${this.src}}}`);
        return { decl, cmds: this.#checked(cmds) };
      }
      if (tok.t === "|") cmds.push([]);
      else cmds.at(-1)!.push(this.#term(tok));
    }
    if (stop === ")") fail(`unclosed "(" in {{${this.src}}}`);
    return { decl, cmds: this.#checked(cmds) };
  }

  #term(tok: Token): Term {
    switch (tok.t) {
      case "field":
        return { kind: "field", base: { dot: true }, path: tok.path };
      case "var":
        return { kind: "field", base: { variable: tok.name }, path: tok.path };
      case "literal":
        return { kind: "literal", value: tok.value };
      case "ident":
        return { kind: "ident", name: tok.name };
      case "(": {
        const inner = this.pipe(")");
        const next = this.tokens[this.#at];
        const path = next?.t === "path" ? (this.#at++, next.path) : [];
        return { kind: "field", base: { pipe: inner }, path };
      }
      default:
        return fail(`unexpected "${tok.t === "path" ? "." : tok.t}" in {{${this.src}}}`);
    }
  }

  #checked(cmds: Term[][]): Term[][] {
    if (cmds.some((c) => c.length === 0)) fail(`missing value in {{${this.src}}}`);
    return cmds;
  }
}

function parsePipe(src: string): Pipe {
  return new PipeReader(lex(src), src).pipe();
}

/** Builds the node tree from the actions, matching if/with/range with else and end. */
class Parser {
  readonly #parts: ({ text: string } | { action: string })[];
  #at = 0;

  constructor(text: string) {
    this.#parts = splitActions(text);
  }

  parse(): Node[] {
    const { nodes, end } = this.#list();
    if (end !== null) fail(`unexpected {{${end}}}`);
    return nodes;
  }

  /** Nodes up to an `else…` or `end` (which one), or to the text's end (null). */
  #list(): { nodes: Node[]; end: string | null } {
    const nodes: Node[] = [];
    while (this.#at < this.#parts.length) {
      const part = this.#parts[this.#at++];
      if ("text" in part) {
        nodes.push({ kind: "text", text: part.text });
        continue;
      }
      const a = part.action;
      if (a.startsWith("/*")) {
        if (!a.endsWith("*/")) fail(`unclosed comment {{${a}}}`);
        continue;
      }
      if (a === "end" || a === "else" || /^else\s/.test(a)) return { nodes, end: a };
      const m = a.match(/^(if|with|range)\s+(.*)$/s);
      if (m) nodes.push(this.#block(m[1] as BlockKind, m[2]));
      else nodes.push({ kind: "action", pipe: parsePipe(a) });
    }
    return { nodes, end: null };
  }

  /**
   * A block up to its `end`; `{{else if …}}` and `{{else with …}}` nest a
   * block in the else branch, ended by the same `end`.
   */
  #block(kind: BlockKind, pipe: string): Node {
    const body = this.#list();
    let orElse: Node[] = [];
    const chained = body.end?.match(/^else\s+(if|with)\s+(.*)$/s);
    if (chained && kind !== "range") orElse = [this.#block(chained[1] as BlockKind, chained[2])];
    else if (body.end === "else") {
      const rest = this.#list();
      if (rest.end !== "end") fail(`{{${kind}}} without {{end}}`);
      orElse = rest.nodes;
    } else if (body.end !== "end") fail(`{{${kind}}} without {{end}}`);
    return { kind, pipe: parsePipe(pipe), body: body.nodes, orElse };
  }
}

interface Scope {
  dot: unknown;
  vars: Map<string, unknown>;
}

function execute(nodes: Node[], scope: Scope, out: string[]): void {
  for (const n of nodes) {
    if (n.kind === "text") out.push(n.text);
    else if (n.kind === "action") {
      const v = evalPipe(n.pipe, scope);
      if (n.pipe.decl.length === 0) out.push(goString(v));
    } else if (n.kind === "range") runRange(n, scope, out);
    else {
      // A block's own variables end with it.
      const inner = { ...scope, vars: new Map(scope.vars) };
      const v = evalPipe(n.pipe, inner);
      if (!truthy(v)) execute(n.orElse, inner, out);
      else execute(n.body, n.kind === "with" ? { ...inner, dot: v } : inner, out);
    }
  }
}

/** `range`: the body per item (its variables set to key and item), or the else branch. */
function runRange(n: Block, scope: Scope, out: string[]): void {
  const entries = rangeEntries(evalPipe({ ...n.pipe, decl: [] }, scope));
  if (entries.length === 0) return execute(n.orElse, scope, out);
  const [first, second] = n.pipe.decl;
  for (const [key, item] of entries) {
    const vars = new Map(scope.vars);
    if (second !== undefined) vars.set(first, key).set(second, item);
    else if (first !== undefined) vars.set(first, item);
    execute(n.body, { dot: item, vars }, out);
  }
}

/** What `range` walks: an array's items with their index, a map's values in key order. */
function rangeEntries(v: unknown): [unknown, unknown][] {
  if (v === null || v === undefined) return [];
  if (Array.isArray(v)) return v.map((item, i) => [i, item]);
  if (typeof v === "object") {
    return Object.keys(v).sort().map((k) => [k, (v as Record<string, unknown>)[k]]);
  }
  if (typeof v === "number" && Number.isInteger(v)) {
    return Array.from({ length: Math.max(0, v) }, (_, i) => [i, i]);
  }
  return fail(`range can't iterate over ${goString(v)}`);
}

/** A pipeline's value; a declaration sets its variable in `scope`. */
function evalPipe(p: Pipe, scope: Scope): unknown {
  let value: unknown = undefined;
  p.cmds.forEach((cmd, i) => {
    value = evalCommand(cmd, scope, i === 0 ? [] : [value]);
  });
  if (p.decl.length === 1) scope.vars.set(p.decl[0], value);
  return value;
}

function evalCommand(cmd: Term[], scope: Scope, piped: unknown[]): unknown {
  const [head, ...rest] = cmd;
  const args = () => [...rest.map((t) => evalTerm(t, scope)), ...piped];
  if (head.kind === "ident") return callFunction(head.name, args());
  const v = evalTerm(head, scope, true);
  // A method of the data (`{{.Label "com.example"}}` on a ps row) takes arguments.
  if (typeof v === "function") return v(...args());
  if (rest.length > 0 || piped.length > 0) fail(`can't give arguments to a non-function value`);
  return v;
}

function callFunction(name: string, args: unknown[]): unknown {
  if (!Object.hasOwn(FUNCS, name)) fail(`function "${name}" not defined`);
  const [min, max, fn] = FUNCS[name];
  if (args.length < min || args.length > max) fail(`wrong number of args for ${name}`);
  return fn(...args);
}

/** A term's value; a method at the end of a field chain is called, unless `asMethod`. */
function evalTerm(t: Term, scope: Scope, asMethod = false): unknown {
  if (t.kind === "literal") return t.value;
  if (t.kind === "ident") return callFunction(t.name, []);
  let v: unknown;
  if ("dot" in t.base) v = scope.dot;
  else if ("variable" in t.base) {
    if (!scope.vars.has(t.base.variable)) fail(`undefined variable "${t.base.variable}"`);
    v = scope.vars.get(t.base.variable);
  } else v = evalPipe(t.base.pipe, scope);
  for (const key of t.path) {
    if (v === null || v === undefined) return undefined;
    if (typeof v !== "object" || Array.isArray(v)) {
      fail(`can't evaluate field ${key} in ${Array.isArray(v) ? "a list" : typeof v}`);
    }
    v = Object.hasOwn(v, key) ? (v as Record<string, unknown>)[key] : undefined;
  }
  return typeof v === "function" && !asMethod ? v() : v;
}

/** Go's truth: false, 0, "", nil and empty lists and maps are false. */
function truthy(v: unknown): boolean {
  if (v === null || v === undefined || v === false || v === 0 || v === "") return false;
  if (Array.isArray(v)) return v.length > 0;
  if (typeof v === "object") return Object.keys(v).length > 0;
  return true;
}

/**
 * A value as Go's `%v` prints it from decoded JSON: `map[a:1 b:2]`, `[x y]`,
 * `<no value>` for a missing key, `<nil>` for null.
 *
 * @example
 * ```ts
 * goString({ b: [1, 2], a: "x" }); // "map[a:x b:[1 2]]"
 * ```
 */
export function goString(v: unknown): string {
  if (v === undefined) return "<no value>";
  if (v === null) return "<nil>";
  if (Array.isArray(v)) return `[${v.map(goString).join(" ")}]`;
  if (typeof v === "object") {
    const o = v as Record<string, unknown>;
    return `map[${Object.keys(o).sort().map((k) => `${k}:${goString(o[k])}`).join(" ")}]`;
  }
  return String(v);
}

function equal(a: unknown, b: unknown): boolean {
  return a === b || (a == null && b == null);
}

/** Go's `printf` for the verbs scripts use (%s %v %d %q %t %f %x %%), with flags, width, precision. */
function printf(format: unknown, ...args: unknown[]): string {
  let i = 0;
  const verbs = /%([-+ 0#]*)(\d*)(?:\.(\d+))?([svdqtfxX%])/g;
  return String(format).replace(verbs, (_, flags: string, width: string, prec, verb: string) => {
    if (verb === "%") return "%";
    if (i >= args.length) return `%!${verb}(MISSING)`;
    const v = args[i++];
    let text: string;
    if (verb === "q") text = JSON.stringify(goString(v));
    else if (verb === "d") text = String(Math.trunc(Number(v)));
    else if (verb === "f") text = Number(v).toFixed(prec === undefined ? 6 : Number(prec));
    else if (verb === "x" || verb === "X") {
      text = typeof v === "number"
        ? Math.trunc(v).toString(16)
        : [...new TextEncoder().encode(goString(v))].map((b) => b.toString(16).padStart(2, "0"))
          .join("");
      if (verb === "X") text = text.toUpperCase();
    } else text = prec === undefined ? goString(v) : goString(v).slice(0, Number(prec));
    const w = Number(width || 0);
    if (flags.includes("-")) return text.padEnd(w);
    return text.padStart(w, flags.includes("0") && verb !== "s" ? "0" : " ");
  });
}

/** `index`: a missing key of a map of strings is "" (as Docker's typed maps give), else no value. */
function indexInto(v: unknown, keys: unknown[]): unknown {
  for (const k of keys) {
    if (v === null || v === undefined) return undefined;
    if (Array.isArray(v)) {
      const n = Number(k);
      if (!Number.isInteger(n) || n < 0 || n >= v.length) {
        fail(`index out of range: ${goString(k)}`);
      }
      v = v[n];
    } else if (typeof v === "object") {
      const o = v as Record<string, unknown>;
      const key = String(k);
      if (Object.hasOwn(o, key)) v = o[key];
      else return Object.values(o).every((x) => typeof x === "string") ? "" : undefined;
    } else fail(`can't index item of type ${typeof v}`);
  }
  return v;
}

function lengthOf(v: unknown): number {
  if (typeof v === "string" || Array.isArray(v)) return v.length;
  if (v !== null && typeof v === "object") return Object.keys(v).length;
  return fail(`len of ${goString(v)}`);
}

/** Go's ordering of two numbers or two strings. */
function compare(a: unknown, b: unknown): number {
  if (typeof a === "number" && typeof b === "number") return a - b;
  if (typeof a === "string" && typeof b === "string") return a < b ? -1 : a > b ? 1 : 0;
  return fail(`incompatible types for comparison: ${goString(a)} and ${goString(b)}`);
}

function sliceOf(v: unknown, from?: unknown, to?: unknown): unknown {
  if (typeof v !== "string" && !Array.isArray(v)) fail(`can't slice ${goString(v)}`);
  return v.slice(Number(from ?? 0), to === undefined ? undefined : Number(to));
}

/** Functions by name: [fewest arguments, most arguments, the function]. */
const FUNCS: Record<string, [number, number, (...args: unknown[]) => unknown]> = {
  json: [1, 1, (v) => JSON.stringify(v ?? null)],
  join: [2, 2, (list, sep) => (Array.isArray(list) ? list : []).map(goString).join(String(sep))],
  split: [2, 2, (s, sep) => String(s).split(String(sep))],
  lower: [1, 1, (s) => goString(s).toLowerCase()],
  upper: [1, 1, (s) => goString(s).toUpperCase()],
  title: [1, 1, (s) => goString(s).replace(/\b\w/g, (c) => c.toUpperCase())],
  truncate: [2, 2, (s, n) => goString(s).slice(0, Number(n))],
  pad: [3, 3, (s, l, r) => " ".repeat(Number(l)) + goString(s) + " ".repeat(Number(r))],
  index: [1, Infinity, (v, ...keys) => indexInto(v, keys)],
  len: [1, 1, lengthOf],
  slice: [1, 3, sliceOf],
  printf: [1, Infinity, printf],
  print: [0, Infinity, (...args) => args.map(goString).join("")],
  println: [0, Infinity, (...args) => args.map(goString).join(" ") + "\n"],
  eq: [2, Infinity, (a, ...bs) => bs.some((b) => equal(a, b))],
  ne: [2, 2, (a, b) => !equal(a, b)],
  lt: [2, 2, (a, b) => compare(a, b) < 0],
  le: [2, 2, (a, b) => compare(a, b) <= 0],
  gt: [2, 2, (a, b) => compare(a, b) > 0],
  ge: [2, 2, (a, b) => compare(a, b) >= 0],
  not: [1, 1, (v) => !truthy(v)],
  and: [1, Infinity, (...vs) => vs.find((v) => !truthy(v)) ?? vs.at(-1)],
  or: [1, Infinity, (...vs) => vs.find((v) => truthy(v)) ?? vs.at(-1)],
};
