/**
 * `docker import --change`: Dockerfile instructions that set the config of
 * an imported image. The ones corral keeps in an image config are applied;
 * the others (health checks, ONBUILD) are refused by name.
 * @module
 */
import { invalid } from "../errdefs/mod.ts";
import type { ImageConfig } from "./model.ts";

const REFUSED: Record<string, string> = {
  HEALTHCHECK: "use --health-cmd at run time (images loaded with one keep it)",
  ONBUILD: "corral builds no images",
};

/**
 * The config set by `--change` instructions, applied in order.
 *
 * @example
 * ```ts
 * parseImportChanges(['CMD ["/bin/sh"]', "ENV A=1 B=two", "WORKDIR /srv"]);
 * // { Cmd: ["/bin/sh"], Env: ["A=1", "B=two"], WorkingDir: "/srv" }
 * parseImportChanges(["CMD echo hi"]); // { Cmd: ["/bin/sh", "-c", "echo hi"] }
 * ```
 */
export function parseImportChanges(changes: string[]): Partial<ImageConfig> {
  const config: Partial<ImageConfig> = {};
  for (const change of changes) {
    const m = /^\s*(\S+)\s*([\s\S]*?)\s*$/.exec(change);
    if (!m) continue;
    const instruction = m[1].toUpperCase();
    const rest = m[2];
    if (instruction in REFUSED) {
      throw invalid(
        `import --change ${instruction} is not supported by corral: ${REFUSED[instruction]}`,
      );
    }
    const needArgument = () => {
      if (rest === "") throw invalid(`import --change ${instruction} needs an argument`);
      return rest;
    };
    switch (instruction) {
      case "CMD":
        config.Cmd = commandForm(needArgument());
        break;
      case "ENTRYPOINT":
        config.Entrypoint = commandForm(needArgument());
        break;
      case "ENV":
        for (const [key, value] of keyValues(needArgument(), instruction)) {
          config.Env = [
            ...(config.Env ?? []).filter((e) => !e.startsWith(`${key}=`)),
            `${key}=${value}`,
          ];
        }
        break;
      case "LABEL":
        for (const [key, value] of keyValues(needArgument(), instruction)) {
          config.Labels = { ...config.Labels, [key]: value };
        }
        break;
      case "WORKDIR":
        config.WorkingDir = needArgument();
        break;
      case "USER":
        config.User = needArgument();
        break;
      case "VOLUME":
        for (const path of volumePaths(needArgument())) {
          if (!path.startsWith("/")) {
            throw invalid(`import --change VOLUME: ${path} is not an absolute path`);
          }
          config.Volumes = { ...config.Volumes, [path]: {} };
        }
        break;
      case "STOPSIGNAL":
        config.StopSignal = needArgument();
        break;
      case "EXPOSE":
        for (const port of needArgument().split(/\s+/)) {
          const key = port.includes("/") ? port.toLowerCase() : `${port}/tcp`;
          config.ExposedPorts = { ...config.ExposedPorts, [key]: {} };
        }
        break;
      default:
        throw invalid(`import --change: ${m[1]} is not a valid change command`);
    }
  }
  return config;
}

/** VOLUME's paths: a JSON list of strings, or words. */
function volumePaths(arg: string): string[] {
  if (arg.startsWith("[")) {
    let list: unknown;
    try {
      list = JSON.parse(arg);
    } catch {
      throw invalid(`import --change VOLUME: ${arg} is not a JSON list`);
    }
    if (!Array.isArray(list) || !list.every((p) => typeof p === "string")) {
      throw invalid(`import --change VOLUME: ${arg} is not a list of strings`);
    }
    return list;
  }
  return arg.split(/\s+/);
}

/** The exec form (a JSON list of strings) or the shell form, run by /bin/sh -c. */
function commandForm(arg: string): string[] {
  if (arg.startsWith("[")) {
    try {
      const list = JSON.parse(arg);
      if (Array.isArray(list) && list.every((s) => typeof s === "string")) return list;
    } catch {
      // Not JSON: Docker takes it as the shell form too.
    }
  }
  return ["/bin/sh", "-c", arg];
}

/** `k=v k2="v 2"` pairs, or the legacy `KEY some value` form. */
function keyValues(arg: string, instruction: string): [string, string][] {
  const legacy = /^([^\s=]+)\s+([\s\S]*)$/.exec(arg);
  if (legacy) return [[legacy[1], legacy[2]]];
  return shellWords(arg).map((word) => {
    const eq = word.indexOf("=");
    if (eq <= 0) throw invalid(`import --change ${instruction}: "${word}" is not KEY=VALUE`);
    return [word.slice(0, eq), word.slice(eq + 1)];
  });
}

/** Split on blanks outside quotes; quotes and backslash escapes are removed. */
function shellWords(text: string): string[] {
  const words: string[] = [];
  let word = "";
  let inWord = false;
  let quote: string | null = null;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (quote === "'") {
      if (ch === "'") quote = null;
      else word += ch;
    } else if (ch === "\\" && i + 1 < text.length) {
      word += text[++i];
      inWord = true;
    } else if (quote === '"') {
      if (ch === '"') quote = null;
      else word += ch;
    } else if (ch === '"' || ch === "'") {
      quote = ch;
      inWord = true;
    } else if (/\s/.test(ch)) {
      if (inWord) words.push(word);
      word = "";
      inWord = false;
    } else {
      word += ch;
      inWord = true;
    }
  }
  if (quote !== null) throw invalid(`import --change: unterminated quote in ${text}`);
  if (inWord) words.push(word);
  return words;
}
