/**
 * sandbox-ts: run untrusted programs in a Linux sandbox from Deno — user, pid, mount, uts, ipc,
 * net and cgroup namespaces, a private read-only root, a pid-1 reaper, no capabilities, seccomp,
 * Landlock, cgroup and rlimit limits, and a wall-clock limit that kills every process of the
 * run. A small C launcher (`launcher/`, built with `make` by `await prepareLauncher()`) applies the
 * policy.
 *
 * Entry points: {@linkcode SandboxBuilder} (or `new Sandbox(config)` from plain data),
 * `Sandbox.run()` for a captured result, `Sandbox.spawn()` for a {@linkcode SandboxChild} with
 * streams. The package name is `@sandbox-ts/sandbox`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { SandboxBuilder } from "./mod.ts";
 *
 * const sandbox = new SandboxBuilder("job-1").timeout("5s").env({ LANG: "C.UTF-8" }).build();
 * const result = await sandbox.run("python3", ["-c", "print(6 * 7)"]);
 * assert.equal(result.exitCode, 0);
 * assert.equal(result.stdout, "42\n");
 *
 * const child = sandbox.spawn("sh", ["-c", "yes | head -3"]);
 * let lines = 0;
 * for await (const _line of child.lines()) lines++;
 * assert.equal(lines, 3);
 * assert.equal((await child.status).reason, "exited");
 * ```
 *
 * @module
 */

export { Sandbox, type SandboxOptions } from "./lib/sandbox.ts";
export { SandboxBuilder } from "./lib/builder.ts";
export type { SeedNamespaces } from "./lib/policy.ts";
export { type OutputChunk, SandboxChild } from "./lib/run.ts";
export {
  SandboxSession,
  type SessionEnd,
  type SessionOptions,
  type SessionUsage,
} from "./lib/session.ts";
export { SessionClosedError } from "./lib/session_channel.ts";
export { SessionChild } from "./lib/session_child.ts";
export {
  type DownloadReport,
  type SessionDirEntry,
  type SessionFileInfo,
  SessionFs,
} from "./lib/session_fs.ts";
export {
  LauncherError,
  LimitUnavailableError,
  ProgramNotExecutableError,
  ProgramNotFoundError,
  SandboxError,
  SandboxSetupError,
  type SetupFailure,
  UnsupportedError,
} from "./lib/errors.ts";
export { parseDuration, parseSize } from "./lib/parse.ts";
export { prepareLauncher, type PrepareLauncherOptions, VERSION } from "./lib/launcher.ts";
export { exitCodeFor } from "./lib/status.ts";

export { EXIT, SETUP_STEPS, type SetupStep } from "./lib/abi.ts";
export type {
  AnyString,
  AppliedLimits,
  CapturedResult,
  EgressRecord,
  EgressRule,
  Enforced,
  IdmapFallback,
  IdmapMode,
  LandlockMode,
  Limits,
  MemoryPeakSource,
  MountConfig,
  MountOwnership,
  NamespaceName,
  NetworkMode,
  NetworkPolicy,
  NetworkReport,
  PrivilegeMode,
  ResolvedConfig,
  ResolvedEgress,
  ResolvedMode,
  ResolvedMount,
  RootfsConfig,
  RunInput,
  RunOptions,
  SandboxConfig,
  SandboxReason,
  SandboxResult,
  SeccompConfig,
  SeccompProfileName,
  SeccompViolation,
  StdinMode,
  TtySize,
} from "./lib/types.ts";
export type { Budgets, BudgetsConfig, HostIdRange, HostIdsConfig } from "./lib/identity_types.ts";
export { DEFAULT_HOST_IDS } from "./lib/host_ids.ts";
export { DEFAULT_BUDGETS } from "./lib/budgets.ts";
