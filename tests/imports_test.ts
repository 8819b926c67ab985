/**
 * The layering of lib/, checked on its static imports: no import cycle
 * between folders (a cycle makes both folders one module in all but name),
 * lib/sys is the bottom layer (it imports no other folder and no npm
 * package), and the shim, which runs once per container for the container's
 * whole life, loads no npm or node: module (each would cost every shim
 * startup time and memory, BENCHMARKS.md "Shim footprint").
 * @module
 */
import assert from "node:assert/strict";
import { dirname, join, relative, resolve } from "node:path";
import { REPO } from "./harness.ts";

const LIB = join(REPO, "lib");

/** One static `import … from` / `export … from` / `import "…"` of a file. */
interface StaticImport {
  /** The importing file, relative to the repository. */
  file: string;
  specifier: string;
  /** The imported file relative to the repository, for a relative specifier. */
  target: string | null;
}

/** A static import or re-export declaration, matched where an `import` or `export` word starts. */
const DECLARATION =
  /(?:import\s+(?:type\s+)?(?:[\w$*{},\s]+?\s+from\s*)?|export\s+(?:type\s+)?(?:\*(?:\s+as\s+[\w$]+)?|\{[^}]*\})\s*from\s*)(["'])([^"']+)\1/y;

/** Punctuation after which a `/` starts a regular expression, not a division. */
const BEFORE_REGEX = new Set("(,=:[!&|?{};+-*%<>~^");
/** Keywords after which a `/` starts a regular expression. */
const KEYWORD_BEFORE_REGEX =
  /^(?:return|typeof|case|do|else|in|of|new|delete|void|throw|await|yield)$/;

/**
 * The specifiers of the static import and re-export declarations of a
 * module. Comments (JSDoc examples contain imports), strings, template
 * literals and regular expressions are skipped, so only code counts.
 */
function staticSpecifiers(source: string): string[] {
  const specifiers: string[] = [];
  // The brace depth at which each enclosing template literal's `${` opened.
  const substitutions: number[] = [];
  let depth = 0;
  // The last significant character, or "a" after a word.
  let previous = ";";
  let i = 0;
  /** From inside a template literal to its end or to its next `${`. */
  const skipTemplateText = () => {
    for (; i < source.length; i++) {
      if (source[i] === "\\") {
        i++;
      } else if (source[i] === "`") {
        i++;
        return;
      } else if (source.startsWith("${", i)) {
        substitutions.push(depth++);
        i += 2;
        return;
      }
    }
  };
  /** From after an opening quote or slash to after the closing one. */
  const skipQuoted = (close: string) => {
    let inClass = false;
    for (; i < source.length; i++) {
      if (source[i] === "\\") i++;
      else if (close === "/" && source[i] === "[") inClass = true;
      else if (close === "/" && source[i] === "]") inClass = false;
      else if (source[i] === close && !inClass) break;
    }
    i++;
  };
  while (i < source.length) {
    const c = source[i];
    if (/\s/.test(c)) {
      i++;
    } else if (source.startsWith("//", i)) {
      const end = source.indexOf("\n", i);
      i = end < 0 ? source.length : end;
    } else if (source.startsWith("/*", i)) {
      const end = source.indexOf("*/", i + 2);
      i = end < 0 ? source.length : end + 2;
    } else if (c === '"' || c === "'" || (c === "/" && BEFORE_REGEX.has(previous))) {
      i++;
      skipQuoted(c);
      previous = c;
    } else if (c === "`" || (c === "}" && substitutions.at(-1) === depth - 1)) {
      if (c === "}") {
        substitutions.pop();
        depth--;
      }
      i++;
      skipTemplateText();
      previous = "`";
    } else if (/[\w$]/.test(c)) {
      const word = /[\w$]+/y;
      word.lastIndex = i;
      const name = word.exec(source)![0];
      // `x.import` and `import.meta` or `import(…)` are not declarations.
      if ((name === "import" || name === "export") && previous !== ".") {
        DECLARATION.lastIndex = i;
        const declaration = DECLARATION.exec(source);
        if (declaration) {
          specifiers.push(declaration[2]);
          i = DECLARATION.lastIndex;
          previous = declaration[1];
          continue;
        }
      }
      i += name.length;
      previous = KEYWORD_BEFORE_REGEX.test(name) ? ";" : "a";
    } else {
      if (c === "{") depth++;
      if (c === "}") depth--;
      previous = c;
      i++;
    }
  }
  return specifiers;
}

/** Every .ts file under `dir` (tests excluded), relative to the repository. */
function libFiles(dir: string): string[] {
  const files: string[] = [];
  for (const e of Deno.readDirSync(dir)) {
    const path = join(dir, e.name);
    if (e.isDirectory) files.push(...libFiles(path));
    else if (e.name.endsWith(".ts") && !e.name.endsWith("_test.ts")) {
      files.push(relative(REPO, path));
    }
  }
  return files.sort();
}

/** The static imports of every file under lib/ (tests excluded). */
function libImports(): StaticImport[] {
  return libFiles(LIB).flatMap((file) =>
    staticSpecifiers(Deno.readTextFileSync(join(REPO, file))).map((specifier) => ({
      file,
      specifier,
      target: /^\.\.?\//.test(specifier)
        ? relative(REPO, resolve(REPO, dirname(file), specifier))
        : null,
    }))
  );
}

/** The folder of a file under lib/: its first level (lib/api/server is lib/api). */
function folderOf(file: string): string {
  const parts = file.split("/");
  return parts[0] === "lib" && parts.length > 2 ? `lib/${parts[1]}` : file;
}

/**
 * The cycles of the folder graph: its strongly connected components of more
 * than one folder (Tarjan), each with the imports that close it.
 */
function folderCycles(imports: StaticImport[]): string[] {
  const edges = new Map<string, Map<string, StaticImport>>();
  for (const imp of imports) {
    if (imp.target === null) continue;
    const from = folderOf(imp.file);
    const to = folderOf(imp.target);
    if (from === to) continue;
    if (!edges.has(from)) edges.set(from, new Map());
    if (!edges.get(from)!.has(to)) edges.get(from)!.set(to, imp);
  }
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const components: string[][] = [];
  const visit = (folder: string) => {
    index.set(folder, index.size);
    low.set(folder, index.get(folder)!);
    stack.push(folder);
    for (const next of edges.get(folder)?.keys() ?? []) {
      if (!index.has(next)) {
        visit(next);
        low.set(folder, Math.min(low.get(folder)!, low.get(next)!));
      } else if (stack.includes(next)) {
        low.set(folder, Math.min(low.get(folder)!, index.get(next)!));
      }
    }
    if (low.get(folder) !== index.get(folder)) return;
    const component: string[] = [];
    for (let member = ""; member !== folder;) component.push(member = stack.pop()!);
    if (component.length > 1) components.push(component.sort());
  };
  for (const folder of [...edges.keys()].sort()) if (!index.has(folder)) visit(folder);
  return components.map((component) => {
    const closing = component.flatMap((from) =>
      component.filter((to) => edges.get(from)?.has(to)).map((to) => {
        const imp = edges.get(from)!.get(to)!;
        return `  ${from} -> ${to} (${imp.file} imports "${imp.specifier}")`;
      })
    );
    return [`cycle ${component.join(" <-> ")}:`, ...closing].join("\n");
  });
}

Deno.test("the import declarations of a module are found in code only", () => {
  const source = [
    "/**",
    " * ```ts",
    ' * import { x } from "./in_doc.ts";',
    " * ```",
    " */",
    'import { a, type B } from "./a.ts";',
    "import * as c from '../c/mod.ts';",
    "import {",
    "  d,",
    "  e,",
    '} from "./de.ts";',
    'import "./side_effect.ts";',
    'import type { F } from "node:f";',
    'export * from "./g.ts";',
    'export { h, type I } from "./hi.ts";',
    "const s = \"import { y } from './in_string.ts'\";",
    'const t = `${`import x from "./in_template.ts"`}`;',
    "const r = /import z from './in_regex.ts'/;",
    "const q = 1 / 2; // import w from './in_comment.ts'",
    'const m = await import("./dynamic.ts");',
    "console.log(import.meta.url, s, t, r, q, m);",
    'export const j = "j";',
  ].join("\n");
  assert.deepEqual(staticSpecifiers(source), [
    "./a.ts",
    "../c/mod.ts",
    "./de.ts",
    "./side_effect.ts",
    "node:f",
    "./g.ts",
    "./hi.ts",
  ]);
});

Deno.test("the folders under lib/ import each other without a cycle", () => {
  const cycles = folderCycles(libImports());
  assert.equal(cycles.length, 0, `import cycles between folders:\n${cycles.join("\n")}`);
});

Deno.test("lib/sys imports nothing but lib/sys and node: modules", () => {
  const outside = libImports().filter((imp) =>
    imp.file.startsWith("lib/sys/") &&
    (imp.target === null ? !imp.specifier.startsWith("node:") : folderOf(imp.target) !== "lib/sys")
  );
  assert.deepEqual(
    outside.map((imp) => `${imp.file} imports "${imp.specifier}"`),
    [],
    "lib/sys is the bottom layer",
  );
});

Deno.test("the shim's modules load no npm or node: module", () => {
  const imports = libImports();
  const byFile = Map.groupBy(imports, (imp) => imp.file);
  // Every file the shim's modules load, directly or not.
  const closure = new Set(libFiles(join(LIB, "shim")));
  for (const file of closure) {
    for (const imp of byFile.get(file) ?? []) if (imp.target) closure.add(imp.target);
  }
  const external = imports.filter((imp) => closure.has(imp.file) && imp.target === null);
  assert.deepEqual(
    external.map((imp) => `${imp.file} imports "${imp.specifier}"`),
    [],
    "the shim runs once per container and loads only corral's own modules",
  );
});
