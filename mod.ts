/**
 * sandbox-ts: run untrusted programs in a Linux sandbox from Deno — user, pid, mount, uts, ipc,
 * net and cgroup namespaces, a private read-only root, a pid-1 reaper, no capabilities, a
 * wall-clock limit that kills every process of the run.
 *
 * ```ts ignore
 * import { SandboxBuilder } from "@sandbox-ts/sandbox";
 * const sandbox = new SandboxBuilder("job-1").timeout("5s").build();
 * const result = await sandbox.run("python3", ["-c", "print(6 * 7)"]);
 * console.log(result.exitCode, result.stdout); // 0 "42\n"
 * ```
 *
 * @module
 */

export {
  Sandbox,
  SandboxBuilder,
  type SandboxOptions,
  type SeedNamespaces,
} from "./lib/sandbox.ts";
export { type OutputChunk, SandboxChild } from "./lib/run.ts";
export {
  LauncherError,
  ProgramNotExecutableError,
  ProgramNotFoundError,
  SandboxError,
  SandboxSetupError,
  type SetupFailure,
  UnsupportedError,
} from "./lib/errors.ts";
export { parseDuration, parseSize } from "./lib/parse.ts";
export { exitCodeFor } from "./lib/status.ts";
export type {
  CapturedResult,
  Enforced,
  LandlockMode,
  MountConfig,
  NamespaceName,
  NetworkMode,
  PrivilegeMode,
  ResolvedMode,
  RootfsConfig,
  RunOptions,
  SandboxConfig,
  SandboxReason,
  SandboxResult,
  StdinOption,
} from "./lib/types.ts";
