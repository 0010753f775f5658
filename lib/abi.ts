/**
 * The launcher's contract with its caller outside the frame: exit codes, the signals it
 * forwards to the target, and the step names of its `error` records. `launcher/abi.h` (and the
 * launcher's step table) hold the same values for C; `tests/abi_test.ts` fails when the two
 * disagree. Change both together.
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

/** Sent to the launcher: kill the whole sandbox now and still write the result (`abi.h`). */
export const KILL_SIGNAL: Deno.Signal = "SIGPWR";

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

/**
 * The steps the launcher names when a setup fails (the `error` record of the status file), in
 * its order of execution, roughly; `"unknown"` for a step number it has no name for.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { SETUP_STEPS } from "./abi.ts";
 * assert(SETUP_STEPS.includes("bind") && SETUP_STEPS.includes("exec"));
 * ```
 */
export const SETUP_STEPS = [
  "none",
  "parse",
  "status",
  "pipe",
  "signals",
  "cgroup",
  "clone",
  "uid-map",
  "gid-map",
  "sync",
  "mount-private",
  "mount-base",
  "pivot-root",
  "mkdir",
  "bind",
  "remount",
  "tmpfs",
  "proc",
  "dev",
  "symlink",
  "hostname",
  "loopback",
  "fork",
  "chdir",
  "rlimit",
  "setsid",
  "setgid",
  "setuid",
  "caps",
  "no-new-privs",
  "landlock",
  "seccomp",
  "seccomp-listener",
  "exec",
  "overlay",
  "mask",
  "close-fds",
  "host-link",
  "dest-link",
  "host-ids",
  "userns-limit",
  "cgroupfs",
  "idmap",
  "stdio",
  "request",
  "unknown",
] as const;

/**
 * A launcher step that can fail (`SandboxSetupError.step`): `"bind"`, `"tmpfs"`, `"overlay"`
 * and the other mount steps, `"uid-map"`, `"cgroup"`, `"landlock"`, `"seccomp"`, `"exec"`, ….
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { SandboxBuilder, type SetupStep } from "../mod.ts";
 *
 * const error = await new SandboxBuilder("s").build().run("/etc").catch((e) => e);
 * const step: SetupStep = error.step;
 * assert.equal(step, "exec");
 * ```
 */
export type SetupStep = typeof SETUP_STEPS[number];

/**
 * A step name from the status file as a {@linkcode SetupStep}; `"unknown"` for a word this
 * version does not know (a newer launcher).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { setupStep } from "./abi.ts";
 * assert.equal(setupStep("bind"), "bind");
 * assert.equal(setupStep("teleport"), "unknown");
 * ```
 */
export function setupStep(word: string): SetupStep {
  return (SETUP_STEPS as readonly string[]).includes(word) ? word as SetupStep : "unknown";
}
