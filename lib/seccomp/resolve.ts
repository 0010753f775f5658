/**
 * Policy resolution: a profile plus `allow`/`deny` and the refusal action, checked and turned into
 * syscall numbers for one architecture, with the argument checks and fixed-errno answers that
 * apply. Every validation message about a seccomp policy is written here.
 *
 * @module
 */

import { ERRNO } from "../errno.ts";
import { type Arch, ARCHES, syscallName, syscallNumber, SYSCALLS } from "../syscalls.ts";
import { PROFILE_NAMES, type SeccompProfileName, TIERS } from "./profiles.ts";
import {
  ARGUMENT_RULES,
  type ArgumentRule,
  type ArgumentRuleName,
  FIXED_ERRNO,
  IN_MEMORY_ARGUMENTS,
  IPC_NAMESPACE_SYSCALLS,
  NEVER_ALLOWED,
  NO_INET_SOCKET,
} from "./rules.ts";

/** The refusal action of a policy. */
export type SeccompAction = "kill" | "errno";

/** A seccomp policy: a profile plus adjustments. */
export interface SeccompPolicy {
  /** The profile, or `"none"` to install no filter at all (debugging only). */
  profile: SeccompProfileName | "none";
  /** Extra syscalls to allow (never-allowed names are an error). */
  allow?: string[];
  /** Syscalls to refuse even if the profile or `allow` has them (deny wins). */
  deny?: string[];
  /** What a refused syscall gets: `"kill"` (default, `SECCOMP_RET_KILL_PROCESS`) or `"errno"` (EPERM). */
  action?: SeccompAction;
}

/**
 * What the filter must also refuse because of where the sandbox runs: without namespaces
 * (Landlock alone) the host's IPC objects and network are shared.
 */
export interface ResolveOptions {
  /**
   * The sandbox shares the host's IPC namespace: the {@link IPC_NAMESPACE_SYSCALLS} the policy
   * allows are answered ENOSYS instead.
   * @default false
   */
  hostIpc?: boolean;
  /**
   * The network is `none` but the sandbox shares the host's network namespace, where Landlock cuts
   * only TCP `connect` and `bind`: `socket` gets {@link NO_INET_SOCKET}, so no inet socket of any
   * kind can be made.
   * @default false
   */
  noInet?: boolean;
}

/** An allowed syscall whose arguments are checked. */
export interface ResolvedArgumentRule {
  readonly nr: number;
  readonly name: ArgumentRuleName;
  readonly rule: ArgumentRule;
}

/** A syscall answered with a fixed errno. */
export interface ResolvedFixedErrno {
  readonly nr: number;
  readonly name: string;
  readonly errno: number;
}

/** A policy resolved for one architecture. */
export interface ResolvedSeccomp {
  readonly arch: Arch;
  readonly profile: SeccompProfileName | "none";
  readonly action: SeccompAction;
  /** `false` for `"none"`: no filter is installed and everything is allowed. */
  readonly enabled: boolean;
  /** Allowed syscall numbers, sorted and unique (argument-checked ones included). */
  readonly allowed: readonly number[];
  /** The allowed syscalls that have argument checks, by number. */
  readonly argumentRules: readonly ResolvedArgumentRule[];
  /** Syscalls with a fixed errno answer, by number (disjoint from `allowed`). */
  readonly fixedErrno: readonly ResolvedFixedErrno[];
}

const NEVER = new Set(NEVER_ALLOWED);
const KNOWN_NAMES: ReadonlySet<string> = new Set(ARCHES.flatMap((a) => Object.keys(SYSCALLS[a])));

function isProfileName(value: unknown): value is SeccompProfileName {
  return typeof value === "string" && (PROFILE_NAMES as readonly string[]).includes(value);
}

function tierNames(profile: SeccompProfileName): string[] {
  const names: string[] = [];
  for (const tier of PROFILE_NAMES) {
    if (tier === "unrestricted") break;
    names.push(...TIERS[tier]);
    if (tier === profile) break;
  }
  return names;
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(
        prev[j]! + 1,
        cur[j - 1]! + 1,
        prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1),
      );
    }
    prev = cur;
  }
  return prev[b.length]!;
}

function suggestion(name: string): string {
  let best = "";
  let bestDistance = Infinity;
  for (const known of KNOWN_NAMES) {
    const d = editDistance(name, known);
    if (d < bestDistance || (d === bestDistance && known < best)) {
      best = known;
      bestDistance = d;
    }
  }
  return bestDistance <= Math.max(2, Math.floor(name.length / 3))
    ? `; did you mean "${best}"?`
    : '; use Linux syscall names such as "openat" or "clock_nanosleep"';
}

function checkNames(field: "allow" | "deny", names: unknown): string[] {
  if (names === undefined) return [];
  if (!Array.isArray(names) || names.some((n) => typeof n !== "string")) {
    throw new TypeError(`Invalid seccomp.${field}: expected an array of syscall names`);
  }
  for (const name of names as string[]) {
    if (!KNOWN_NAMES.has(name)) {
      throw new RangeError(
        `Unknown syscall "${name}" in seccomp.${field}: it is in neither the x86_64 nor the aarch64 table${
          suggestion(name)
        }`,
      );
    }
  }
  return names as string[];
}

/**
 * Resolves a policy for one architecture: the allowed syscall numbers, the argument checks and
 * the fixed-errno answers, narrowed by `options` for a sandbox without namespaces. Throws
 * `RangeError` for unknown profiles, unknown syscall names, or a never-allowed name in `allow`;
 * `TypeError` for malformed fields.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { resolvePolicy } from "./mod.ts";
 *
 * const r = resolvePolicy({ profile: "essential", allow: ["uname"] }, "x86_64");
 * assert(r.allowed.includes(63)); // uname
 * assert(r.action === "kill");
 * const shared = resolvePolicy({ profile: "compute" }, "x86_64", { hostIpc: true });
 * assert(shared.fixedErrno.some((f) => f.name === "shmget" && f.errno === 38)); // ENOSYS
 * ```
 */
export function resolvePolicy(
  policy: SeccompPolicy,
  arch: Arch,
  options: ResolveOptions = {},
): ResolvedSeccomp {
  if (!(ARCHES as readonly string[]).includes(arch)) {
    throw new RangeError(`Unsupported architecture "${arch}": expected "x86_64" or "aarch64"`);
  }
  const profile = policy.profile;
  if (profile !== "none" && !isProfileName(profile)) {
    throw new RangeError(
      `Unknown seccomp profile "${String(profile)}": expected one of ${
        [...PROFILE_NAMES, "none"].map((p) => `"${p}"`).join(", ")
      }`,
    );
  }
  const action = policy.action ?? "kill";
  if (action !== "kill" && action !== "errno") {
    throw new RangeError(
      `Invalid seccomp.action "${String(action)}": expected "kill" or "errno"`,
    );
  }
  const allow = checkNames("allow", policy.allow);
  const deny = checkNames("deny", policy.deny);
  const table = SYSCALLS[arch];

  if (profile === "none") {
    if (deny.length > 0) {
      throw new RangeError(
        `Invalid seccomp.deny with profile "none": "none" installs no filter, so nothing can be denied; pick a profile such as "unrestricted"`,
      );
    }
    return Object.freeze({
      arch,
      profile,
      action,
      enabled: false,
      allowed: Object.freeze(Object.values(table).sort((a, b) => a - b)),
      argumentRules: Object.freeze([]),
      fixedErrno: Object.freeze([]),
    });
  }

  for (const name of allow) {
    if (NEVER.has(name)) {
      throw new RangeError(
        `Syscall "${name}" in seccomp.allow can never be allowed: it is on the never-allowed list (modules, mounts, namespaces, ptrace, io_uring, …); use profile "none" only for debugging`,
      );
    }
    const fallback = IN_MEMORY_ARGUMENTS[name];
    if (fallback !== undefined) {
      throw new RangeError(
        `Syscall "${name}" in seccomp.allow cannot be allowed: its arguments live in memory a filter cannot inspect, so it is answered with ENOSYS and callers fall back to "${fallback}"`,
      );
    }
  }

  const base = profile === "unrestricted" ? Object.keys(table) : tierNames(profile);
  const denied = new Set(deny);
  const fixed = new Map(Object.entries(FIXED_ERRNO));
  const allowedNames = new Set<string>();
  for (const name of [...base, ...allow]) {
    if (NEVER.has(name) || denied.has(name) || Object.hasOwn(IN_MEMORY_ARGUMENTS, name)) continue;
    if (options.hostIpc && IPC_NAMESPACE_SYSCALLS.includes(name)) fixed.set(name, ERRNO.ENOSYS);
    else allowedNames.add(name);
  }
  const rules: Readonly<Record<ArgumentRuleName, ArgumentRule>> = options.noInet
    ? { ...ARGUMENT_RULES, socket: NO_INET_SOCKET }
    : ARGUMENT_RULES;
  const allowed: number[] = [];
  const argumentRules: ResolvedArgumentRule[] = [];
  for (const name of allowedNames) {
    const nr = syscallNumber(arch, name);
    if (nr === undefined) continue;
    allowed.push(nr);
    if (Object.hasOwn(rules, name)) {
      const ruleName = name as ArgumentRuleName;
      argumentRules.push(Object.freeze({ nr, name: ruleName, rule: rules[ruleName] }));
    }
  }
  const fixedErrno: ResolvedFixedErrno[] = [];
  for (const [name, errno] of fixed) {
    const nr = syscallNumber(arch, name);
    if (nr !== undefined && !denied.has(name) && !allowedNames.has(name)) {
      fixedErrno.push(Object.freeze({ nr, name, errno }));
    }
  }
  allowed.sort((a, b) => a - b);
  argumentRules.sort((a, b) => a.nr - b.nr);
  fixedErrno.sort((a, b) => a.nr - b.nr);
  return Object.freeze({
    arch,
    profile,
    action,
    enabled: true,
    allowed: Object.freeze(allowed),
    argumentRules: Object.freeze(argumentRules),
    fixedErrno: Object.freeze(fixedErrno),
  });
}

/**
 * The syscall names a profile allows on `arch`, sorted (argument-checked ones included; fixed-errno
 * and never-allowed ones excluded).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { profileSyscalls } from "./mod.ts";
 *
 * assert(profileSyscalls("essential", "x86_64").includes("pread64"));
 * assert(!profileSyscalls("unrestricted", "x86_64").includes("mount"));
 * ```
 */
export function profileSyscalls(name: SeccompProfileName, arch: Arch): string[] {
  const resolved = resolvePolicy({ profile: name }, arch);
  return resolved.allowed.map((nr) => syscallName(arch, nr)!).sort();
}
