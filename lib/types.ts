/**
 * Types shared by every module: the plain, serialisable sandbox configuration, the run options
 * and the result. Pure: no runtime access, and no imports but the types of `identity_types.ts`,
 * which imports nothing — every other module may import this one, so it imports none of them.
 * Past 600 lines on purpose: declarations only, about 70 % of them the documentation users read.
 *
 * @module
 */

import type { Budgets, BudgetsConfig, HostIdRange, HostIdsConfig } from "./identity_types.ts";

/**
 * How the sandbox gets its privileges. `privileged` needs root (the sandbox's uid 1000 is then a
 * host uid of the run's own, see `hostIds`, and cgroups are created under
 * `/sys/fs/cgroup/sandbox-ts`); `unprivileged` maps uid 1000 to the caller (a root caller's runs
 * still get their own host ids); `auto` picks `privileged` when running as root.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { type PrivilegeMode, SandboxBuilder } from "../mod.ts";
 *
 * const mode: PrivilegeMode = "auto";
 * const sandbox = new SandboxBuilder("job").privilegeMode(mode).build();
 * assert.equal(sandbox.mode, Deno.uid() === 0 ? "privileged" : "unprivileged");
 * ```
 */
export type PrivilegeMode = "auto" | "privileged" | "unprivileged";

/**
 * The mode a sandbox actually uses, after `auto` is resolved: `Sandbox.mode` and
 * `SandboxResult.mode`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { type ResolvedMode, SandboxBuilder } from "../mod.ts";
 *
 * const mode: ResolvedMode = new SandboxBuilder("job").privilegeMode("unprivileged").build().mode;
 * assert.equal(mode, "unprivileged");
 * ```
 */
export type ResolvedMode = "privileged" | "unprivileged";

/**
 * Network policy: `none` is a private network namespace with only `lo` (up); `host` shares the
 * host's network namespace.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { type NetworkMode, SandboxBuilder } from "../mod.ts";
 *
 * const network: NetworkMode = "none";
 * const result = await new SandboxBuilder("net").network(network).build()
 *   .run("cat", ["/proc/net/dev"]);
 * assert.match(result.stdout, /\blo:/);
 * assert.doesNotMatch(result.stdout, /eth0/);
 * ```
 */
export type NetworkMode = "none" | "host";

/**
 * Namespaces the sandbox can create; `enforced.namespaces` lists those a sandbox uses (`[]` when
 * Landlock alone confines it).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { type NamespaceName, SandboxBuilder } from "../mod.ts";
 *
 * const sandbox = new SandboxBuilder("ns").namespaces(true).build();
 * const expected: NamespaceName[] = ["user", "pid", "mount", "uts", "ipc", "net", "cgroup"];
 * assert.deepEqual([...sandbox.enforced.namespaces].sort(), [...expected].sort());
 * ```
 */
export type NamespaceName = "user" | "pid" | "mount" | "uts" | "ipc" | "net" | "cgroup";

/**
 * Why a run ended (`SandboxResult.reason`). When several causes apply, the most specific wins, in
 * this order:
 *
 * - `timeout`: the wall-clock `timeout` ran out; the whole sandbox was killed (`timedOut: true`).
 * - `output-limit`: stdout + stderr passed `maxOutput`; the sandbox was killed, what fit is kept.
 * - `seccomp`: the filter refused a syscall with action `kill` (`killedBySeccomp: true`).
 * - `memory`: the cgroup's OOM killer fired (`oomKilled: true`).
 * - `cpu-time`: the target died of `SIGXCPU`, or of `SIGKILL` after using its `cpuTime`.
 * - `file-size`: the target died of `SIGXFSZ` (it wrote past `fileSize`).
 * - `pids`: a fork or clone failed on `maxPids` and the target exited non-zero.
 * - `signaled`: the target died of another signal (also after `kill()` or an abort).
 * - `exited`: the target exited on its own; `exitCode` says how.
 * - `setup-failed`: reserved; a failed setup rejects with a {@linkcode SandboxSetupError}
 *   instead of producing a result.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { SandboxBuilder, type SandboxReason } from "../mod.ts";
 *
 * const result = await new SandboxBuilder("t").timeout(50).build().run("sleep", ["5"]);
 * const reason: SandboxReason = result.reason;
 * assert.equal(reason, "timeout");
 * ```
 */
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
 * A sandbox configuration as plain data (the shape of a `--config FILE.json`, and what
 * {@linkcode SandboxBuilder} setters write). Every field is validated when the
 * {@linkcode Sandbox} is constructed (`TypeError`/`RangeError` naming the field); sizes accept
 * bytes or strings like `"64M"`, durations milliseconds or strings like `"2s"`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Sandbox, type SandboxConfig } from "../mod.ts";
 *
 * const config: SandboxConfig = {
 *   id: "job-7",
 *   timeout: "5s",
 *   env: { LANG: "C.UTF-8" },
 *   cwd: "/tmp",
 *   seccomp: { profile: "minimal", deny: ["uname"] },
 *   mounts: [{ type: "tmpfs", target: "/scratch", size: "8M" }],
 * };
 * const result = await new Sandbox(config).run("sh", ["-c", "pwd; echo $LANG"]);
 * assert.equal(result.stdout, "/tmp\nC.UTF-8\n");
 * ```
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
  /**
   * Network policy: `"none"`, `"host"`, or an egress allow-list ({@linkcode NetworkPolicy}):
   * a private network whose only way out is a filtering proxy. @default "none"
   */
  network?: NetworkMode | NetworkPolicy;
  /** Hostname inside the sandbox's UTS namespace. @default "sandbox" */
  hostname?: string;
  /**
   * The sandbox user's name (uid/gid 1000 inside) in the synthesized `/etc/passwd` and
   * `/etc/group`, its home `/home/<user>`, and `USER`/`LOGNAME`. @default "sandbox"
   */
  user?: string;
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
  seccomp?: SeccompProfileName | "none" | AnyString | SeccompConfig;
  /**
   * Memory limit (hard, swap off), at least `"1M"`, e.g. `"256M"`. Needs a cgroup unless
   * `limits` is best-effort (then `RLIMIT_DATA` per process).
   * @default no limit
   */
  memory?: number | string;
  /**
   * Maximum number of processes and threads in the sandbox (1 to 4194304; cgroup `pids.max`), or
   * `null` for no limit. The default bounds a fork bomb without asking anything of the host:
   * where no cgroup with the pids controller reaches the sandbox it is approximated with
   * `RLIMIT_NPROC` in the sandbox's user namespace (or dropped without one), even under
   * `limits: "strict"`, and `enforced.limits` says so.
   * @default 2048
   */
  maxPids?: number | null;
  /**
   * CPU share in percent of one CPU (above 100 allowed, up to 100 × CPUs). Conflicts with
   * `cpuQuota`.
   * @default no limit
   */
  cpuPercent?: number;
  /**
   * CPU share as a cgroup quota and period in µs (each 1000 to 1000000; the period defaults to
   * 100000). Conflicts with `cpuPercent`.
   * @default no limit
   */
  cpuQuota?: { quota: number; period?: number };
  /**
   * CPU time per process (RLIMIT_CPU, rounded up to whole seconds), e.g. `"2s"`.
   * @default no limit
   */
  cpuTime?: number | string;
  /**
   * Maximum open files per process (RLIMIT_NOFILE).
   * @default the launcher's inherited limit
   */
  openFiles?: number;
  /**
   * Maximum size of a file the sandbox writes (RLIMIT_FSIZE; past it, `SIGXFSZ`).
   * @default no limit
   */
  fileSize?: number | string;
  /**
   * Cap on captured stdout + stderr per run (both together); past it the run is killed with
   * reason `output-limit` and what fit is kept.
   * @default "64M"
   */
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
   * @default null (the host's `/usr`, `/bin`, `/sbin`, `/lib*` and parts of `/etc`)
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
  /**
   * Id-mapped binds and overlays (see {@linkcode IdmapMode}): the caller's files are the sandbox
   * user's inside, and what the sandbox makes there is the caller's on the host.
   * `enforced.mounts` says how each user bind and overlay came out.
   * @default "best-effort"
   */
  idmap?: IdmapMode;
  /**
   * For a root caller: the host uids/gids its runs are, one pair per live run, allocated by the
   * launcher (see {@linkcode HostIdsConfig}). An unprivileged caller's runs are the caller.
   * Never root's `/etc/subuid` range unless named here (containers use it).
   * @default 2130706432 + 65536 (`DEFAULT_HOST_IDS`)
   */
  hostIds?: HostIdsConfig;
  /**
   * Kernel budgets of one sandbox: inotify, fanotify, nested namespaces, ptys, message queue
   * bytes (see {@linkcode BudgetsConfig}).
   * @default sized for ordinary programs (inotify 128 instances / 65536 watches, 64 ptys, …)
   */
  budgets?: BudgetsConfig;
}

/**
 * How Landlock is applied: `best-effort` (the default) uses what the kernel's ABI can do and
 * names the rest in `enforced.landlockDropped`; `required` fails the build when the kernel
 * cannot enforce the whole filesystem policy; `off` never applies it.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { type LandlockMode, SandboxBuilder } from "../mod.ts";
 *
 * const mode: LandlockMode = "best-effort";
 * const sandbox = new SandboxBuilder("ll").landlock(mode).build();
 * // The ABI version used, or null where the kernel has no Landlock.
 * assert.ok(sandbox.enforced.landlock === null || sandbox.enforced.landlock >= 1);
 * ```
 */
export type LandlockMode = "best-effort" | "required" | "off";

/**
 * How user binds and overlays show the owners of host files. `best-effort` (the default):
 * id-mapped where the run and the filesystem allow — a root caller's runs under a seccomp
 * filter, on filesystems that support id-mapped mounts (ext4, tmpfs, overlayfs, xfs, btrfs …) —
 * and today's ownership elsewhere, said in `enforced.mounts`; `required` fails instead (at build
 * for a run without a seccomp filter or without namespaces, at run for a filesystem that
 * refuses); `off` never id-maps. An unprivileged caller's sandbox user is the caller already:
 * its mounts need no mapping and satisfy `required`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { type IdmapMode, SandboxBuilder } from "../mod.ts";
 *
 * const mode: IdmapMode = "off";
 * const sandbox = new SandboxBuilder("i").bind("/usr/share", "/share").idmap(mode).build();
 * assert.equal(sandbox.enforced.mounts?.[0]?.idmap, false);
 * ```
 */
export type IdmapMode = "best-effort" | "required" | "off";

/**
 * Why a user bind or overlay is not id-mapped (`MountOwnership.reason`):
 * - `"caller"`: an unprivileged caller's sandbox user is the caller already: the caller's files
 *   are the user's inside, and what the sandbox makes is the caller's — nothing to map (the
 *   kernel would not let it map onto host ids it does not own anyway);
 * - `"off"`: `idmap: "off"`;
 * - `"no-seccomp"`: a root caller's run without a seccomp filter, which alone keeps the sandbox
 *   from making set-id files (owned by host root, through the mapping) or file capabilities;
 * - `"no-namespaces"`: Landlock alone: no mounts at all;
 * - `"filesystem"`: the source's filesystem (or a mount below it) refused id-mapping.
 *
 * Without id-mapping, a root caller's run is its own host uid on that mount: files of others,
 * root's included, show as `nobody`, and what it makes is that uid's.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { IdmapFallback } from "../mod.ts";
 *
 * const reason: IdmapFallback = "filesystem";
 * assert.equal(reason, "filesystem");
 * ```
 */
export type IdmapFallback = "caller" | "off" | "no-seccomp" | "no-namespaces" | "filesystem";

/**
 * How one user bind or overlay came out (`Enforced.mounts`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { type MountOwnership, SandboxBuilder } from "../mod.ts";
 *
 * const sandbox = new SandboxBuilder("o").bind("/usr/share", "/share").build();
 * const m: MountOwnership = sandbox.enforced.mounts![0]!;
 * assert.equal(m.target, "/share");
 * assert.equal(m.idmap, Deno.uid() === 0);
 * ```
 */
export interface MountOwnership {
  /** The mount's target inside the sandbox. */
  target: string;
  /**
   * Whether the mount is id-mapped: the caller's files are the sandbox user's inside, and what
   * the sandbox makes there is the caller's on the host.
   */
  idmap: boolean;
  /** Why not, when `idmap` is false. */
  reason?: IdmapFallback;
  /** With reason `"filesystem"`: how it refused, e.g. `"EINVAL"`. */
  errno?: string;
}

/**
 * A mount inside the sandbox. `target` is always the absolute path inside; `source` a host path
 * (its symlinks are followed on the host). Binds are `nosuid,nodev`. Mounts are applied parents
 * first; a mount replaces the default entries at or below its target.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { type MountConfig, Sandbox } from "../mod.ts";
 *
 * const mounts: MountConfig[] = [
 *   { type: "tmpfs", target: "/work", size: "4M" },
 *   { type: "dir", target: "/work/out", mode: 0o700 },
 *   { type: "symlink", source: "/work/out", target: "/out" },
 * ];
 * const sandbox = new Sandbox({ mounts });
 * const result = await sandbox.run("sh", ["-c", "echo hi > /out/f; cat /work/out/f"]);
 * assert.equal(result.stdout, "hi\n");
 * ```
 */
export type MountConfig =
  /** A host path, read-write unless `readOnly` (default false); `target` defaults to `source`. */
  | { type: "bind"; source: string; target?: string; readOnly?: boolean }
  /** A fresh tmpfs. @default size "64M", mode 0o755 */
  | { type: "tmpfs"; target: string; size?: number | string; mode?: number }
  /**
   * Copy-on-write over a host directory: writes are discarded with the run (kept in a private
   * tmpfs of `size`, default "64M"), or kept in the host directory `upper` (its work directory
   * is `upper + ".work"`; both are created when missing and must be on one filesystem).
   */
  | { type: "overlay"; source: string; target?: string; upper?: string; size?: number | string }
  /** An empty directory. @default mode 0o755 */
  | { type: "dir"; target: string; mode?: number }
  /** A symlink at `target` whose contents are `source`. */
  | { type: "symlink"; source: string; target: string };

/**
 * A root directory for the sandbox (`SandboxConfig.rootfs`): its top-level entries are bound
 * over the sandbox's read-only root; `/proc`, `/dev` and `/tmp` stay fresh.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { type RootfsConfig, Sandbox } from "../mod.ts";
 *
 * const rootfs: RootfsConfig = { path: "/", writable: false };
 * const result = await new Sandbox({ rootfs }).run("test", ["-d", "/etc"]);
 * assert.equal(result.exitCode, 0);
 * ```
 */
export interface RootfsConfig {
  /** The host directory whose entries become the root. */
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

/**
 * Any other string: keeps editor completion for the listed names while a name read from JSON or a
 * flag still type-checks (`build()` validates it and names what is allowed).
 */
export type AnyString = string & Record<never, never>;

/**
 * The seccomp profile names, least to most permissive; each allows everything the previous one
 * allows. A config also accepts `"none"` (no filter; debugging only), which is not a profile.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { SandboxBuilder, type SeccompProfileName } from "../mod.ts";
 *
 * const profile: SeccompProfileName = "io-heavy"; // "minimal" would refuse mkdir(2)
 * const result = await new SandboxBuilder("p").seccompProfile(profile).build()
 *   .run("mkdir", ["/tmp/d"]);
 * assert.equal(result.exitCode, 0);
 * ```
 */
export type SeccompProfileName =
  | "essential"
  | "minimal"
  | "io-heavy"
  | "compute"
  | "network"
  | "unrestricted";

/**
 * A seccomp policy in a config: a profile, syscalls added to or removed from it, and what a
 * refused syscall does.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Sandbox } from "../mod.ts";
 *
 * const seccomp = { profile: "minimal", deny: ["uname"], action: "errno" as const };
 * const sandbox = new Sandbox({ seccomp });
 * const result = await sandbox.run("uname");
 * assert.equal(result.exitCode, 1); // uname(2) failed with EPERM; the program went on
 * assert.equal(result.seccompViolation?.syscall, "uname");
 * ```
 */
export interface SeccompConfig {
  /**
   * `essential`, `minimal`, `io-heavy`, `compute`, `network`, `unrestricted`, or `none` (no
   * filter; debugging only).
   * @default "compute"
   */
  profile?: SeccompProfileName | "none" | AnyString;
  /** Extra syscalls to allow (the never-list cannot be allowed). @default [] */
  allow?: string[];
  /** Syscalls to refuse although the profile allows them. @default [] */
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
  /** The sandbox id (names its cgroups). */
  id: string;
  /** The wall-clock limit in milliseconds, or null for none. */
  timeoutMs: number | null;
  /** The environment of every run (clean by default). */
  env: Record<string, string>;
  /** The working directory inside the sandbox. */
  cwd: string;
  /** The network mode (`"none"` for an egress allow-list: a private network namespace). */
  network: NetworkMode;
  /** The egress allow-list, when `network` was one. */
  egress?: ResolvedEgress;
  /** The hostname inside the sandbox. */
  hostname: string;
  /** The sandbox user's name (synthesized `/etc/passwd`, home, `USER`). */
  user: string;
  /** The privilege mode asked for. */
  privilegeMode: PrivilegeMode;
  /** The size of the sandbox's `/tmp` in bytes. */
  tmpSizeBytes: number;
  /** The resource limits. */
  limits: Limits;
  /** The mounts, in order. */
  mounts: ResolvedMount[];
  /** A whole root directory instead of the embedded root, or null. */
  rootfs: { path: string; writable: boolean } | null;
  /** Whether the run gets its own namespaces (`"auto"`: when the host allows). */
  namespaces: boolean | "auto";
  /** The Landlock mode. */
  landlock: LandlockMode;
  /** How user binds and overlays map owners. */
  idmap: IdmapMode;
  /** `DEFAULT_HOST_IDS` unless the config names a range. */
  hostIds: HostIdRange;
  /** The per-sandbox kernel-object budgets. */
  budgets: Budgets;
  /** The seccomp profile and its adjustments. */
  seccomp: {
    profile: SeccompProfileName | "none";
    allow: string[];
    deny: string[];
    action: "kill" | "errno";
  };
}

/** Validated limits (`ResolvedConfig.limits`); null where none was asked for. */
export interface Limits {
  /** The memory limit in bytes, or null. */
  memoryBytes: number | null;
  /** The process and thread limit, or null. */
  pids: number | null;
  /** `pids` is the default, not asked for: it never fails a strict build. */
  pidsIsDefault: boolean;
  /** The CPU quota per period in microseconds, or null. */
  cpu: { quotaUs: number; periodUs: number } | null;
  /** The CPU-time limit in milliseconds, or null. */
  cpuTimeMs: number | null;
  /** The open-files limit, or null. */
  openFiles: number | null;
  /** The file-size limit in bytes, or null. */
  fileSizeBytes: number | null;
  /** The cap on captured output (stdout + stderr) in bytes. */
  maxOutputBytes: number;
  /** `strict`: a limit this mode cannot apply fails the build; `best-effort`: it is dropped or approximated and reported. */
  mode: "strict" | "best-effort";
}

/**
 * The limits a sandbox enforces (`Enforced.limits`): the backend, every limit applied, and what
 * was approximated or dropped under `limits: "best-effort"`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { type AppliedLimits, SandboxBuilder } from "../mod.ts";
 *
 * const sandbox = new SandboxBuilder("l").openFiles(64).limitsMode("best-effort").build();
 * const limits: AppliedLimits = sandbox.enforced.limits;
 * assert.equal(limits.openFiles, 64);
 * assert.equal(limits.maxOutputBytes, 64 * 1024 * 1024);
 * ```
 */
export interface AppliedLimits {
  /** What enforces the limits. */
  backend: "cgroup-v2" | "cgroup-v1" | "rlimit" | "none";
  /** The memory limit in bytes. */
  memoryBytes?: number;
  /** The process and thread limit. */
  pids?: number;
  /** The CPU quota per period in microseconds. */
  cpu?: { quotaUs: number; periodUs: number };
  /** The CPU-time limit in milliseconds. */
  cpuTimeMs?: number;
  /** The open-files limit. */
  openFiles?: number;
  /** The file-size limit in bytes. */
  fileSizeBytes?: number;
  /** The cap on captured output (stdout + stderr) in bytes. */
  maxOutputBytes: number;
  /** Limits that were asked for but are only approximated (best effort). */
  approximated: string[];
  /** Limits that were asked for but could not be applied (best effort). */
  dropped: string[];
  /**
   * Limits that come from the defaults, not from the config (`["pids"]`). One the host cannot
   * enforce exactly is approximated or dropped, even under `strict`, and named there too.
   */
  defaults?: string[];
}

/**
 * Where the target's stdin comes from (a mode, never data): `"null"` (empty: `/dev/null`),
 * `"piped"` (write to `SandboxChild.stdin`; `spawn()` only) or `"inherit"` (this process's stdin,
 * passed on as bytes, never as the terminal itself). Data goes in {@linkcode RunOptions.input}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { SandboxBuilder, type StdinMode } from "../mod.ts";
 *
 * const stdin: StdinMode = "null";
 * const result = await new SandboxBuilder("wc").build().run("wc", ["-c"], { stdin });
 * assert.equal(result.stdout.trim(), "0");
 * ```
 */
export type StdinMode = "null" | "piped" | "inherit";

/**
 * The target's input (`RunOptions.input`): a string (sent as UTF-8, whatever it says), bytes, or
 * a stream; stdin is closed after it.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { type RunInput, SandboxBuilder } from "../mod.ts";
 *
 * const input: RunInput = "3\n1\n2\n";
 * const result = await new SandboxBuilder("sort").build().run("sort", [], { input });
 * assert.equal(result.stdout, "1\n2\n3\n");
 * ```
 */
export type RunInput = string | Uint8Array | ReadableStream<Uint8Array>;

/**
 * Options for one run (`Sandbox.run()` and `Sandbox.spawn()`); unknown fields are refused, and so
 * are the sandbox-wide limits (memory, CPU share, pids…: they shape the sandbox's cgroup).
 * `timeout` and `maxOutput` override the sandbox's for this run.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { type RunOptions, SandboxBuilder } from "../mod.ts";
 *
 * const sandbox = new SandboxBuilder("opts").timeout("10s").build();
 * const options: RunOptions = { env: { NAME: "world" }, cwd: "/tmp", timeout: "5s" };
 * const result = await sandbox.run("sh", ["-c", "echo hello $NAME from $(pwd)"], options);
 * assert.equal(result.stdout, "hello world from /tmp\n");
 * assert.equal((await sandbox.run("sleep", ["5"], { timeout: 100 })).reason, "timeout");
 * ```
 */
export interface RunOptions {
  /**
   * The target's stdin mode; refused together with `input` (which is a stdin of its own).
   * @default "null"
   */
  stdin?: StdinMode;
  /** Data for the target's stdin, closed after it. @default none */
  input?: RunInput;
  /**
   * Wall-clock limit for this run, overriding the sandbox's `timeout`: milliseconds or a string
   * like `"1500ms"`, `"2s"`, `"1m"`.
   * @default the sandbox's `timeout`
   */
  timeout?: number | string;
  /**
   * Cap on stdout + stderr for this run, overriding the sandbox's `maxOutput`: bytes or a size
   * like `"1M"`.
   * @default the sandbox's `maxOutput`
   */
  maxOutput?: number | string;
  /**
   * Aborting kills the whole sandbox; the result has `aborted: true` (a signal already aborted
   * throws at once).
   * @default none
   */
  signal?: AbortSignal;
  /** Extra environment for this run (merged over the sandbox's). @default {} */
  env?: Record<string, string>;
  /** Working directory for this run (absolute, inside the sandbox). @default the sandbox's `cwd` */
  cwd?: string;
  /**
   * Run the program on a pseudo-terminal of the sandbox's own devpts instance, this many columns
   * and rows, as its controlling terminal: stdin, stdout and stderr are the terminal, whose
   * output (the program's stdout and stderr, merged, with the terminal's `\r\n`) arrives on
   * `stdout`; `stderr` carries only the launcher's own messages. `SandboxChild.resize()` changes
   * the size. End of input sends the terminal's end-of-file character (`^D`).
   * @default none (pipes)
   */
  tty?: TtySize;
}

/**
 * A terminal size (`RunOptions.tty`, `SandboxChild.resize()`): columns and rows, 1 to 65535.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { SandboxBuilder, type TtySize } from "../mod.ts";
 *
 * const tty: TtySize = { cols: 100, rows: 30 };
 * const result = await new SandboxBuilder("size").build().run("stty", ["size"], { tty });
 * assert.equal(result.stdout, "30 100\r\n");
 * ```
 */
export interface TtySize {
  /** Columns (characters per line). */
  cols: number;
  /** Rows (lines). */
  rows: number;
}

/**
 * What was actually enforced for a run (`SandboxResult.enforced`, also `Sandbox.enforced`
 * before any run), so a caller can refuse a weaker sandbox than it needs.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { type Enforced, SandboxBuilder } from "../mod.ts";
 *
 * const enforced: Enforced = new SandboxBuilder("e").seccompProfile("minimal").build().enforced;
 * assert.equal(enforced.seccomp, "minimal");
 * assert.equal(enforced.uid, Deno.uid() === 0 && enforced.namespaces.length === 0 ? -1 : 1000);
 * assert.deepEqual(enforced.limits.dropped, []);
 * ```
 */
export interface Enforced {
  /** The namespaces created; `[]` when Landlock alone confines the run. */
  namespaces: NamespaceName[];
  /** The seccomp profile installed, or null. */
  seccomp: SeccompProfileName | null;
  /** The Landlock ABI used, or null when Landlock was not applied. */
  landlock: number | null;
  /** The limits backend and every limit actually applied (and what was approximated or dropped). */
  limits: AppliedLimits;
  /** What the filesystem policy wanted from Landlock but the kernel's ABI cannot do. */
  landlockDropped?: string[];
  /**
   * The `budgets` this run does not get: all without a user namespace, else those whose
   * `/proc/sys/user` entry the kernel lacks (their objects are then bounded only per host user).
   */
  budgetsDropped?: string[];
  /**
   * The uid the target ran as, inside the sandbox. Without namespaces it is the host uid: for a
   * root caller allocated per run, so -1 in `Sandbox.enforced` and the run's in a result.
   */
  uid: number;
  /**
   * The host uid and gid the target ran as (what the sandbox's uid is on the host): the caller's
   * own for an unprivileged caller; for a root caller a pair allocated for the run from
   * `hostIds`, only in a result's `enforced` (each run has its own).
   */
  hostUid?: number;
  /** The host gid the target ran as (see `hostUid`). */
  hostGid?: number;
  /**
   * Each user bind and overlay, in config order: id-mapped or not, and why not (see
   * {@linkcode MountOwnership}). In a result, a filesystem that refused is said here.
   */
  mounts?: MountOwnership[];
}

/**
 * A syscall refused by the seccomp filter (`SandboxResult.seccompViolation`), named by the
 * launcher's user-notification listener.
 */
export interface SeccompViolation {
  /** Its name on the architecture it was made for, e.g. `"ptrace"`. */
  syscall: string;
  /** Its number, e.g. 101. */
  number: number;
  /** The architecture, e.g. `"x86_64"`. */
  arch: string;
}

/**
 * Where a result's `memoryPeakBytes` comes from:
 * - `cgroup`: the run's cgroup peak — every process together, tmpfs and page cache charged to it
 *   (v2 `memory.peak`, v1 `memory.max_usage_in_bytes`).
 * - `rusage`: the largest single process's peak resident set (`ru_maxrss`; init reaps every
 *   process of the run): without a cgroup, without the memory controller, or on cgroup v2
 *   before Linux 5.19 (no `memory.peak`).
 * - `none`: no figure (0): the launcher was killed before it could write a result.
 */
export type MemoryPeakSource = "cgroup" | "rusage" | "none";

/**
 * The outcome of a run. JSON field names are part of the public API (the CLI's `--json` and
 * `--result-file` print this object).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { SandboxBuilder, type SandboxResult } from "../mod.ts";
 *
 * const child = new SandboxBuilder("r").build().spawn("sh", ["-c", "exit 3"]);
 * const result: SandboxResult = await child.status;
 * assert.equal(result.exitCode, 3);
 * assert.equal(result.signal, null);
 * assert.equal(result.reason, "exited");
 * assert.ok(result.wallTimeMs > 0 && result.memoryPeakBytes > 0);
 * ```
 */
export interface SandboxResult {
  /** The exit code, or null when the target died by a signal or was killed. */
  exitCode: number | null;
  /** The signal name (`"SIGKILL"`) that ended the target, or null. */
  signal: string | null;
  /** Why the run ended; see {@linkcode SandboxReason}. */
  reason: SandboxReason;
  /**
   * True when the target exited 0 on its own and nothing ended or cut the run (no signal,
   * timeout, limit, OOM kill, `kill()` or abort).
   */
  success: boolean;
  /** True when the wall-clock `timeout` ran out. */
  timedOut: boolean;
  /** True when the cgroup's OOM killer killed a process of the run. */
  oomKilled: boolean;
  /** True when the run was stopped through `kill()`, an AbortSignal or disposal. */
  aborted: boolean;
  /** Wall-clock time of the run in milliseconds (0.1 ms resolution). */
  wallTimeMs: number;
  /**
   * CPU time of every process of the run, in µs, however the run ended (the cgroup's, else
   * init's rusage: init kills and reaps every process itself). Includes init's own setup inside
   * the sandbox (mounts, about 10 ms).
   */
  cpuTimeUs: number;
  /** The user-mode part of `cpuTimeUs`. */
  cpuUserUs: number;
  /** The kernel-mode part of `cpuTimeUs`. */
  cpuSystemUs: number;
  /**
   * Peak memory in bytes: the cgroup's peak (every process, tmpfs pages included) when the run
   * had a cgroup that records one, else the largest process's peak RSS; `memoryPeakSource` says
   * which.
   */
  memoryPeakBytes: number;
  /** Where `memoryPeakBytes` comes from; see {@linkcode MemoryPeakSource}. */
  memoryPeakSource: MemoryPeakSource;
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
  /** The mode the run used. */
  mode: ResolvedMode;
  /** What the run enforced. */
  enforced: Enforced;
  /** With an egress allow-list: every connection attempt, bytes and counts. */
  network?: NetworkReport;
}

/**
 * The result of `Sandbox.run()`: a {@linkcode SandboxResult} with the captured output as text
 * (UTF-8) and as the raw bytes.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { type CapturedResult, SandboxBuilder } from "../mod.ts";
 *
 * const result: CapturedResult = await new SandboxBuilder("c").build()
 *   .run("sh", ["-c", "echo out; echo err >&2; printf '\\377\\376'"]);
 * assert.equal(result.stderr, "err\n");
 * assert.deepEqual([...result.stdoutBytes.subarray(-2)], [0xff, 0xfe]);
 * assert.equal(result.success, true);
 * ```
 */
export interface CapturedResult extends SandboxResult {
  /** The target's standard output, decoded as UTF-8 (invalid sequences become U+FFFD). */
  stdout: string;
  /** The target's standard error, decoded as UTF-8. */
  stderr: string;
  /** The target's standard output, byte for byte. */
  stdoutBytes: Uint8Array;
  /** The target's standard error, byte for byte. */
  stderrBytes: Uint8Array;
}

// ---- Network egress by allow-list (lib/egress/) ----

/**
 * An egress allow-list (config `network` as an object, builder `allowNet()`, CLI
 * `--allow-net`/`--deny-net`). Entries:
 * - `example.com`, `example.com:443`: that host name (any port, or that port);
 * - `*.example.com[:PORT]`: any subdomain of it (not `example.com` itself);
 * - `203.0.113.7[:PORT]`, `[2001:db8::7]:PORT`, `10.0.0.0/8`, `[fd00::/8]:PORT`: addresses and
 *   CIDRs, matched against the resolved address;
 * - `*` (or `*:PORT`): any public destination.
 *
 * Loopback, private (RFC 1918, ULA), CGNAT, link-local (169.254.0.0/16: cloud metadata),
 * unspecified, multicast and reserved addresses, and the host's own addresses, are refused after
 * resolution unless an `allow` entry names them by address or CIDR. `deny` wins over `allow`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { type NetworkPolicy, SandboxBuilder } from "../mod.ts";
 *
 * const network: NetworkPolicy = { allow: ["registry.npmjs.org:443"], deny: ["10.0.0.0/8"] };
 * const config = new SandboxBuilder("npm").network(network).toConfig();
 * assert.deepEqual(config.network, network);
 * ```
 */
export interface NetworkPolicy {
  /** Destinations the sandbox may reach through the proxy. */
  allow: string[];
  /** Destinations refused even when `allow` matches. @default [] */
  deny?: string[];
  /** Cap on the bytes relayed in both directions together; past it, connections are cut. @default no cap */
  maxBytes?: number | string;
}

/** A parsed entry of {@linkcode NetworkPolicy}. */
export type EgressRule =
  | { kind: "any"; port: number | null; text: string }
  | { kind: "host"; name: string; wildcard: boolean; port: number | null; text: string }
  | { kind: "cidr"; bytes: Uint8Array; prefix: number; port: number | null; text: string };

/** The validated form of {@linkcode NetworkPolicy}. */
export interface ResolvedEgress {
  /** Parsed allow entries. */
  allow: EgressRule[];
  /** Parsed deny entries. */
  deny: EgressRule[];
  /** Byte cap (in + out), or null. */
  maxBytes: number | null;
}

/** One connection attempt through the egress proxy. */
export interface EgressRecord {
  /** The host the client asked for (a name or an IP literal). */
  host: string;
  /** The port asked for. */
  port: number;
  /** The resolved address connected to (or the one that was refused), or null. */
  address: string | null;
  /** `CONNECT` (a tunnel, e.g. HTTPS) or `HTTP` (a plain request forwarded). */
  method: "CONNECT" | "HTTP";
  /** Why it was allowed or denied (`allowed by "*.example.com"`, `loopback address; ...`). */
  reason: string;
  /** For an allowed attempt whose connection failed: the error. */
  error?: string;
}

/**
 * `result.network` of a run with an egress allow-list: what was allowed and denied (the first
 * 256 of each; the counts are exact), bytes relayed and connections.
 *
 * @example
 * ```ts ignore
 * const result = await new SandboxBuilder("n").allowNet(["example.com:443"]).build()
 *   .run("curl", ["-sI", "https://example.com"]);
 * for (const d of result.network!.denied) console.log(`denied ${d.host}:${d.port}: ${d.reason}`);
 * ```
 */
export interface NetworkReport {
  /** Attempts the policy allowed (bounded). */
  allowed: EgressRecord[];
  /** Attempts the policy or the proxy refused (bounded). */
  denied: EgressRecord[];
  /** How many attempts were allowed in all. */
  allowedCount: number;
  /** How many attempts were denied in all. */
  deniedCount: number;
  /** Bytes sent from the sandbox to destinations (request bodies, tunnelled bytes). */
  bytesOut: number;
  /** Bytes received from destinations. */
  bytesIn: number;
  /** Client connections the proxy accepted. */
  connections: number;
  /** True when `maxBytes` was reached and connections were cut. */
  byteLimitHit: boolean;
}
