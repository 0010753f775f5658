/**
 * Types shared by every module: the plain, serialisable sandbox configuration, the run options
 * and the result. Pure: no runtime access.
 *
 * @module
 */

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
}

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
  /** The resource-limit backend: `none` until limits are configured. */
  limits: "cgroup-v2" | "cgroup-v1" | "rlimit" | "none";
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
