/**
 * A real terminal for the tests: a tmux server of its own (`tmux -L NAME`),
 * a session running a command, keys typed with `send-keys`, the screen read
 * with `capture-pane`. `close` kills the server and everything in it.
 * @module
 */
import { sleep } from "./harness.ts";

/** Quote one word for `sh -c`. */
export function shellQuote(s: string): string {
  return `'${s.replaceAll("'", "'\\''")}'`;
}

/**
 * A tmux server with one window.
 *
 * @example
 * ```ts
 * const t = await Tmux.start("echo hi; sleep 5");
 * try {
 *   await t.untilScreen(/hi/);
 * } finally {
 *   await t.close();
 * }
 * ```
 */
export class Tmux {
  /** The server's socket file, which kill-server leaves behind. */
  #socketPath = "";

  private constructor(readonly socket: string) {}

  /** Run `command` (a shell line) in a new `cols`×`rows` terminal. */
  static async start(command: string, cols = 100, rows = 30): Promise<Tmux> {
    const t = new Tmux(`corral-test-${crypto.randomUUID().slice(0, 8)}`);
    // The shell stays after the command, so its exit code can be read on the screen.
    const line = `${command}; echo "EXIT=$?"; sleep 600`;
    await t.tmux("new-session", "-d", "-s", "main", "-x", String(cols), "-y", String(rows), line);
    t.#socketPath = (await t.tmux("display-message", "-p", "#{socket_path}")).trim();
    return t;
  }

  async tmux(...args: string[]): Promise<string> {
    const out = await new Deno.Command("tmux", {
      args: ["-L", this.socket, ...args],
      stdin: "null",
      env: { RUST_BACKTRACE: "0" },
    }).output();
    const text = new TextDecoder().decode(out.stdout);
    if (!out.success) {
      throw new Error(`tmux ${args.join(" ")}: ${new TextDecoder().decode(out.stderr)}`);
    }
    return text;
  }

  /** Type keys (tmux key names: "Enter", "C-p", or text). */
  async keys(...keys: string[]): Promise<void> {
    await this.tmux("send-keys", "-t", "main", ...keys);
  }

  /** Type a line and Enter. */
  async line(text: string): Promise<void> {
    await this.keys("-l", text);
    await this.keys("Enter");
  }

  /** The screen's text. */
  async screen(): Promise<string> {
    return await this.tmux("capture-pane", "-p", "-t", "main");
  }

  /** Wait until the screen matches `want`; its text. */
  async untilScreen(want: RegExp, ms = 20_000): Promise<string> {
    const deadline = Date.now() + ms;
    let text = "";
    while (Date.now() < deadline) {
      text = await this.screen();
      if (want.test(text)) return text;
      await sleep(100);
    }
    throw new Error(`the screen never showed ${want}:\n${text}`);
  }

  /** Resize the window (the terminal the command sees). */
  async resize(cols: number, rows: number): Promise<void> {
    await this.tmux("resize-window", "-t", "main", "-x", String(cols), "-y", String(rows));
  }

  /** Kill the server and its sessions, and remove its socket file. */
  async close(): Promise<void> {
    await this.tmux("kill-server").catch(() => "");
    if (this.#socketPath) await Deno.remove(this.#socketPath).catch(() => {});
  }
}
