/**
 * The CLI's side of a run on a terminal (`sandbox run --tty`, `sandbox shell`): the host
 * terminal in raw mode (every key, Ctrl-C included, goes to the program; the sandbox's own
 * terminal does the line editing and signals), its size passed on at start and on every
 * SIGWINCH, and the host terminal restored on every way out — the program's exit, a kill, a
 * timeout, an error in the CLI, SIGTERM or SIGHUP to the CLI, and `Deno.exit()` (the `unload`
 * event).
 *
 * @module
 */

import type { SandboxChild } from "./run.ts";
import type { TtySize } from "./types.ts";
import { UsageError } from "./cli_args.ts";

/** The size used when no terminal says one (stdout redirected as well as stdin). */
const FALLBACK: TtySize = { cols: 80, rows: 24 };

/** The default program of `sandbox shell`: bash when the sandbox has it, else sh. */
export const DEFAULT_SHELL = [
  "sh",
  "-c",
  "command -v bash >/dev/null 2>&1 && exec bash -i; exec sh -i",
] as const;

/** The size of this process's terminal (stdout's, else stdin's), or 80x24. */
export function hostTerminalSize(): TtySize {
  try {
    const { columns, rows } = Deno.consoleSize();
    if (columns > 0 && rows > 0) return { cols: columns, rows };
  } catch {
    // no terminal on stdin, stdout or stderr: the fallback
  }
  return FALLBACK;
}

/**
 * The host terminal while a run uses one: raw mode when stdin is a terminal (`required`: else a
 * usage error), the window size forwarded, and `restore()` (idempotent) on every path.
 */
export class HostTerminal {
  #raw = false;
  #child: SandboxChild | null = null;
  #onWinch = () => {
    this.#child?.resize(...sizeArgs(hostTerminalSize())).catch(() => {
      // the run ended meanwhile: nothing to resize
    });
  };
  #onUnload = () => this.restore();

  /** Puts the host terminal into raw mode (when stdin is one). */
  constructor(how: { required: boolean; command: string }) {
    if (!Deno.stdin.isTerminal()) {
      if (how.required) {
        throw new UsageError(
          `"sandbox ${how.command}" needs a terminal on stdin, and stdin is not one; for pipes use "sandbox run", or "sandbox run --tty" to give the program a terminal of its own anyway`,
        );
      }
      return;
    }
    // Restored by Deno.exit() too: the CLI's last word is always `Deno.exit(code)`.
    globalThis.addEventListener("unload", this.#onUnload);
    Deno.stdin.setRaw(true);
    this.#raw = true;
  }

  /** The size to start the program's terminal with. */
  get size(): TtySize {
    return hostTerminalSize();
  }

  /** Forwards window-size changes to `child` until `restore()`. */
  follow(child: SandboxChild): void {
    this.#child = child;
    if (Deno.stdout.isTerminal() || Deno.stdin.isTerminal()) {
      Deno.addSignalListener("SIGWINCH", this.#onWinch);
    }
  }

  /** Leaves raw mode and stops forwarding; safe to call more than once. */
  restore(): void {
    if (this.#child) {
      try {
        Deno.removeSignalListener("SIGWINCH", this.#onWinch);
      } catch {
        // never added (no terminal)
      }
      this.#child = null;
    }
    if (this.#raw) {
      this.#raw = false;
      globalThis.removeEventListener("unload", this.#onUnload);
      Deno.stdin.setRaw(false);
    }
  }
}

function sizeArgs(size: TtySize): [number, number] {
  return [size.cols, size.rows];
}
