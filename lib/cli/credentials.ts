/**
 * Registry credentials of `corral login`, kept as the docker CLI keeps them:
 * `config.json` with `{"auths": {"REGISTRY": {"auth": base64("user:pass")}}}`,
 * mode 0600, replaced atomically, in `$CORRAL_CONFIG` (default
 * `~/.corral`). Other keys of the file are kept as they are.
 * @module
 */
import { errorMessage, invalid } from "../errdefs/mod.ts";
// Not sys/mod.ts: its FFI and process modules cost every CLI call ~40 ms to load.
import { readJson, writeFileAtomic } from "../sys/atomic.ts";

/** A user name and password for a registry. */
export interface SavedCredentials {
  username: string;
  password: string;
}

interface ConfigFile {
  auths?: Record<string, { auth?: string }>;
  [key: string]: unknown;
}

/**
 * The directory of `config.json`.
 *
 * @example
 * ```ts
 * configDir(); // "/root/.corral" unless CORRAL_CONFIG says otherwise
 * ```
 */
export function configDir(): string {
  const dir = Deno.env.get("CORRAL_CONFIG");
  if (dir) return dir;
  const home = Deno.env.get("HOME");
  if (!home) throw invalid("no HOME to keep credentials in: set CORRAL_CONFIG");
  return `${home}/.corral`;
}

/**
 * The credentials file.
 *
 * @example
 * ```ts
 * const store = new CredentialFile("/root/.corral");
 * await store.save("127.0.0.1:5000", { username: "u", password: "p" });
 * await store.get("127.0.0.1:5000"); // { username: "u", password: "p" }
 * ```
 */
export class CredentialFile {
  readonly path: string;

  constructor(readonly dir: string = configDir()) {
    this.path = `${dir}/config.json`;
  }

  /** The credentials saved for `registry`, or null. */
  async get(registry: string): Promise<SavedCredentials | null> {
    const auth = (await this.#read()).auths?.[registry]?.auth;
    if (!auth) return null;
    let text: string;
    try {
      text = new TextDecoder().decode(Uint8Array.from(atob(auth), (c) => c.charCodeAt(0)));
    } catch {
      throw invalid(`${this.path}: the credentials of ${registry} are not base64`);
    }
    const colon = text.indexOf(":");
    if (colon < 0) throw invalid(`${this.path}: the credentials of ${registry} lack a ":"`);
    return { username: text.slice(0, colon), password: text.slice(colon + 1) };
  }

  /** Save credentials for `registry` (the file is created 0600 with its directory). */
  async save(registry: string, creds: SavedCredentials): Promise<void> {
    const doc = await this.#read();
    const bytes = new TextEncoder().encode(`${creds.username}:${creds.password}`);
    doc.auths = { ...doc.auths, [registry]: { auth: btoa(String.fromCharCode(...bytes)) } };
    await Deno.mkdir(this.dir, { recursive: true, mode: 0o700 });
    await writeFileAtomic(this.path, JSON.stringify(doc, null, "\t") + "\n", 0o600);
  }

  /** Forget `registry`'s credentials; false when there were none. */
  async remove(registry: string): Promise<boolean> {
    const doc = await this.#read();
    if (!doc.auths?.[registry]) return false;
    delete doc.auths[registry];
    await writeFileAtomic(this.path, JSON.stringify(doc, null, "\t") + "\n", 0o600);
    return true;
  }

  async #read(): Promise<ConfigFile> {
    let doc: unknown;
    try {
      doc = await readJson(this.path);
    } catch (err) {
      throw invalid(`cannot read ${this.path}: ${errorMessage(err)}`);
    }
    if (doc === null) return {};
    if (typeof doc !== "object" || Array.isArray(doc)) {
      throw invalid(`${this.path}: expected a JSON object`);
    }
    return doc as ConfigFile;
  }
}
