/**
 * The options of one run (`Sandbox.run()`, `Sandbox.spawn()`), checked up front: stdin modes
 * apart from input data, the per-run `timeout` and `maxOutput`, and a clear refusal of the limits
 * that belong to the sandbox (they shape its cgroup, which every run shares).
 *
 * @module
 */

import { checkFields, describeValue, parseDuration, parseNonZeroSize } from "./parse.ts";
import { validateAbsolutePath, validateEnv } from "./parse.ts";
import { validateTtySize } from "./tty.ts";
import type { RunInput, RunOptions, StdinMode, TtySize } from "./types.ts";

/** One run's options, validated: what `SandboxChild` needs. */
export interface RunSettings {
  /** Where stdin comes from: a mode, or `"input"` when `input` holds the data. */
  stdin: StdinMode | "input";
  /** The data for stdin when `stdin` is `"input"`. */
  input: RunInput | null;
  /** This run's wall-clock limit in ms, when it overrides the sandbox's. */
  timeoutMs?: number;
  /** This run's output cap in bytes, when it overrides the sandbox's. */
  maxOutputBytes?: number;
  signal?: AbortSignal;
  env?: Record<string, string>;
  cwd?: string;
  /** A pseudo-terminal of this size instead of pipes. */
  tty?: TtySize;
}

const STDIN_MODES: readonly StdinMode[] = ["null", "piped", "inherit"];

/** The config fields that set sandbox-wide limits: refused per run, with the reason. */
const SANDBOX_WIDE = [
  "memory",
  "maxPids",
  "cpuPercent",
  "cpuQuota",
  "cpuTime",
  "openFiles",
  "fileSize",
  "limits",
];

const ALLOWED = ["stdin", "input", "timeout", "maxOutput", "signal", "env", "cwd", "tty"];

/**
 * Validates the options of one run. `how.capture` is true for `run()`, which has no handle to
 * write a piped stdin through, so `"piped"` is refused there instead of hanging to the timeout.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { validateRunOptions } from "./run_options.ts";
 * assert.equal(validateRunOptions({ cwd: "/tmp//" }).cwd, "/tmp");
 * assert.equal(validateRunOptions({ timeout: "1500ms" }).timeoutMs, 1500);
 * assert.equal(validateRunOptions({ input: "null" }).stdin, "input");
 * assert.throws(() => validateRunOptions({ stdin: "hello" }), /pass data as options.input/);
 * assert.throws(() => validateRunOptions({ memory: "1G" }), /sandbox-wide limit/);
 * ```
 */
export function validateRunOptions(
  options: unknown,
  how: { capture?: boolean } = {},
): RunSettings {
  if (typeof options !== "object" || options === null || Array.isArray(options)) {
    throw new TypeError(`Invalid options ${describeValue(options)}: expected an object`);
  }
  for (const key of Object.keys(options)) {
    if (SANDBOX_WIDE.includes(key)) {
      throw new RangeError(
        `Invalid options.${key}: "${key}" is a sandbox-wide limit (it shapes the cgroup every run of the sandbox shares); set it on the sandbox, or use a sandbox per limit. Per run: ${
          ALLOWED.join(", ")
        }`,
      );
    }
  }
  checkFields(options, { name: "options", allowed: ALLOWED });
  const given = options as RunOptions;
  const out: RunSettings = { stdin: "null", input: null };
  if (given.stdin !== undefined) {
    if (typeof given.stdin !== "string" || !(STDIN_MODES as string[]).includes(given.stdin)) {
      const data = typeof given.stdin === "string" ||
        given.stdin as unknown instanceof Uint8Array ||
        given.stdin as unknown instanceof ReadableStream;
      throw new (typeof given.stdin === "string" ? RangeError : TypeError)(
        `Invalid options.stdin ${
          describeValue(given.stdin)
        }: expected "null", "piped" or "inherit"${data ? "; pass data as options.input" : ""}`,
      );
    }
    out.stdin = given.stdin;
  }
  if (given.input !== undefined) {
    const input = given.input as unknown;
    if (
      typeof input !== "string" && !(input instanceof Uint8Array) &&
      !(input instanceof ReadableStream)
    ) {
      throw new TypeError(
        `Invalid options.input ${
          describeValue(input)
        }: expected a string, a Uint8Array or a ReadableStream`,
      );
    }
    if (given.stdin !== undefined) {
      throw new RangeError(
        `Conflicting options.stdin ${
          describeValue(given.stdin)
        } and options.input: the input is the stdin; give one of them`,
      );
    }
    out.stdin = "input";
    out.input = input;
  }
  if (how.capture && out.stdin === "piped") {
    throw new RangeError(
      `Invalid options.stdin "piped" for run(): nothing could write to it; use spawn() for a writable stdin, or options.input for data`,
    );
  }
  if (given.timeout !== undefined) out.timeoutMs = parseDuration(given.timeout, "options.timeout");
  if (given.maxOutput !== undefined) {
    out.maxOutputBytes = parseNonZeroSize(given.maxOutput, "options.maxOutput");
  }
  if (given.env !== undefined) out.env = validateEnv(given.env, "options.env");
  if (given.cwd !== undefined) out.cwd = validateAbsolutePath(given.cwd, "options.cwd");
  if (given.tty !== undefined) out.tty = validateTtySize(given.tty, "options.tty");
  if (given.signal !== undefined) {
    if (!(given.signal instanceof AbortSignal)) {
      throw new TypeError(
        `Invalid options.signal ${describeValue(given.signal)}: expected an AbortSignal`,
      );
    }
    out.signal = given.signal;
  }
  return out;
}
