/**
 * Archive entry paths made safe: relative, without "." or empty components,
 * and never climbing out of the extraction root.
 * @module
 */
import { invalid } from "../errdefs/mod.ts";

/**
 * Clean an entry path into a relative path inside the root ("" is the root
 * itself). Leading slashes are dropped (absolute means "from the image
 * root"); ".." that would leave the root is an `invalid` error.
 *
 * @example
 * ```ts
 * cleanEntryPath("./usr//bin/../lib/"); // "usr/lib"
 * cleanEntryPath("/etc/passwd"); // "etc/passwd"
 * cleanEntryPath("../../x"); // throws invalid
 * ```
 */
export function cleanEntryPath(path: string): string {
  if (path.includes("\0")) {
    throw invalid(`archive entry path contains a NUL byte: ${JSON.stringify(path)}`);
  }
  const out: string[] = [];
  for (const part of path.split("/")) {
    if (part === "" || part === ".") continue;
    if (part === "..") {
      if (out.length === 0) throw invalid(`archive entry path escapes the root: ${path}`);
      out.pop();
      continue;
    }
    out.push(part);
  }
  return out.join("/");
}
