/**
 * Terminals for runs (`RunOptions.tty`): the size check, and the host side of the launcher's
 * control FIFO. The launcher makes the FIFO in the run's private 0700 dir and reads "COLS ROWS\n"
 * records from it (launcher/tty.c); Deno cannot ioctl a terminal, so a resize is one such record.
 *
 * @module
 */

import * as fs from "node:fs";
import { checkFields, describeValue, validateInt } from "./parse.ts";
import type { TtySize } from "./types.ts";

/**
 * Checks a terminal size: an object with integer `cols` and `rows`, 1 to 65535.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { validateTtySize } from "./tty.ts";
 * assert.deepEqual(validateTtySize({ cols: 80, rows: 24 }, "options.tty"), { cols: 80, rows: 24 });
 * assert.throws(() => validateTtySize({ cols: 0, rows: 24 }, "options.tty"), /options.tty.cols 0/);
 * assert.throws(() => validateTtySize(true, "options.tty"), /expected an object/);
 * ```
 */
export function validateTtySize(value: unknown, field: string): TtySize {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new TypeError(
      `Invalid ${field} ${describeValue(value)}: expected an object like { cols: 80, rows: 24 }`,
    );
  }
  checkFields(value, { name: field, allowed: ["cols", "rows"] });
  const v = value as Record<string, unknown>;
  return {
    cols: validateInt(v.cols, `${field}.cols`, 1, 65535),
    rows: validateInt(v.rows, `${field}.rows`, 1, 65535),
  };
}

/** The control FIFO's name next to a run's status file. */
export function ttyControlPath(statusPath: string): string {
  return `${statusPath}.tty`;
}

/** How long a resize waits for the launcher to make its FIFO (it does so before the sandbox). */
const READY_MS = 5000;
const RETRY_MS = 10;

/**
 * Writes window sizes to a run's control FIFO, the latest size winning. Never blocks: the FIFO
 * is opened non-blocking (a FIFO without a reader, the launcher gone, fails with ENXIO instead
 * of hanging) and only a run that still runs is written to.
 */
export class TtyControl {
  #path: string;
  #running: () => boolean;
  #want: TtySize | null = null;
  #pump: Promise<void> | null = null;

  /** `running` says whether the launcher may still read the FIFO. */
  constructor(path: string, running: () => boolean) {
    this.#path = path;
    this.#running = running;
  }

  /** Asks for a new size; resolves once it was written (or the run is over). */
  resize(size: TtySize): Promise<void> {
    this.#want = size;
    this.#pump ??= this.#send().finally(() => this.#pump = null);
    return this.#pump;
  }

  async #send(): Promise<void> {
    const deadline = Date.now() + READY_MS;
    while (this.#want && this.#running()) {
      const { cols, rows } = this.#want;
      if (this.#write(`${cols} ${rows}\n`)) {
        if (this.#want.cols === cols && this.#want.rows === rows) this.#want = null;
        continue;
      }
      if (Date.now() > deadline) return;
      await new Promise((r) => setTimeout(r, RETRY_MS));
    }
  }

  /** One record; false when the FIFO is not there (yet) or has no reader. */
  #write(record: string): boolean {
    let fd: number;
    try {
      const c = fs.constants;
      fd = fs.openSync(this.#path, c.O_WRONLY | c.O_NONBLOCK | c.O_NOFOLLOW);
    } catch {
      return false; // not made yet, or the launcher is gone (ENOENT, ENXIO)
    }
    try {
      // Shorter than PIPE_BUF: written whole or not at all.
      fs.writeSync(fd, record);
      return true;
    } catch {
      return false; // full (EAGAIN): the launcher reads it promptly, so try again
    } finally {
      fs.closeSync(fd);
    }
  }
}
