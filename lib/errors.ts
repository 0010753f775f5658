/**
 * Errors a caller is expected to catch. Bad arguments are `TypeError`/`RangeError` instead.
 *
 * @module
 */

/** Base class of every sandbox error. */
export class SandboxError extends Error {
  override name = "SandboxError";
}

/** Describes where a sandbox setup failed. */
export interface SetupFailure {
  /** The launcher step, e.g. `"bind"`, `"exec"`, `"uid-map"`. */
  step: string;
  /** The errno name, e.g. `"ENOENT"`. */
  errno: string;
  /** The path involved, when the step had one. */
  path: string | null;
  /** The launcher's exit code: 125 setup, 126 not executable, 127 not found. */
  exitCode: number;
}

/**
 * The sandbox could not be set up; the target never ran.
 *
 * @example
 * ```ts
 * import { SandboxSetupError } from "./errors.ts";
 * const e = new SandboxSetupError({ step: "bind", errno: "ENOENT", path: "/srv", exitCode: 125 });
 * console.assert(e.message.includes("/srv"));
 * ```
 */
export class SandboxSetupError extends SandboxError implements SetupFailure {
  override name = "SandboxSetupError";
  readonly step: string;
  readonly errno: string;
  readonly path: string | null;
  readonly exitCode: number;
  /** The target's stderr up to the failure (the launcher's own message is there too). */
  stderr = "";
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

/** The program was not found inside the sandbox (exit code 127). */
export class ProgramNotFoundError extends SandboxSetupError {
  override name = "ProgramNotFoundError";
  constructor(f: SetupFailure) {
    super(f, `Program "${f.path}" not found inside the sandbox (${f.errno})`);
  }
}

/** The program exists inside the sandbox but cannot be executed (exit code 126). */
export class ProgramNotExecutableError extends SandboxSetupError {
  override name = "ProgramNotExecutableError";
  constructor(f: SetupFailure) {
    super(f, `Program "${f.path}" is not executable inside the sandbox (${f.errno})`);
  }
}

/** The launcher binary is missing and could not be built. */
export class LauncherError extends SandboxError {
  override name = "LauncherError";
}

/** The machine cannot provide what the configuration requires (e.g. user namespaces). */
export class UnsupportedError extends SandboxError {
  override name = "UnsupportedError";
}
