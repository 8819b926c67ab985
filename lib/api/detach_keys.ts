/**
 * Detach keys: the byte sequence that, typed into an attached stdin, ends the
 * attach and leaves the container running (Docker's `ctrl-p,ctrl-q` by
 * default, `detachKeys=` / `--detach-keys` otherwise).
 * @module
 */
import { invalid } from "../errdefs/mod.ts";

/** Docker's default detach keys. */
export const DEFAULT_DETACH_KEYS = "ctrl-p,ctrl-q";

/** The control characters `ctrl-X` names besides the letters. */
const CTRL_SYMBOLS: Record<string, number> = {
  "@": 0,
  "[": 27,
  "\\": 28,
  "]": 29,
  "^": 30,
  "_": 31,
};

/**
 * The bytes of a detach key spec: comma-separated keys, each one character
 * or `ctrl-` and a letter or one of `@[\]^_`.
 *
 * @example
 * ```ts
 * parseDetachKeys("ctrl-p,ctrl-q"); // [16, 17]
 * parseDetachKeys("ctrl-a,x"); // [1, 120]
 * parseDetachKeys("ctrl-1"); // throws invalid
 * ```
 */
export function parseDetachKeys(spec: string): number[] {
  return spec.split(",").map((key) => {
    if (key.length === 1) return key.charCodeAt(0);
    const m = key.toLowerCase().match(/^ctrl-(.)$/);
    if (m && m[1] >= "a" && m[1] <= "z") return m[1].charCodeAt(0) - 96;
    if (m && m[1] in CTRL_SYMBOLS) return CTRL_SYMBOLS[m[1]];
    throw invalid(`invalid detach keys "${spec}": expected keys such as ctrl-p,ctrl-q`);
  });
}

/**
 * Finds the detach sequence in stdin as it flows: bytes that may start the
 * sequence are held back until it is complete (detach) or broken (they pass).
 *
 * @example
 * ```ts
 * const scan = new DetachScanner([16, 17]);
 * scan.push(new Uint8Array([104, 16])); // { pass: [104], detached: false }
 * scan.push(new Uint8Array([17])); // { pass: [], detached: true }
 * ```
 */
export class DetachScanner {
  #matched = 0;

  constructor(readonly keys: number[]) {}

  /** The bytes of `chunk` to pass on, and whether the sequence completed in it. */
  push(chunk: Uint8Array): { pass: Uint8Array; detached: boolean } {
    if (this.keys.length === 0) return { pass: chunk, detached: false };
    const out: number[] = [];
    for (const b of chunk) {
      if (b === this.keys[this.#matched]) {
        if (++this.#matched === this.keys.length) {
          return { pass: new Uint8Array(out), detached: true };
        }
        continue;
      }
      // A broken partial match: its bytes were input after all.
      out.push(...this.keys.slice(0, this.#matched));
      this.#matched = 0;
      if (b === this.keys[0]) this.#matched = 1;
      else out.push(b);
    }
    return { pass: new Uint8Array(out), detached: false };
  }
}
