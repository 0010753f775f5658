/**
 * Seccomp profiles and a BPF compiler for them (pure: no `Deno.*`).
 *
 * A policy names one of six cumulative profiles
 * (`essential ⊂ minimal ⊂ io-heavy ⊂ compute ⊂ network ⊂ unrestricted`), plus optional extra
 * syscalls to allow or deny. {@link compileSeccomp} turns it into a classic-BPF program (an array of
 * `struct sock_filter`) that the C launcher installs with `seccomp(SECCOMP_SET_MODE_FILTER)` just
 * before `execve`.
 *
 * What every filter does, in order:
 *
 * 1. A foreign architecture (`seccomp_data.arch` other than the expected `AUDIT_ARCH_*`) kills the
 *    process: its syscall numbers mean something else.
 * 2. On x86_64, x32 syscalls (`nr ≥ 0x40000000`) are refused.
 * 3. A binary search over the syscall numbers (about 9 compares) picks one of: allow, refuse, a
 *    fixed errno, or a short argument check.
 *
 * Answers:
 *
 * - **Refused** syscalls (not in the profile, in `deny`, or in {@link NEVER_ALLOWED}) get the
 *   policy's `action`: `"kill"` = `SECCOMP_RET_KILL_PROCESS` (the default), `"errno"` =
 *   `SECCOMP_RET_ERRNO | EPERM`. With `{ notify: true }` they return `SECCOMP_RET_USER_NOTIF`
 *   instead, so that the launcher's monitor learns the syscall number and then answers EPERM or
 *   kills the sandbox itself. (With no listener attached the kernel fails such a call with ENOSYS.)
 * - **Fixed errno** answers ({@link FIXED_ERRNO}) are for calls that programs probe and whose
 *   failure they handle: `clone3` → ENOSYS (glibc then falls back to `clone`, whose flags the filter
 *   can see), `openat2` → ENOSYS (callers fall back to `openat`, whose mode the filter can see),
 *   `io_uring_setup` → ENOSYS (libuv, liburing and Tokio fall back to epoll or threads),
 *   and, below `compute`, `socket` → EACCES (glibc's NSS lookups in `ls -l` or `id` try nscd's
 *   socket first, then read `/etc/passwd`). They are never reported and never kill.
 * - **Argument checks** ({@link ARGUMENT_RULES}) narrow some allowed syscalls. Only the low 32 bits
 *   of an argument are compared, as the kernel itself truncates these arguments (so
 *   `0x1_00005412` is TIOCSTI too: CVE-2019-10063). A call that fails a check gets an errno the
 *   kernel itself would return in a locked-down system (EPERM, or EAFNOSUPPORT for socket
 *   families), because real programs probe these cases: glibc's `getaddrinfo` opens an
 *   `AF_NETLINK` socket and Chromium/Electron try `clone(CLONE_NEWUSER)`; killing them would
 *   break ordinary DNS lookups and browsers. No mode argument may carry `S_ISUID`/`S_ISGID`, so no
 *   set-id file can be made. With `{ notify: true }` a failing check notifies too, so the monitor
 *   counts and names it, then answers the check's errno ({@link notifyAnswers}) in either mode.
 * - **Without namespaces** (Landlock alone; {@link ResolveOptions}) the filter also stands in for
 *   the missing IPC namespace (System V IPC and POSIX message queues → ENOSYS) and, when the
 *   network is `none`, for the missing network namespace (no inet sockets: {@link NO_INET_SOCKET}).
 *
 * The parts: `profiles.ts` (the tiers), `rules.ts` (never-list, fixed errnos, argument checks),
 * `resolve.ts` (policy → syscall numbers), `bpf.ts` (the one BPF vocabulary), `assembler.ts` and
 * `compile.ts` (policy → program), `inspect.ts` (validate, evaluate, disassemble: tests and CLI).
 *
 * @example Compile a profile and inspect it
 * ```ts
 * import assert from "node:assert/strict";
 * import { compileSeccomp, disassemble, evaluateSeccomp, SECCOMP_RET } from "./mod.ts";
 *
 * const bpf = compileSeccomp({ profile: "minimal" }, "x86_64");
 * assert(bpf.length % 8 === 0);
 * assert(evaluateSeccomp(bpf, { arch: "x86_64", nr: 0 }) === SECCOMP_RET.ALLOW); // read
 * assert(disassemble(bpf, "x86_64").startsWith("0000: ld [4]"));
 * ```
 *
 * @module
 */

export { type Arch } from "../syscalls.ts";
export { PROFILE_DESCRIPTIONS, PROFILE_NAMES, type SeccompProfileName } from "./profiles.ts";
export {
  ARGUMENT_RULES,
  type ArgumentCheck,
  type ArgumentRule,
  type ArgumentRuleName,
  FIXED_ERRNO,
  IN_MEMORY_ARGUMENTS,
  IPC_NAMESPACE_SYSCALLS,
  NEVER_ALLOWED,
  NO_INET_SOCKET,
} from "./rules.ts";
export {
  profileSyscalls,
  type ResolvedArgumentRule,
  type ResolvedFixedErrno,
  type ResolvedSeccomp,
  type ResolveOptions,
  resolvePolicy,
  type SeccompAction,
  type SeccompPolicy,
} from "./resolve.ts";
export { BPF_MAXINSNS, decodeProgram, SECCOMP_RET, type SockFilter } from "./bpf.ts";
export {
  type CompileOptions,
  compileRefusals,
  compileSeccomp,
  type NotifyAnswer,
  notifyAnswers,
} from "./compile.ts";
export {
  actionName,
  disassemble,
  evaluateSeccomp,
  type SeccompData,
  validateSeccompProgram,
} from "./inspect.ts";
