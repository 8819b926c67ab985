/**
 * `--format` templates as the docker CLI reads them: Go's text/template
 * language for what scripts use (`{{.State.Status}}`, `{{json .Config}}`,
 * `{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}`, `{{if}}`,
 * `{{with}}`, variables, pipes, parentheses) with Go's built-in functions
 * (`index`, `len`, `printf`, `eq`, `not`, `and`, `or`, ...) and the docker
 * CLI's own (`json`, `join`, `split`, `lower`, `upper`, `title`,
 * `truncate`). Values print as Go prints them (`map[k:v]`, `[a b]`,
 * `<no value>`).
 * @module
 */
import { invalid } from "../errdefs/mod.ts";

/** A term of a command: a field chain, a variable, a literal, a function name, a sub-pipe. */
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

type Node =
  | { kind: "text"; text: string }
  | { kind: "action"; pipe: Pipe }
  | { kind: "if" | "with" | "range"; pipe: Pipe; body: Node[]; orElse: Node[] };

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
    if (text.startsWith("- ", inner)) {
      literal = literal.trimEnd();
      inner += 2;
    }
    if (literal) parts.push({ text: literal });
    const close = text.indexOf("}}", inner);
    if (close < 0) fail("unclosed action");
    let action = text.slice(inner, close);
    at = close + 2;
    if (action.endsWith(" -")) {
      action = action.slice(0, -2);
      while (at < text.length && /\s/.test(text[at])) at++;
    }
    parts.push({ action: action.trim() });
  }
  return parts;
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
  const fieldPath = (s: string) => s.split(".").slice(1).filter((p, i) => p || i > 0);
  let i = 0;
  while (i < src.length) {
    const rest = src.slice(i);
    let m: RegExpMatchArray | null;
    if (/^\s/.test(rest)) i++;
    else if ((m = rest.match(/^"(?:[^"\\]|\\.)*"/))) {
      tokens.push({ t: "literal", value: JSON.parse(m[0]) });
      i += m[0].length;
    } else if ((m = rest.match(/^`[^`]*`/))) {
      tokens.push({ t: "literal", value: m[0].slice(1, -1) });
      i += m[0].length;
    } else if ((m = rest.match(/^-?\d+(\.\d+)?/))) {
      tokens.push({ t: "literal", value: Number(m[0]) });
      i += m[0].length;
    } else if ((m = rest.match(/^\$\w*((\.\w+)*)/))) {
      const name = m[0].slice(0, m[0].length - m[1].length);
      tokens.push({ t: "var", name, path: fieldPath(m[1]) });
      i += m[0].length;
    } else if ((m = rest.match(/^\.(\w+(\.\w+)*)?/))) {
      // A chain right after `)` reads a field of the parenthesized value.
      const prev = tokens.at(-1);
      const path = m[0] === "." ? [] : m[0].slice(1).split(".");
      tokens.push(
        prev?.t === ")" && i > 0 && src[i - 1] === ")" ? { t: "path", path } : {
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

/** Reads one action's tokens into a pipeline. */
class PipeReader {
  #at = 0;
  constructor(readonly tokens: Token[], readonly src: string) {}

  pipe(stop: ")" | null = null): Pipe {
    const decl: string[] = [];
    // `$v :=` or `$k, $v :=`
    const assign = this.tokens.findIndex((t) => t.t === ":=");
    if (stop === null && assign > 0) {
      for (const t of this.tokens.slice(0, assign)) {
        if (t.t === "var") decl.push(t.name);
        else if (t.t !== ",") fail(`bad declaration in {{${this.src}}}`);
      }
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
        return fail(`unexpected "${tok.t}" in {{${this.src}}}`);
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

  /** Nodes up to an `else` or `end` (which one, or null at the text's end). */
  #list(): { nodes: Node[]; end: string | null } {
    const nodes: Node[] = [];
    while (this.#at < this.#parts.length) {
      const part = this.#parts[this.#at++];
      if ("text" in part) {
        nodes.push({ kind: "text", text: part.text });
        continue;
      }
      const a = part.action;
      if (a.startsWith("/*")) continue; // A comment.
      if (a === "end" || a === "else") return { nodes, end: a };
      const m = a.match(/^(if|with|range)\s+(.*)$/s);
      if (!m) {
        nodes.push({ kind: "action", pipe: parsePipe(a) });
        continue;
      }
      const body = this.#list();
      let orElse: Node[] = [];
      if (body.end === "else") {
        const rest = this.#list();
        if (rest.end !== "end") fail(`{{${m[1]}}} without {{end}}`);
        orElse = rest.nodes;
      } else if (body.end !== "end") fail(`{{${m[1]}}} without {{end}}`);
      nodes.push({ kind: m[1] as "if", pipe: parsePipe(m[2]), body: body.nodes, orElse });
    }
    return { nodes, end: null };
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
    } else if (n.kind === "if") {
      execute(truthy(evalPipe(n.pipe, scope)) ? n.body : n.orElse, scope, out);
    } else if (n.kind === "with") {
      const v = evalPipe(n.pipe, scope);
      if (truthy(v)) execute(n.body, { ...scope, dot: v }, out);
      else execute(n.orElse, scope, out);
    } else {
      const v = evalPipe({ ...n.pipe, decl: [] }, scope);
      const entries = rangeEntries(v);
      if (entries.length === 0) execute(n.orElse, scope, out);
      for (const [k, item] of entries) {
        const vars = new Map(scope.vars);
        const [first, second] = n.pipe.decl;
        if (second !== undefined) vars.set(first, k).set(second, item);
        else if (first !== undefined) vars.set(first, item);
        execute(n.body, { dot: item, vars }, out);
      }
    }
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
  if (head.kind === "ident") {
    const fn = FUNCS[head.name];
    if (!fn) fail(`function "${head.name}" not defined`);
    return fn(...rest.map((t) => evalTerm(t, scope)), ...piped);
  }
  if (rest.length > 0 || piped.length > 0) {
    fail(`can't give arguments to a non-function value`);
  }
  return evalTerm(head, scope);
}

function evalTerm(t: Term, scope: Scope): unknown {
  if (t.kind === "literal") return t.value;
  if (t.kind === "ident") {
    const fn = FUNCS[t.name];
    if (!fn) fail(`function "${t.name}" not defined`);
    return fn();
  }
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
    v = (v as Record<string, unknown>)[key];
  }
  return v;
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

/** A `printf` with Go's common verbs: %s %v %d %q %t %%. */
function printf(format: unknown, ...args: unknown[]): string {
  let i = 0;
  return String(format).replace(/%([svdqt%])/g, (_, verb: string) => {
    if (verb === "%") return "%";
    const v = args[i++];
    if (verb === "q") return JSON.stringify(goString(v));
    if (verb === "d") return String(Math.trunc(Number(v)));
    return goString(v);
  });
}

const FUNCS: Record<string, (...args: unknown[]) => unknown> = {
  json: (v) => JSON.stringify(v ?? null),
  join: (list, sep) => (Array.isArray(list) ? list : []).map(goString).join(String(sep)),
  split: (s, sep) => String(s).split(String(sep)),
  lower: (s) => goString(s).toLowerCase(),
  upper: (s) => goString(s).toUpperCase(),
  title: (s) => goString(s).replace(/\b\w/g, (c) => c.toUpperCase()),
  truncate: (s, n) => goString(s).slice(0, Number(n)),
  index: (v, ...keys) => {
    for (const k of keys) {
      if (v === null || v === undefined) return undefined;
      v = (v as Record<string, unknown>)[String(k)];
    }
    return v;
  },
  len: (v) =>
    typeof v === "string" || Array.isArray(v)
      ? v.length
      : v && typeof v === "object"
      ? Object.keys(v).length
      : fail(`len of ${goString(v)}`),
  printf,
  print: (...args) => args.map(goString).join(""),
  println: (...args) => args.map(goString).join(" ") + "\n",
  eq: (a, ...bs) => bs.some((b) => equal(a, b)),
  ne: (a, b) => !equal(a, b),
  not: (v) => !truthy(v),
  and: (...vs) => vs.find((v) => !truthy(v)) ?? vs.at(-1),
  or: (...vs) => vs.find((v) => truthy(v)) ?? vs.at(-1),
};
