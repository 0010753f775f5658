/**
 * Errors a caller is expected to catch. Bad arguments are `TypeError`/`RangeError` instead.
 *
 * @module
 */

import type { SetupStep } from "./abi.ts";

/**
 * Base class of every sandbox error. Also thrown as is when the launcher cannot be started or
 * ends without a result.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { SandboxBuilder, SandboxError } from "../mod.ts";
 *
 * const error = await new SandboxBuilder("e").build().run("/no/such/program")
 *   .catch((e) => e);
 * assert.ok(error instanceof SandboxError);
 * ```
 */
export class SandboxError extends Error {
  /** The error class name. */
  override name = "SandboxError";
}

/**
 * Describes where a sandbox setup failed; every {@linkcode SandboxSetupError} carries these
 * fields.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { SandboxSetupError, type SetupFailure } from "../mod.ts";
 *
 * const failure: SetupFailure = { step: "bind", errno: "ENOENT", path: "/data", exitCode: 125 };
 * assert.equal(new SandboxSetupError(failure).path, "/data");
 * ```
 */
export interface SetupFailure {
  /** The launcher step, e.g. `"bind"`, `"exec"`, `"uid-map"`. */
  step: SetupStep;
  /** The errno name, e.g. `"ENOENT"`. */
  errno: string;
  /** The path involved, when the step had one. */
  path: string | null;
  /** The launcher's exit code: 125 setup, 126 not executable, 127 not found. */
  exitCode: number;
}

/**
 * The sandbox could not be set up; the target never ran. `step` is the launcher step that failed
 * (`bind`, `tmpfs`, `uid-map`, `landlock`, `exec`, …), `errno` its error, `path` the path of the
 * mount or program involved (for a mount, its destination inside the sandbox), `exitCode` the
 * CLI's exit code (125; 126/127 for the subclasses). `Sandbox.run()` also sets `stderr`, where
 * the launcher wrote its own message.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { SandboxBuilder, SandboxSetupError } from "../mod.ts";
 *
 * const sandbox = new SandboxBuilder("e").bind("/no/such/dir", "/data").build();
 * const error = await sandbox.run("true").catch((e) => e);
 * assert.ok(error instanceof SandboxSetupError);
 * assert.equal(error.step, "bind");
 * assert.equal(error.errno, "ENOENT");
 * assert.equal(error.exitCode, 125);
 * ```
 */
export class SandboxSetupError extends SandboxError implements SetupFailure {
  /** The error class name. */
  override name = "SandboxSetupError";
  /** The setup step that failed. */
  readonly step: SetupStep;
  /** The errno name of the failure (`"ENOENT"`). */
  readonly errno: string;
  /** The path the step worked on, if any. */
  readonly path: string | null;
  /** The launcher's exit code: 127 not found, 126 not executable, else 125. */
  readonly exitCode: number;
  /** The target's stderr up to the failure (the launcher's own message is there too). */
  stderr = "";
  /** An error for the failure `f`; `message` replaces the default one. */
  constructor(f: SetupFailure, message?: string) {
    super(
      message ??
        `Sandbox setup failed at step "${f.step}"${f.path ? ` for "${f.path}"` : ""}: ${f.errno}`,
    );
    this.step = f.step;
    this.errno = f.errno;
    this.path = f.path;
    this.exitCode = f.exitCode;
  }
}

/**
 * The program was not found inside the sandbox (exit code 127). Programs are looked up on the
 * sandbox's `PATH` inside the sandbox's root, not the host's.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ProgramNotFoundError, SandboxBuilder } from "../mod.ts";
 *
 * const error = await new SandboxBuilder("e").build().run("no-such-program").catch((e) => e);
 * assert.ok(error instanceof ProgramNotFoundError);
 * assert.equal(error.exitCode, 127);
 * assert.equal(error.path, "no-such-program");
 * ```
 */
export class ProgramNotFoundError extends SandboxSetupError {
  /** The error class name. */
  override name = "ProgramNotFoundError";
  /** An error for the failure `f`. */
  constructor(f: SetupFailure) {
    super(f, `Program "${f.path}" not found inside the sandbox (${f.errno})`);
  }
}

/**
 * The program exists inside the sandbox but cannot be executed (exit code 126): a directory, no
 * execute permission, not an executable format, busy.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ProgramNotExecutableError, SandboxBuilder } from "../mod.ts";
 *
 * const error = await new SandboxBuilder("e").build().run("/etc").catch((e) => e);
 * assert.ok(error instanceof ProgramNotExecutableError);
 * assert.equal(error.exitCode, 126);
 * ```
 */
export class ProgramNotExecutableError extends SandboxSetupError {
  /** The error class name. */
  override name = "ProgramNotExecutableError";
  /** An error for the failure `f`. */
  constructor(f: SetupFailure) {
    super(f, `Program "${f.path}" is not executable inside the sandbox (${f.errno})`);
  }
}

/**
 * The launcher binary is missing, not executable or could not be built (no `make` or C
 * compiler); thrown by `build()` (or the first run of a `new Sandbox()`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { LauncherError, SandboxBuilder } from "../mod.ts";
 *
 * const builder = new SandboxBuilder("e").launcherPath("/no/such/launcher");
 * assert.throws(() => builder.build(), LauncherError);
 * ```
 */
export class LauncherError extends SandboxError {
  /** The error class name. */
  override name = "LauncherError";
}

/**
 * The machine cannot provide what the configuration requires: namespaces asked for with
 * `namespaces: true` where user namespaces are refused, Landlock `required` on a kernel that
 * cannot do it, an unreadable rootfs, an unsupported architecture, or (as its subclass
 * `LimitUnavailableError`) a limit that cannot be enforced in `strict` mode. Thrown by `build()`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { SandboxBuilder, UnsupportedError } from "../mod.ts";
 *
 * const builder = new SandboxBuilder("e").rootfs("/no/such/rootfs");
 * assert.throws(() => builder.build(), UnsupportedError);
 * ```
 */
export class UnsupportedError extends SandboxError {
  /** The error class name. */
  override name = "UnsupportedError";
}

/**
 * A memory, pids or CPU-share limit that cannot be applied in `strict` mode (no writable cgroup:
 * not root and no delegated cgroup v2 subtree, or a cgroup v1 hierarchy that is not writable).
 * Thrown by `SandboxBuilder.build()`; the message names the limit, the reason and the ways out.
 * A subclass of {@linkcode UnsupportedError}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { LimitUnavailableError, SandboxBuilder } from "../mod.ts";
 *
 * const builder = new SandboxBuilder("job").memoryLimit("256M");
 * let sandbox;
 * try {
 *   sandbox = builder.build();
 * } catch (e) {
 *   if (!(e instanceof LimitUnavailableError)) throw e;
 *   sandbox = builder.limitsMode("best-effort").build(); // RLIMIT_DATA instead, and reported
 * }
 * assert.equal(sandbox.enforced.limits.memoryBytes, 256 * 1024 * 1024);
 * ```
 */
export class LimitUnavailableError extends UnsupportedError {
  /** The error class name. */
  override name = "LimitUnavailableError";
}
