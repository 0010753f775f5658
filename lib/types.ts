/**
 * Types shared by every module: the plain, serialisable sandbox configuration, the run options
 * and the result. Pure: no runtime access.
 *
 * @module
 */

import type { AppliedLimits, Limits } from "./limits.ts";

/** How the sandbox gets its privileges. `auto` picks `privileged` when running as root. */
export type PrivilegeMode = "auto" | "privileged" | "unprivileged";

/** The mode a run actually used. */
export type ResolvedMode = "privileged" | "unprivileged";

/** Network policy: `none` is a private network namespace with only `lo` (up); `host` shares it. */
export type NetworkMode = "none" | "host";

/** Namespaces the sandbox can create. */
export type NamespaceName = "user" | "pid" | "mount" | "uts" | "ipc" | "net" | "cgroup";

/** Why a run ended. */
export type SandboxReason =
  | "exited"
  | "signaled"
  | "timeout"
  | "cpu-time"
  | "memory"
  | "pids"
  | "output-limit"
  | "file-size"
  | "seccomp"
  | "setup-failed";

/**
 * A sandbox configuration as plain data (the shape of a `--config FILE.json`). Every field is
 * validated by {@linkcode validateConfig}; sizes accept bytes or strings like `"64M"`, durations
 * milliseconds or strings like `"2s"`.
 */
export interface SandboxConfig {
  /** Identifier, `^[A-Za-z0-9_.-]{1,64}$`. @default "sandbox" */
  id?: string;
  /** Wall-clock limit; the whole sandbox is killed when it runs out. @default no limit */
  timeout?: number | string;
  /** Environment of the target, on top of the default `PATH`. @default {} */
  env?: Record<string, string>;
  /** Working directory inside the sandbox (absolute). @default "/" */
  cwd?: string;
  /** Network policy. @default "none" */
  network?: NetworkMode;
  /** Hostname inside the sandbox's UTS namespace. @default "sandbox" */
  hostname?: string;
  /** Privilege mode. @default "auto" */
  privilegeMode?: PrivilegeMode;
  /** Size of the private `/tmp` tmpfs. @default "64M" */
  tmpSize?: number | string;
  /**
   * The seccomp filter: a profile name (`essential`, `minimal`, `io-heavy`, `compute`,
   * `network`, `unrestricted`, or `none` to install no filter — debugging only), or a profile
   * with allow/deny lists and the action for refused syscalls.
   * @default "compute" (runs python3, node, gcc, sh and coreutils)
   */
  seccomp?: string | SeccompConfig;
  /** Memory limit (hard, swap off), e.g. `"256M"`. Needs a cgroup unless `limits` is best-effort. */
  memory?: number | string;
  /** Maximum number of processes and threads in the sandbox. */
  maxPids?: number;
  /** CPU share in percent of one CPU (above 100 allowed, up to 100 × CPUs). */
  cpuPercent?: number;
  /** CPU share as a cgroup quota and period in µs (period defaults to 100000). */
  cpuQuota?: { quota: number; period?: number };
  /** CPU time per process (RLIMIT_CPU, 1 s granularity), e.g. `"2s"`. */
  cpuTime?: number | string;
  /** Maximum open files per process (RLIMIT_NOFILE). */
  openFiles?: number;
  /** Maximum size of a file the sandbox writes (RLIMIT_FSIZE). */
  fileSize?: number | string;
  /** Cap on captured stdout + stderr per run; past it the run stops with reason `output-limit`. @default "64M" */
  maxOutput?: number | string;
  /**
   * `strict`: a limit this machine or mode cannot enforce makes `build()` throw; `best-effort`:
   * it is approximated with rlimits or dropped, and `enforced.limits` says which.
   * @default "strict"
   */
  limits?: "strict" | "best-effort";
  /**
   * Extra mounts, applied in destination-depth order over the default root (a mount replaces
   * the default entries at or below its target). See {@linkcode MountConfig}.
   * @default []
   */
  mounts?: MountConfig[];
  /**
   * A whole root directory instead of the host's system directories: its top-level entries are
   * bound read-only (or read-write with `{ path, writable: true }`); `/proc`, `/dev` and `/tmp`
   * are still fresh. The entries are read when the sandbox is built.
   */
  rootfs?: string | RootfsConfig;
  /**
   * `true`: user, pid, mount, … namespaces (fail when unavailable); `false`: none, the
   * filesystem is confined by Landlock alone to the same view (no private `/tmp`: the host's is
   * not writable unless bound); `"auto"`: namespaces when this machine allows them, else
   * Landlock alone (`enforced.namespaces` is then `[]`).
   * @default "auto"
   */
  namespaces?: boolean | "auto";
  /**
   * Landlock, derived from the filesystem policy: `best-effort` uses what the kernel's ABI can
   * do and names the rest in `enforced.landlockDropped`; `required` fails when the kernel cannot
   * do everything the policy asks; `off` never applies it.
   * @default "best-effort"
   */
  landlock?: LandlockMode;
}

/** How Landlock is applied. */
export type LandlockMode = "best-effort" | "required" | "off";

/**
 * A mount inside the sandbox. `target` is always the absolute path inside; `source` a host path
 * (its symlinks are followed on the host). Binds are `nosuid,nodev`.
 */
export type MountConfig =
  /** A host path, read-write unless `readOnly` (`target` defaults to `source`). */
  | { type: "bind"; source: string; target?: string; readOnly?: boolean }
  /** A fresh tmpfs. @default size "64M", mode 0o755 */
  | { type: "tmpfs"; target: string; size?: number | string; mode?: number }
  /**
   * Copy-on-write over a host directory: writes are discarded with the run (kept in a private
   * tmpfs of `size`, default "64M"), or kept in the host directory `upper` (its work directory
   * is `upper + ".work"`; both are created when missing and must be on one filesystem).
   */
  | { type: "overlay"; source: string; target?: string; upper?: string; size?: number | string }
  /** An empty directory (mode default 0o755). */
  | { type: "dir"; target: string; mode?: number }
  /** A symlink at `target` whose contents are `source`. */
  | { type: "symlink"; source: string; target: string };

/** A root directory for the sandbox. */
export interface RootfsConfig {
  path: string;
  /** Bind its entries read-write. @default false */
  writable?: boolean;
}

/** A validated mount. */
export type ResolvedMount =
  | { type: "bind"; source: string; target: string; readOnly: boolean }
  | { type: "tmpfs"; target: string; sizeBytes: number; mode: number }
  | {
    type: "overlay";
    source: string;
    target: string;
    upper: string | null;
    work: string | null;
    sizeBytes: number;
  }
  | { type: "dir"; target: string; mode: number }
  | { type: "symlink"; source: string; target: string };

/** A seccomp policy in a config. */
export interface SeccompConfig {
  /** @default "compute" */
  profile?: string;
  /** Extra syscalls to allow (the never-list cannot be allowed). */
  allow?: string[];
  /** Syscalls to refuse although the profile allows them. */
  deny?: string[];
  /**
   * `kill`: the first refused syscall kills the whole sandbox (reason `"seccomp"`); `errno`: it
   * fails with EPERM and the program goes on. Both name the syscall in `seccompViolation`.
   * @default "kill"
   */
  action?: "kill" | "errno";
}

/** The validated, normalised form of {@linkcode SandboxConfig}. */
export interface ResolvedConfig {
  id: string;
  timeoutMs: number | null;
  env: Record<string, string>;
  cwd: string;
  network: NetworkMode;
  hostname: string;
  privilegeMode: PrivilegeMode;
  tmpSizeBytes: number;
  limits: Limits;
  mounts: ResolvedMount[];
  rootfs: { path: string; writable: boolean } | null;
  namespaces: boolean | "auto";
  landlock: LandlockMode;
  seccomp: {
    profile: string;
    allow: string[];
    deny: string[];
    action: "kill" | "errno";
  };
}

/** Where the target's stdin comes from. */
export type StdinOption = "null" | "piped" | string | Uint8Array | ReadableStream<Uint8Array>;

/** Options for one run. */
export interface RunOptions {
  /** The target's stdin. @default "null" */
  stdin?: StdinOption;
  /** Aborting kills the whole sandbox; the result has `aborted: true`. */
  signal?: AbortSignal;
  /** Extra environment for this run (merged over the sandbox's). */
  env?: Record<string, string>;
  /** Working directory for this run (absolute, inside the sandbox). */
  cwd?: string;
}

/** What was actually enforced for a run. */
export interface Enforced {
  namespaces: NamespaceName[];
  /** The seccomp profile installed, or null. */
  seccomp: string | null;
  /** The Landlock ABI used, or null when Landlock was not applied. */
  landlock: number | null;
  /** The limits backend and every limit actually applied (and what was approximated or dropped). */
  limits: AppliedLimits;
  /** What the filesystem policy wanted from Landlock but the kernel's ABI cannot do. */
  landlockDropped?: string[];
  /** The uid the target ran as, inside the sandbox. */
  uid: number;
}

/** A syscall refused by the seccomp filter. */
export interface SeccompViolation {
  /** Its name on the architecture it was made for, e.g. `"ptrace"`. */
  syscall: string;
  /** Its number, e.g. 101. */
  number: number;
  /** The architecture, e.g. `"x86_64"`. */
  arch: string;
}

/** The outcome of a run. JSON field names are part of the public API. */
export interface SandboxResult {
  /** The exit code, or null when the target died by a signal or was killed. */
  exitCode: number | null;
  /** The signal name (`"SIGKILL"`) that ended the target, or null. */
  signal: string | null;
  reason: SandboxReason;
  timedOut: boolean;
  oomKilled: boolean;
  /** True when the run was stopped through `kill()`, an AbortSignal or disposal. */
  aborted: boolean;
  wallTimeMs: number;
  cpuTimeUs: number;
  cpuUserUs: number;
  cpuSystemUs: number;
  memoryPeakBytes: number;
  /** True when a fork or clone failed on the pids limit during the run. */
  pidsLimitHit: boolean;
  /** The first syscall the seccomp filter refused, or null. */
  seccompViolation: SeccompViolation | null;
  /** How many syscalls the filter refused (errno mode counts every one). */
  seccompViolations: number;
  /** True when the filter killed the sandbox (`reason` is then `"seccomp"`). */
  killedBySeccomp: boolean;
  /** Captured stdout (by `run()`), as text. */
  stdout?: string;
  /** Captured stderr (by `run()`), as text. */
  stderr?: string;
  mode: ResolvedMode;
  enforced: Enforced;
}

/** The result of `Sandbox.run()`: a {@linkcode SandboxResult} with the captured output. */
export interface CapturedResult extends SandboxResult {
  stdout: string;
  stderr: string;
}
