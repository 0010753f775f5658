/**
 * Policy: validates a {@linkcode SandboxConfig} and turns it into launcher ops, including the
 * embedded default root. Pure: facts about the host come in as {@linkcode HostLayout}.
 *
 * @module
 */

import type { Op } from "./config.ts";
import {
  checkFields,
  describeValue,
  parseDuration,
  parseNonZeroSize,
  validateAbsolutePath,
  validateChoice,
  validateEnv,
  validateId,
  validateString,
} from "./parse.ts";
import type {
  NamespaceName,
  PrivilegeMode,
  ResolvedConfig,
  ResolvedMode,
  SandboxConfig,
} from "./types.ts";
import { UnsupportedError } from "./errors.ts";
import { syscallNumber } from "./syscalls.ts";
import { SANDBOX_ID } from "./identity.ts";
import { validateLimits } from "./limits.ts";
import {
  DEFAULT_TMPFS_SIZE,
  filesystemPlan,
  type FsHost,
  usesNamespaces,
  validateFilesystem,
} from "./mounts.ts";
import {
  type Arch,
  compileSeccomp,
  notifyAnswers,
  PROFILE_NAMES,
  type ResolveOptions,
  resolvePolicy,
} from "./seccomp/mod.ts";
import { hostIdsOp, validateHostIds } from "./host_ids.ts";
import { budgetOps, validateBudgets } from "./budgets.ts";
import { ownershipPlan, validateIdmap } from "./ownership.ts";

/** The `PATH` every sandbox gets unless the policy sets its own. */
export const DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
/** The uid and gid the target runs as, inside the sandbox. */
export const SANDBOX_UID = SANDBOX_ID;

export { ETC_ENTRIES, SYSTEM_DIRS } from "./mounts.ts";

/** What the policy needs to know about the host: its root directory, kernel and CPU. */
export interface HostLayout extends FsHost {
  /** The syscall architecture. */
  arch: Arch;
  /** The entries of `/proc/sys/user` (without `max_`); absent: assume all. */
  usernsLimits?: readonly string[];
}

const KEYS: readonly (keyof SandboxConfig)[] = [
  "id",
  "timeout",
  "env",
  "cwd",
  "network",
  "hostname",
  "user",
  "privilegeMode",
  "tmpSize",
  "seccomp",
  "memory",
  "maxPids",
  "cpuPercent",
  "cpuQuota",
  "cpuTime",
  "openFiles",
  "fileSize",
  "maxOutput",
  "limits",
  "mounts",
  "rootfs",
  "namespaces",
  "landlock",
  "idmap",
  "hostIds",
  "budgets",
];

/** The default seccomp profile: runs python3, node, gcc, sh and coreutils. */
export const DEFAULT_SECCOMP_PROFILE = "compute";

/**
 * Validates a plain configuration and fills in the defaults. Unknown fields are rejected.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { validateConfig } from "./policy.ts";
 * const c = validateConfig({ id: "job", timeout: "2s" });
 * assert(c.timeoutMs === 2000 && c.network === "none");
 * ```
 */
export function validateConfig(
  config: SandboxConfig,
  cpus: number = navigator.hardwareConcurrency ?? 1,
): ResolvedConfig {
  if (typeof config !== "object" || config === null || Array.isArray(config)) {
    throw new TypeError(`Invalid config ${describeValue(config)}: expected an object`);
  }
  checkFields(config, { name: "config", allowed: KEYS });
  const c = config;
  const resolved: ResolvedConfig = {
    id: c.id === undefined ? "sandbox" : validateId(c.id),
    timeoutMs: c.timeout === undefined ? null : parseDuration(c.timeout, "timeout"),
    env: validateEnv(c.env ?? {}, "env"),
    cwd: c.cwd === undefined ? "/" : validateAbsolutePath(c.cwd, "cwd"),
    network: c.network === undefined
      ? "none"
      : validateChoice(c.network, { field: "network", allowed: ["none", "host"] as const }),
    hostname: c.hostname === undefined ? "sandbox" : validateHostname(c.hostname),
    user: c.user === undefined ? "sandbox" : validateUserName(c.user),
    privilegeMode: c.privilegeMode === undefined ? "auto" : validateChoice(c.privilegeMode, {
      field: "privilegeMode",
      allowed: ["auto", "privileged", "unprivileged"] as const,
    }),
    tmpSizeBytes: c.tmpSize === undefined
      ? DEFAULT_TMPFS_SIZE
      : parseNonZeroSize(c.tmpSize, "tmpSize"),
    seccomp: validateSeccomp(c.seccomp),
    ...validateFilesystem(c),
    limits: validateLimits(c, cpus),
    idmap: validateIdmap(c.idmap),
    hostIds: validateHostIds(c.hostIds),
    budgets: validateBudgets(c.budgets),
  };
  // The open-files limit is set after the filter is installed (Landlock and the seccomp
  // listener need descriptors first), with prlimit64: a filter refusing it would kill the run.
  const denied = resolved.seccomp.deny.filter((n) => n === "prlimit64" || n === "setrlimit");
  if (resolved.limits.openFiles !== null && denied.length) {
    throw new RangeError(
      `Conflicting openFiles and seccomp.deny "${
        denied[0]
      }": the open-files limit is applied with prlimit64 under the filter`,
    );
  }
  checkNetworkUsable(resolved);
  return resolved;
}

/**
 * `network: "host"` is asked for to use the network; a filter that refuses `socket` makes that
 * impossible, so the combination is refused rather than left to fail inside the run.
 */
function checkNetworkUsable(config: ResolvedConfig): void {
  const s = config.seccomp;
  if (config.network !== "host" || s.profile === "none") return;
  // `socket` has the same name on both architectures; the tiers do not depend on the arch.
  const resolved = resolvePolicy(toPolicy(s), "x86_64");
  if (!resolved.allowed.includes(syscallNumber("x86_64", "socket")!)) {
    throw new RangeError(
      `Conflicting network "host" and seccomp profile "${s.profile}": the filter refuses socket(), so no program can use the network; use profile "compute" (the default) or above, or add "socket" to seccomp.allow`,
    );
  }
}

function stringList(value: unknown, field: string): string[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) {
    throw new TypeError(`Invalid ${field} ${describeValue(value)}: expected an array of names`);
  }
  return value.map((v, i) => validateString(v, `${field}[${i}]`));
}

/** Validates a seccomp setting; unknown syscalls and never-list allows are rejected here. */
export function validateSeccomp(value: unknown): ResolvedConfig["seccomp"] {
  const obj = typeof value === "string" || value === undefined ? { profile: value } : value;
  if (typeof obj !== "object" || obj === null || Array.isArray(obj)) {
    throw new TypeError(
      `Invalid seccomp ${
        describeValue(value)
      }: expected a profile name or { profile, allow, deny, action }`,
    );
  }
  const o = obj as Record<string, unknown>;
  checkFields(o, { name: "seccomp", allowed: ["profile", "allow", "deny", "action"] });
  const seccomp = {
    profile: o.profile === undefined ? DEFAULT_SECCOMP_PROFILE : validateChoice(o.profile, {
      field: "seccomp.profile",
      allowed: [...PROFILE_NAMES, "none"],
    }),
    allow: stringList(o.allow, "seccomp.allow"),
    deny: stringList(o.deny, "seccomp.deny"),
    action: o.action === undefined
      ? "kill" as const
      : validateChoice(o.action, { field: "seccomp.action", allowed: ["kill", "errno"] as const }),
  };
  // Resolving checks every name against both architectures' tables.
  for (const arch of ["x86_64", "aarch64"] as const) resolvePolicy(toPolicy(seccomp), arch);
  return seccomp;
}

function toPolicy(s: ResolvedConfig["seccomp"]) {
  return {
    profile: s.profile as Parameters<typeof resolvePolicy>[0]["profile"],
    allow: s.allow,
    deny: s.deny,
    action: s.action,
  };
}

/**
 * The ops that install the seccomp filter: the BPF (refusals as USER_NOTIF, so the launcher's
 * monitor can name them) and what the monitor does with a refusal. `where` says what the missing
 * namespaces leave the filter to refuse.
 */
export function seccompOps(
  s: ResolvedConfig["seccomp"],
  arch: Arch,
  where: ResolveOptions = {},
): Op[] {
  const bpf = compileSeccomp(toPolicy(s), arch, { ...where, notify: true });
  if (bpf.length === 0) return [];
  let hex = "";
  for (const b of bpf) hex += b.toString(16).padStart(2, "0");
  // Argument-check failures notify as well (so they are counted and named) and are answered
  // with their own errno, never a kill: programs probe them (getaddrinfo's netlink socket).
  const answers: Op[] = notifyAnswers(toPolicy(s), arch, where).map((a) => [
    "seccomp-errno",
    String(a.nr),
    String(a.arg0),
    String(a.errno),
  ]);
  return [["seccomp", hex], ["seccomp-notify", s.action], ...answers];
}

function validateUserName(value: unknown): string {
  const s = validateString(value, "user");
  if (!/^[a-z_][a-z0-9_-]{0,31}$/.test(s) || s === "root" || s === "nobody") {
    throw new RangeError(
      `Invalid user ${
        describeValue(value)
      }: expected a user name of 1-32 characters a-z 0-9 _ - (starting with a letter or _), not "root" or "nobody"`,
    );
  }
  return s;
}

function validateHostname(value: unknown): string {
  const s = validateString(value, "hostname");
  if (!/^[A-Za-z0-9]([A-Za-z0-9.-]{0,62})$/.test(s)) {
    throw new RangeError(
      `Invalid hostname ${describeValue(value)}: expected 1-63 characters of A-Z a-z 0-9 . -`,
    );
  }
  return s;
}

/**
 * Resolves the privilege mode for a caller with effective uid `euid`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { resolveMode } from "./policy.ts";
 * assert(resolveMode("auto", 0) === "privileged");
 * assert(resolveMode("auto", 1000) === "unprivileged");
 * ```
 */
export function resolveMode(mode: PrivilegeMode, euid: number): ResolvedMode {
  if (mode === "privileged" && euid !== 0) {
    throw new UnsupportedError(
      `Privileged mode needs root (euid is ${euid}): run as root, or use privilegeMode "unprivileged"`,
    );
  }
  if (mode === "auto") return euid === 0 ? "privileged" : "unprivileged";
  return mode;
}

/** The namespaces a configuration creates (none when it runs under Landlock alone on host). */
export function namespacesFor(config: ResolvedConfig, host?: FsHost): NamespaceName[] {
  if (host && !usesNamespaces(config, host)) return [];
  const ns: NamespaceName[] = ["user", "pid", "mount", "uts", "ipc"];
  if (config.network === "none") ns.push("net");
  ns.push("cgroup");
  return ns;
}

/** Identity facts of the calling process. */
export interface Caller {
  euid: number;
  egid: number;
}

/** Who runs a sandbox, in which mode, on what host: the inputs of {@linkcode staticOps}. */
export interface StaticContext {
  mode: ResolvedMode;
  caller: Caller;
  host: HostLayout;
}

/**
 * The ops that are the same for every run of a sandbox (everything but the status file, the
 * program, its arguments, per-run environment and cwd).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { staticOps, validateConfig } from "./policy.ts";
 * const ops = staticOps(validateConfig({ hostname: "box" }), {
 *   mode: "unprivileged",
 *   caller: { euid: 1234, egid: 99 },
 *   host: { system: { "/usr": { dir: true } }, arch: "x86_64" },
 * });
 * assert.deepEqual(ops.find((op) => op[0] === "uid-map"), ["uid-map", "1000", "1234"]);
 * assert.deepEqual(ops.find((op) => op[0] === "hostname"), ["hostname", "box"]);
 * ```
 */
export function staticOps(config: ResolvedConfig, context: StaticContext): Op[] {
  const { mode, caller, host } = context;
  const rootCaller = hasHostIds(mode, caller);
  const owners = ownershipPlan(config, { namespaces: usesNamespaces(config, host), rootCaller });
  const fs = filesystemPlan(config, host, { idmap: owners.idmap });
  const ops: Op[] = [];
  for (const ns of namespacesFor(config)) ops.push(["unshare", ns]);
  // Each run of a root caller is a host uid/gid of its own, never host root (the launcher
  // allocates it, lib/host_ids.ts); an unprivileged caller can only map its own ids.
  if (rootCaller) {
    ops.push(hostIdsOp(config.hostIds));
    // Its binds and overlays show the caller's files as the sandbox user's (lib/ownership.ts).
    ops.push(...owners.ops);
  } else {
    ops.push(["uid-map", String(SANDBOX_UID), String(caller.euid)]);
    ops.push(["gid-map", String(SANDBOX_UID), String(caller.egid)]);
  }
  ops.push(["uid", String(SANDBOX_UID)], ["gid", String(SANDBOX_UID)]);
  ops.push(["hostname", config.hostname]);
  if (config.network === "none") ops.push(["loopback"]);
  ops.push(["newroot"]);
  ops.push(...fs.mountOps);
  // The sandbox's own kernel budgets (lib/budgets.ts); without namespaces only the rlimit stays.
  const dev = fs.mountOps.some((op) => op[0] === "dev");
  ops.push(...budgetOps(config.budgets, { dev, available: host.usernsLimits }));
  // No core dumps: they would land in the sandbox's cwd and can leak memory contents.
  ops.push(["rlimit", "core", "0", "0"]);
  // Landlock is applied by the target after no_new_privs, before seccomp (launcher/child.c).
  ops.push(...fs.landlock.ops);
  // Without namespaces the filter stands in for the IPC namespace and, when the network is
  // `none`, for the network namespace (Landlock cuts only TCP connect and bind).
  ops.push(...seccompOps(config.seccomp, host.arch, {
    hostIpc: !fs.namespaces,
    noInet: !fs.namespaces && config.network === "none",
  }));
  // The wall-clock limit is a run op (runOps): a run may override the sandbox's.
  return fs.namespaces ? ops : withoutNamespaces(ops);
}

/** Whether a run gets host ids of its own (a root caller, or `privileged`): lib/host_ids.ts. */
export function hasHostIds(mode: ResolvedMode, caller: Caller): boolean {
  return mode === "privileged" || caller.euid === 0;
}

/** Ops that need namespaces (or a new root); dropped when Landlock confines alone. */
const NAMESPACE_OPS = new Set([
  "unshare",
  "uid-map",
  "gid-map",
  "uid",
  "gid",
  "hostname",
  "loopback",
  "newroot",
  "userns-limit",
  "pty-max",
  "idmap",
]);

/**
 * The uid the target runs as: 1000 inside namespaces; without, the caller's own — or for a root
 * caller the host uid allocated per run, unknown before it: -1 (see a result's `enforced.uid`).
 */
export function targetUid(namespaces: boolean, caller: Caller): number {
  return namespaces ? SANDBOX_UID : caller.euid === 0 ? -1 : caller.euid;
}

function withoutNamespaces(ops: readonly Op[]): Op[] {
  // A root caller's host-ids op stays: without a user namespace the target runs as the pair.
  return ops.filter((op) => !NAMESPACE_OPS.has(op[0]));
}

/** What changes per run. */
export interface RunSpec {
  statusPath: string;
  /** The run's cgroup name when a cgroup backend is in use. */
  cgroupName?: string;
  program: string;
  args: readonly string[];
  env: Record<string, string>;
  cwd: string;
  /** The run's wall-clock limit in ms (the sandbox's, or the run's own), or null for none. */
  timeoutMs: number | null;
  /** The run's stdio as FIFOs in this private dir (lib/fifo_stdio.ts), stdin a FIFO or empty. */
  stdio?: { dir: string; stdin: "fifo" | "null" };
}

/** Validates a program and its arguments. */
export function validateCommand(program: unknown, args: unknown): [string, string[]] {
  const p = validateString(program, "program");
  if (p === "") throw new RangeError(`Invalid program "": expected a program name or path`);
  if (!Array.isArray(args)) {
    throw new TypeError(`Invalid args ${describeValue(args)}: expected an array of strings`);
  }
  return [p, args.map((a, i) => validateString(a, `args[${i}]`))];
}

/**
 * The seed's `NamespaceConfig`, accepted by `SandboxBuilder.namespaces()`: only `net: false`
 * changes anything (it shares the host network); switching off another namespace is refused.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { SandboxBuilder, type SeedNamespaces } from "../mod.ts";
 *
 * const ns: SeedNamespaces = { pid: true, net: false };
 * assert.equal(new SandboxBuilder("ns").namespaces(ns).toConfig().network, "host");
 * assert.throws(() => new SandboxBuilder("ns").namespaces({ pid: false }), RangeError);
 * ```
 */
export interface SeedNamespaces {
  /** A pid namespace. @default true */
  pid?: boolean;
  /** An IPC namespace. @default true */
  ipc?: boolean;
  /** `false`: share the host network (`network: "host"`). @default true */
  net?: boolean;
  /** A mount namespace. @default true */
  mount?: boolean;
  /** A UTS namespace (hostname). @default true */
  uts?: boolean;
  /** A user namespace. @default true */
  user?: boolean;
}

/**
 * The config fields that the seed's `NamespaceConfig` object stands for: only `net: false`
 * changes anything (it shares the host network); switching off another namespace is refused.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { seedNamespaces } from "./policy.ts";
 * assert.deepEqual(seedNamespaces({ net: false }), { namespaces: true, network: "host" });
 * assert.throws(() => seedNamespaces({ pid: false }), RangeError);
 * ```
 */
export function seedNamespaces(
  value: SeedNamespaces,
): Pick<SandboxConfig, "namespaces" | "network"> {
  checkFields(value, {
    name: "namespaces",
    allowed: ["pid", "ipc", "net", "mount", "uts", "user"],
  });
  for (const [k, v] of Object.entries(value)) {
    if (typeof v !== "boolean") {
      throw new TypeError(`Invalid namespaces.${k} ${JSON.stringify(v)}: expected a boolean`);
    }
    if (k !== "net" && v === false) {
      throw new RangeError(
        `Invalid namespaces.${k} false: the sandbox always uses ${k} namespaces; use namespaces(false) for Landlock-only confinement`,
      );
    }
  }
  return {
    namespaces: true,
    network: (value as { net?: boolean }).net === false ? "host" : "none",
  };
}

/** The per-run ops. */
export function runOps(spec: RunSpec): Op[] {
  const ops: Op[] = [["status", spec.statusPath], ["chdir", spec.cwd]];
  if (spec.cgroupName) ops.push(["cgroup-name", spec.cgroupName]);
  if (spec.timeoutMs !== null) ops.push(["timeout", String(spec.timeoutMs)]);
  if (spec.stdio) ops.push(["stdio-fifos", spec.stdio.dir, spec.stdio.stdin]);
  const env = { PATH: DEFAULT_PATH, ...spec.env };
  for (const [k, v] of Object.entries(env)) ops.push(["env", `${k}=${v}`]);
  ops.push(["exec", spec.program], ["arg", spec.program]);
  for (const a of spec.args) ops.push(["arg", a]);
  return ops;
}
