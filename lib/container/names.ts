/**
 * Container ids and names.
 * @module
 */
import { invalid } from "../errdefs/mod.ts";

const NAME_RE = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;
const MAX_NAME_LENGTH = 128;

/** A new 64-hex-digit container id. */
export function newId(): string {
  const b = crypto.getRandomValues(new Uint8Array(32));
  return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
}

/**
 * Validate a user-given name (a leading "/" is accepted, as Docker does) and
 * return it without the slash.
 *
 * @example
 * ```ts
 * validateName("/web-1"); // "web-1"
 * validateName("-x"); // throws invalid
 * ```
 */
export function validateName(name: string): string {
  const n = name.startsWith("/") ? name.slice(1) : name;
  if (n.length > MAX_NAME_LENGTH) {
    throw invalid(
      `invalid container name: ${n.length} characters, at most ${MAX_NAME_LENGTH} are allowed`,
    );
  }
  if (!NAME_RE.test(n)) {
    throw invalid(`invalid container name "${name}": only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed`);
  }
  return n;
}

const adjectives = [
  "brave",
  "calm",
  "eager",
  "fair",
  "gentle",
  "happy",
  "keen",
  "lucid",
  "merry",
  "nimble",
  "quiet",
  "swift",
];
const nouns = [
  "badger",
  "crane",
  "falcon",
  "heron",
  "ibex",
  "lynx",
  "marten",
  "otter",
  "puffin",
  "raven",
  "stoat",
  "wren",
];

/** A readable generated name, like Docker's `adjective_noun`, made unique by a suffix. */
export function generateName(taken: (n: string) => boolean): string {
  for (let i = 0;; i++) {
    const a = adjectives[Math.floor(Math.random() * adjectives.length)];
    const n = nouns[Math.floor(Math.random() * nouns.length)];
    const name = i < 10 ? `${a}_${n}` : `${a}_${n}_${i}`;
    if (!taken(name)) return name;
  }
}
