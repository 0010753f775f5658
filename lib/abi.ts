/**
 * The launcher's contract with its caller outside the frame: exit codes and the signals it
 * forwards to the target. `launcher/abi.h` holds the same values for C; `tests/abi_test.ts`
 * fails when the two disagree. Change both together.
 *
 * @module
 */

/**
 * Exit codes of the launcher (and of the CLI) that are not the target's own: what
 * {@linkcode exitCodeFor} and `SandboxSetupError.exitCode` return in those cases.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { EXIT, exitCodeFor, SandboxBuilder } from "../mod.ts";
 *
 * const result = await new SandboxBuilder("x").timeout(50).build().run("sleep", ["5"]);
 * assert.equal(exitCodeFor(result), EXIT.timeout);
 * const error = await new SandboxBuilder("x").build().run("no-such-program").catch((e) => e);
 * assert.equal(error.exitCode, EXIT.notFound);
 * ```
 */
export const EXIT = {
  /** The wall-clock limit fired. */
  timeout: 124,
  /** The sandbox could not be built. */
  setup: 125,
  /** The program exists but could not be executed. */
  notExecutable: 126,
  /** The program does not exist. */
  notFound: 127,
  /** Plus N: the target died of signal N. */
  signalBase: 128,
} as const;

/**
 * Signals the launcher forwards to the target, in `abi.h`'s order; anything else kills it.
 * `SandboxChild.kill()` sends these on and kills the whole sandbox for any other.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { FORWARDED_SIGNALS } from "./abi.ts";
 * assert(FORWARDED_SIGNALS.includes("SIGTERM") && !FORWARDED_SIGNALS.includes("SIGKILL"));
 * ```
 */
export const FORWARDED_SIGNALS: readonly Deno.Signal[] = [
  "SIGHUP",
  "SIGINT",
  "SIGQUIT",
  "SIGTERM",
  "SIGUSR1",
  "SIGUSR2",
  "SIGCONT",
  "SIGWINCH",
  "SIGALRM",
];
