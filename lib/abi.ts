/**
 * The launcher's contract with its caller outside the frame: exit codes and the signals it
 * forwards to the target. `launcher/abi.h` holds the same values for C; `tests/abi_test.ts`
 * fails when the two disagree. Change both together.
 *
 * @module
 */

/** Exit codes of the launcher (and of the CLI) that are not the target's own. */
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

/** Signals the launcher forwards to the target, in `abi.h`'s order; anything else kills it. */
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
