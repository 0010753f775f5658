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
 *   policy's `defaultAction`: `"kill"` = `SECCOMP_RET_KILL_PROCESS` (the default), `"errno"` =
 *   `SECCOMP_RET_ERRNO | EPERM`. With `{ notify: true }` they return `SECCOMP_RET_USER_NOTIF`
 *   instead, so that the launcher's monitor learns the syscall number and then answers EPERM or
 *   kills the sandbox itself. (With no listener attached the kernel fails such a call with ENOSYS.)
 * - **Fixed errno** answers ({@link FIXED_ERRNO}) are for calls that programs probe and whose
 *   failure they handle: `clone3` → ENOSYS (glibc then falls back to `clone`, whose flags the filter
 *   can see), `io_uring_setup` → ENOSYS (libuv, liburing and Tokio fall back to epoll or threads),
 *   and, below `network`, `socket` → EACCES (glibc's NSS lookups in `ls -l` or `id` try nscd's
 *   socket first, then read `/etc/passwd`). They are never reported and never kill.
 * - **Argument checks** ({@link ARGUMENT_RULES}) narrow some allowed syscalls. Only the low 32 bits
 *   of an argument are compared, as the kernel itself truncates these arguments (so
 *   `0x1_00005412` is TIOCSTI too: CVE-2019-10063). A call that fails a check gets an errno the
 *   kernel itself would return in a locked-down system (EPERM, or EAFNOSUPPORT for socket
 *   families), because real programs probe these cases: glibc's `getaddrinfo` opens an
 *   `AF_NETLINK` socket and Chromium/Electron try `clone(CLONE_NEWUSER)`; killing them would
 *   break ordinary DNS lookups and browsers.
 *
 * @example Compile a profile and inspect it
 * ```ts
 * import assert from "node:assert/strict";
 * import { compileSeccomp, disassemble, evaluateSeccomp, SECCOMP_RET } from "./seccomp.ts";
 *
 * const bpf = compileSeccomp({ profile: "minimal" }, "x86_64");
 * assert(bpf.length % 8 === 0);
 * assert(evaluateSeccomp(bpf, { arch: "x86_64", nr: 0 }) === SECCOMP_RET.ALLOW); // read
 * assert(disassemble(bpf, "x86_64").startsWith("0000: ld [4]"));
 * ```
 *
 * @module
 */

import {
  type Arch,
  ARCHES,
  AUDIT_ARCH,
  syscallName,
  syscallNumber,
  SYSCALLS,
  X32_SYSCALL_BIT,
} from "./syscalls.ts";

export type { Arch } from "./syscalls.ts";

/** The profile names, in cumulative order. */
export type SeccompProfileName =
  | "essential"
  | "minimal"
  | "io-heavy"
  | "compute"
  | "network"
  | "unrestricted";

/**
 * The six profiles, least to most permissive; each allows everything the previous one allows.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { PROFILE_NAMES } from "./seccomp.ts";
 *
 * assert(PROFILE_NAMES[0] === "essential" && PROFILE_NAMES.length === 6);
 * ```
 */
export const PROFILE_NAMES: readonly SeccompProfileName[] = Object.freeze([
  "essential",
  "minimal",
  "io-heavy",
  "compute",
  "network",
  "unrestricted",
]);

/**
 * What each profile allows, in one line (for `--list-seccomp` and `profiles NAME`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { PROFILE_DESCRIPTIONS } from "./seccomp.ts";
 *
 * assert(PROFILE_DESCRIPTIONS.network.startsWith("Compute +"));
 * ```
 */
export const PROFILE_DESCRIPTIONS: Readonly<Record<SeccompProfileName, string>> = Object.freeze({
  essential:
    "Process bootstrap: exec, memory mapping, reading files, identity queries (runs a static or dynamic /bin/true)",
  minimal:
    "Essential + signals, fork/wait, pipes, polling, timers, directory and metadata reads (runs sh, bash, cat, ls -l, sleep, python3 -c)",
  "io-heavy":
    "Minimal + changing the file system: create, rename, link, remove, chmod/chown, xattrs, truncate, AIO (runs cp, mv, rm, mkdir)",
  compute:
    "IoHeavy + scheduling and NUMA, memory keys, futex2, System V and POSIX IPC, socketpairs (runs threaded programs, gcc, node)",
  network:
    "Compute + creating sockets (AF_UNIX, AF_INET, AF_INET6 only), bind, listen, accept, connect",
  unrestricted:
    "Every syscall except the never-allowed list (modules, mounts, namespaces, ptrace, bpf, keyrings, io_uring, clocks, reboot, …)",
});

/**
 * Syscalls refused in every profile, `unrestricted` included; naming one in `allow` is an error
 * (except with the `none` opt-out, which installs no filter). Decisions beyond the obvious:
 *
 * - `unshare` is refused outright (even the harmless `CLONE_FILES`/`CLONE_FS` uses): namespace
 *   creation is the launcher's job and `clone` already refuses `CLONE_NEW*` flags.
 * - `kcmp`, `pidfd_getfd`, `process_madvise`, `process_vm_*`, `ptrace`: they act on other
 *   processes; Docker, too, allows them only with `CAP_SYS_PTRACE`.
 * - `modify_ldt`: x86 only, needed only by Wine/DOSEMU-style 16-bit code, a history of CVEs.
 * - `io_uring_*`: io_uring performs operations without passing through seccomp. `io_uring_setup`
 *   is answered ENOSYS (see {@link FIXED_ERRNO}) so that libraries fall back quietly.
 * - `name_to_handle_at`/`open_by_handle_at`: file handles bypass path-based confinement.
 * - `create_module`, `get_kernel_syms`, `query_module`, `nfsservctl`, `uselib`, `_sysctl`: obsolete
 *   or removed; listed so that no allow-list can ever reach them.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { NEVER_ALLOWED } from "./seccomp.ts";
 *
 * assert(NEVER_ALLOWED.includes("kexec_load"));
 * ```
 */
export const NEVER_ALLOWED: readonly string[] = Object.freeze([
  // kernel code and images
  "kexec_load",
  "kexec_file_load",
  "init_module",
  "finit_module",
  "delete_module",
  "create_module",
  "get_kernel_syms",
  "query_module",
  "bpf",
  "perf_event_open",
  // keyrings
  "keyctl",
  "add_key",
  "request_key",
  // file handles, userfaultfd
  "open_by_handle_at",
  "name_to_handle_at",
  "userfaultfd",
  // mounts and roots
  "mount",
  "umount2",
  "move_mount",
  "open_tree",
  "open_tree_attr",
  "fsopen",
  "fsconfig",
  "fsmount",
  "fspick",
  "mount_setattr",
  "pivot_root",
  "chroot",
  // namespaces
  "setns",
  "unshare",
  // other processes
  "ptrace",
  "process_vm_readv",
  "process_vm_writev",
  "process_madvise",
  "pidfd_getfd",
  "kcmp",
  // machine state
  "swapon",
  "swapoff",
  "reboot",
  "acct",
  "iopl",
  "ioperm",
  "modify_ldt",
  "settimeofday",
  "clock_settime",
  "clock_adjtime",
  "adjtimex",
  "lookup_dcookie",
  "quotactl",
  "quotactl_fd",
  "nfsservctl",
  "uselib",
  "vhangup",
  "syslog",
  "_sysctl",
  // io_uring bypasses seccomp for the operations it performs
  "io_uring_setup",
  "io_uring_enter",
  "io_uring_register",
]);

const ENOSYS = 38;
const EPERM = 1;
const EAFNOSUPPORT = 97;

const EACCES = 13;

/**
 * Syscalls answered with a fixed errno instead of the refusal action whenever the policy does not
 * allow them (unless `deny` names them, which makes them ordinary refusals). Programs probe these
 * and handle the failure:
 *
 * - `clone3` → ENOSYS: glibc falls back to `clone`, whose flags the filter can check.
 * - `io_uring_setup` → ENOSYS: libuv, liburing and Tokio fall back to epoll or threads.
 * - `socket` → EACCES below `network`: glibc's NSS (`ls -l`, `id`) first tries an `AF_UNIX` socket
 *   to nscd/systemd-userdb and falls back to `/etc/passwd` when that fails.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { FIXED_ERRNO } from "./seccomp.ts";
 *
 * assert(FIXED_ERRNO.clone3 === 38); // ENOSYS
 * ```
 */
export const FIXED_ERRNO: Readonly<Record<string, number>> = Object.freeze({
  clone3: ENOSYS,
  io_uring_setup: ENOSYS,
  socket: EACCES,
});

/** The syscalls whose arguments the filter checks. */
export type ArgumentRuleName = "ioctl" | "clone" | "socket" | "personality";

/** One argument check: which argument, which low-32-bit values fail, and the errno they get. */
export interface ArgumentRule {
  /** Index into `seccomp_data.args`. */
  readonly arg: number;
  /** `"refuse-values"`: listed values fail; `"allow-values"`: all others fail; `"refuse-bits"`: any listed bit fails. */
  readonly mode: "refuse-values" | "allow-values" | "refuse-bits";
  /** The values (or, for `"refuse-bits"`, the one mask). */
  readonly values: readonly number[];
  /** The errno for a failing call. */
  readonly errno: number;
  /** Why, for documentation and `disassemble`. */
  readonly why: string;
}

/** `CLONE_NEWNS | NEWCGROUP | NEWUTS | NEWIPC | NEWUSER | NEWPID | NEWNET` and `CLONE_NEWTIME`. */
const CLONE_NEW_MASK = 0x7E020000 | 0x80;

/**
 * The argument checks, applied in every profile that allows the syscall.
 *
 * - `ioctl`: TIOCSTI (0x5412) and TIOCLINUX (0x541C) in `args[1]` push input into the terminal.
 * - `clone`: any `CLONE_NEW*` flag in `args[0]` (x86_64 and aarch64 both pass flags first). For
 *   `clone` the 0x80 bit of CLONE_NEWTIME lies in the exit-signal byte, where no valid signal
 *   (≤ 64) sets it; it is checked for completeness.
 * - `socket`: only `AF_UNIX` (1), `AF_INET` (2) and `AF_INET6` (10) in `args[0]`; `AF_NETLINK`,
 *   `AF_PACKET`, `AF_VSOCK`, `AF_ALG` and the rest fail with EAFNOSUPPORT.
 * - `personality`: only the query `0xffffffff`, `PER_LINUX` (0), `PER_LINUX32` (8), `UNAME26`
 *   (0x20000) and `PER_LINUX32|UNAME26`, as in Docker's profile; flags that weaken the program
 *   (`ADDR_NO_RANDOMIZE`, `READ_IMPLIES_EXEC`, `MMAP_PAGE_ZERO`) fail.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ARGUMENT_RULES } from "./seccomp.ts";
 *
 * assert(ARGUMENT_RULES.ioctl.values.includes(0x5412));
 * ```
 */
export const ARGUMENT_RULES: Readonly<Record<ArgumentRuleName, ArgumentRule>> = Object.freeze({
  ioctl: Object.freeze({
    arg: 1,
    mode: "refuse-values",
    values: Object.freeze([0x5412, 0x541C]),
    errno: EPERM,
    why: "TIOCSTI, TIOCLINUX",
  }),
  clone: Object.freeze({
    arg: 0,
    mode: "refuse-bits",
    values: Object.freeze([CLONE_NEW_MASK]),
    errno: EPERM,
    why: "CLONE_NEW*",
  }),
  socket: Object.freeze({
    arg: 0,
    mode: "allow-values",
    values: Object.freeze([1, 2, 10]),
    errno: EAFNOSUPPORT,
    why: "AF_UNIX, AF_INET, AF_INET6",
  }),
  personality: Object.freeze({
    arg: 0,
    mode: "allow-values",
    values: Object.freeze([0xffffffff, 0, 8, 0x20000, 0x20008]),
    errno: EPERM,
    why: "query, PER_LINUX, PER_LINUX32, UNAME26",
  }),
});

/** The profile lists: each tier's additions (names absent on an arch are skipped there). */
const TIERS: Readonly<Record<Exclude<SeccompProfileName, "unrestricted">, readonly string[]>> = {
  essential: [
    "execve",
    "execveat",
    "exit",
    "exit_group",
    "brk",
    "mmap",
    "munmap",
    "mprotect",
    "madvise",
    "mseal",
    "open",
    "openat",
    "openat2",
    "close",
    "close_range",
    "read",
    "pread64",
    "write",
    "writev",
    "lseek",
    "fcntl",
    "fstat",
    "stat",
    "lstat",
    "newfstatat",
    "statx",
    "access",
    "faccessat",
    "faccessat2",
    "readlink",
    "readlinkat",
    "getcwd",
    "arch_prctl",
    "set_tid_address",
    "set_robust_list",
    "rseq",
    "futex",
    "getrandom",
    "prlimit64",
    "prctl",
    "rt_sigreturn",
    "getpid",
    "gettid",
    "getuid",
    "geteuid",
    "getgid",
    "getegid",
    // Entered from kernel-installed trampolines when a host tool probes the process.
    "uretprobe",
    "uprobe",
  ],
  minimal: [
    // signals
    "rt_sigaction",
    "rt_sigprocmask",
    "rt_sigpending",
    "rt_sigtimedwait",
    "rt_sigqueueinfo",
    "rt_tgsigqueueinfo",
    "rt_sigsuspend",
    "sigaltstack",
    "pause",
    "kill",
    "tkill",
    "tgkill",
    "restart_syscall",
    "alarm",
    "getitimer",
    "setitimer",
    "signalfd",
    "signalfd4",
    "pidfd_open",
    "pidfd_send_signal",
    // processes (clone is argument-checked; clone3 gets ENOSYS)
    "clone",
    "fork",
    "vfork",
    "wait4",
    "waitid",
    "map_shadow_stack",
    "get_robust_list",
    "setpgid",
    "getpgid",
    "getpgrp",
    "setsid",
    "getsid",
    "getppid",
    "getresuid",
    "getresgid",
    "getgroups",
    "capget",
    // Only shrinks the sets of a process that holds no capabilities under no_new_privs; `ip`
    // and other tools drop capabilities at start.
    "capset",
    "personality",
    "umask",
    "uname",
    "sysinfo",
    "getrusage",
    "times",
    "getrlimit",
    "setrlimit",
    "getpriority",
    "getcpu",
    "sched_getaffinity",
    "sched_yield",
    // file descriptors (ioctl is argument-checked)
    "dup",
    "dup2",
    "dup3",
    "pipe",
    "pipe2",
    "ioctl",
    "flock",
    "readv",
    "preadv",
    "preadv2",
    "pwrite64",
    "pwritev",
    "pwritev2",
    "sendfile",
    "splice",
    "tee",
    "copy_file_range",
    "fadvise64",
    "readahead",
    "fsync",
    "fdatasync",
    "eventfd",
    "eventfd2",
    "memfd_create",
    "getpeername",
    "getsockname",
    // waiting
    "select",
    "pselect6",
    "poll",
    "ppoll",
    "epoll_create",
    "epoll_create1",
    "epoll_ctl",
    "epoll_wait",
    "epoll_pwait",
    "epoll_pwait2",
    "timerfd_create",
    "timerfd_settime",
    "timerfd_gettime",
    "inotify_init",
    "inotify_init1",
    "inotify_add_watch",
    "inotify_rm_watch",
    // time
    "clock_gettime",
    "clock_getres",
    "gettimeofday",
    "time",
    "nanosleep",
    "clock_nanosleep",
    "timer_create",
    "timer_settime",
    "timer_gettime",
    "timer_getoverrun",
    "timer_delete",
    // reading the file system
    "chdir",
    "fchdir",
    "getdents",
    "getdents64",
    "statfs",
    "fstatfs",
    "getxattr",
    "lgetxattr",
    "fgetxattr",
    "getxattrat",
    "listxattr",
    "llistxattr",
    "flistxattr",
    "listxattrat",
    "cachestat",
    // memory
    "mremap",
    "mlock",
    "mlock2",
    "munlock",
    "mlockall",
    "munlockall",
    "mincore",
    "msync",
    "pkey_alloc",
    "pkey_free",
    "pkey_mprotect",
    // self-sandboxing only ever narrows what the process may do
    "seccomp",
    "landlock_create_ruleset",
    "landlock_add_rule",
    "landlock_restrict_self",
  ],
  "io-heavy": [
    "creat",
    "mkdir",
    "mkdirat",
    "rmdir",
    "unlink",
    "unlinkat",
    "rename",
    "renameat",
    "renameat2",
    "link",
    "linkat",
    "symlink",
    "symlinkat",
    "mknod",
    "mknodat",
    "chmod",
    "fchmod",
    "fchmodat",
    "fchmodat2",
    "chown",
    "fchown",
    "fchownat",
    "lchown",
    "utime",
    "utimes",
    "futimesat",
    "utimensat",
    "truncate",
    "ftruncate",
    "fallocate",
    "setxattr",
    "lsetxattr",
    "fsetxattr",
    "setxattrat",
    "removexattr",
    "lremovexattr",
    "fremovexattr",
    "removexattrat",
    "file_getattr",
    "file_setattr",
    "vmsplice",
    "sync",
    "syncfs",
    "sync_file_range",
    "io_setup",
    "io_destroy",
    "io_submit",
    "io_cancel",
    "io_getevents",
    "io_pgetevents",
  ],
  compute: [
    "sched_getscheduler",
    "sched_setscheduler",
    "sched_getparam",
    "sched_setparam",
    "sched_get_priority_max",
    "sched_get_priority_min",
    "sched_rr_get_interval",
    "sched_setaffinity",
    "sched_getattr",
    "sched_setattr",
    "setpriority",
    "ioprio_get",
    "ioprio_set",
    "mbind",
    "get_mempolicy",
    "set_mempolicy",
    "set_mempolicy_home_node",
    "migrate_pages",
    "move_pages",
    "membarrier",
    "futex_waitv",
    "futex_wake",
    "futex_wait",
    "futex_requeue",
    "remap_file_pages",
    "process_mrelease",
    // System V and POSIX IPC (private to the sandbox's IPC namespace)
    "msgget",
    "msgsnd",
    "msgrcv",
    "msgctl",
    "semget",
    "semop",
    "semtimedop",
    "semctl",
    "shmget",
    "shmat",
    "shmdt",
    "shmctl",
    "mq_open",
    "mq_unlink",
    "mq_timedsend",
    "mq_timedreceive",
    "mq_notify",
    "mq_getsetattr",
    // using sockets it was given or made with socketpair
    "socketpair",
    "sendto",
    "recvfrom",
    "sendmsg",
    "recvmsg",
    "sendmmsg",
    "recvmmsg",
    "shutdown",
    "setsockopt",
    "getsockopt",
  ],
  network: ["socket", "bind", "listen", "accept", "accept4", "connect"],
};

/** The refusal action of a policy. */
export type SeccompDefaultAction = "kill" | "errno";

/** A seccomp policy: a profile plus adjustments. */
export interface SeccompPolicy {
  /** The profile, or `"none"` to install no filter at all (debugging only). */
  profile: SeccompProfileName | "none";
  /** Extra syscalls to allow (never-allowed names are an error). */
  allow?: string[];
  /** Syscalls to refuse even if the profile or `allow` has them (deny wins). */
  deny?: string[];
  /** What a refused syscall gets: `"kill"` (default, `SECCOMP_RET_KILL_PROCESS`) or `"errno"` (EPERM). */
  defaultAction?: SeccompDefaultAction;
}

/** Options for {@link compileSeccomp}. */
export interface CompileOptions {
  /**
   * Return `SECCOMP_RET_USER_NOTIF` for every refused syscall so that the launcher's monitor can
   * name it and then answer EPERM (errno mode) or kill the sandbox (kill mode). Default `false`:
   * return the real refusal action. Fixed-errno answers and argument checks are unaffected.
   */
  notify?: boolean;
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
  readonly defaultAction: SeccompDefaultAction;
  /** `false` for `"none"`: no filter is installed and everything is allowed. */
  readonly enabled: boolean;
  /** Allowed syscall numbers, sorted and unique (argument-checked ones included). */
  readonly allowed: readonly number[];
  /** The allowed syscalls that have argument checks, by number. */
  readonly argumentRules: readonly ResolvedArgumentRule[];
  /** Syscalls with a fixed errno answer, by number (disjoint from `allowed`). */
  readonly fixedErrno: readonly ResolvedFixedErrno[];
}

/** `SECCOMP_RET_*` values. */
export const SECCOMP_RET: Readonly<{
  KILL_PROCESS: number;
  KILL_THREAD: number;
  TRAP: number;
  ERRNO: number;
  USER_NOTIF: number;
  TRACE: number;
  LOG: number;
  ALLOW: number;
}> = Object.freeze({
  KILL_PROCESS: 0x80000000,
  KILL_THREAD: 0x00000000,
  TRAP: 0x00030000,
  ERRNO: 0x00050000,
  USER_NOTIF: 0x7fc00000,
  TRACE: 0x7ff00000,
  LOG: 0x7ffc0000,
  ALLOW: 0x7fff0000,
});

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
 * the fixed-errno answers. Throws `RangeError` for unknown profiles, unknown syscall names, or a
 * never-allowed name in `allow`; `TypeError` for malformed fields.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { resolvePolicy } from "./seccomp.ts";
 *
 * const r = resolvePolicy({ profile: "essential", allow: ["uname"] }, "x86_64");
 * assert(r.allowed.includes(63)); // uname
 * assert(r.defaultAction === "kill");
 * ```
 */
export function resolvePolicy(policy: SeccompPolicy, arch: Arch): ResolvedSeccomp {
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
  const defaultAction = policy.defaultAction ?? "kill";
  if (defaultAction !== "kill" && defaultAction !== "errno") {
    throw new RangeError(
      `Invalid seccomp.defaultAction "${String(defaultAction)}": expected "kill" or "errno"`,
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
      defaultAction,
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
    if (name === "clone3") {
      throw new RangeError(
        `Syscall "clone3" in seccomp.allow cannot be allowed: its flags live in memory a filter cannot inspect, so it is answered with ENOSYS and glibc falls back to "clone"`,
      );
    }
  }

  const base = profile === "unrestricted" ? Object.keys(table) : tierNames(profile);
  const denied = new Set(deny);
  const allowedNames = new Set<string>();
  for (const name of [...base, ...allow]) {
    if (!NEVER.has(name) && !denied.has(name) && name !== "clone3") allowedNames.add(name);
  }
  const allowed: number[] = [];
  const argumentRules: ResolvedArgumentRule[] = [];
  for (const name of allowedNames) {
    const nr = syscallNumber(arch, name);
    if (nr === undefined) continue;
    allowed.push(nr);
    if (Object.hasOwn(ARGUMENT_RULES, name)) {
      const ruleName = name as ArgumentRuleName;
      argumentRules.push(Object.freeze({ nr, name: ruleName, rule: ARGUMENT_RULES[ruleName] }));
    }
  }
  const fixedErrno: ResolvedFixedErrno[] = [];
  for (const [name, errno] of Object.entries(FIXED_ERRNO)) {
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
    defaultAction,
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
 * import { profileSyscalls } from "./seccomp.ts";
 *
 * assert(profileSyscalls("essential", "x86_64").includes("pread64"));
 * assert(!profileSyscalls("unrestricted", "x86_64").includes("mount"));
 * ```
 */
export function profileSyscalls(name: SeccompProfileName, arch: Arch): string[] {
  const resolved = resolvePolicy({ profile: name }, arch);
  return resolved.allowed.map((nr) => syscallName(arch, nr)!).sort();
}

// ---------------------------------------------------------------------------------------------
// BPF encoding

const BPF = Object.freeze({
  LD_W_ABS: 0x20,
  JMP_JA: 0x05,
  JMP_JEQ_K: 0x15,
  JMP_JGT_K: 0x25,
  JMP_JGE_K: 0x35,
  JMP_JSET_K: 0x45,
  RET_K: 0x06,
});

/** `offsetof(struct seccomp_data, …)`. */
const DATA = Object.freeze({ nr: 0, arch: 4, argLow: (i: number) => 16 + 8 * i });

/** The most instructions the kernel accepts (`BPF_MAXINSNS`). */
export const BPF_MAXINSNS = 4096;

type Label = { readonly id: number };

type Insn =
  | { readonly kind: "stmt"; readonly code: number; readonly k: number }
  | { readonly kind: "jump"; readonly code: number; readonly k: number; jt: Label; jf: Label }
  | { readonly kind: "ja"; readonly target: Label };

/**
 * Assembles instructions with symbolic forward labels. A label's first instance is the instruction
 * it was bound to; when a conditional jump would need an offset above 255, a copy of the target
 * (for a `ret`) or a `ja` trampoline (for anything else) is inserted right after the jump, and
 * later jumps reuse the nearest instance in range.
 */
class Assembler {
  readonly insns: Insn[] = [];
  readonly #instances = new Map<number, Insn[]>();
  #nextLabel = 0;
  #pending: Label[] = [];

  label(): Label {
    return { id: this.#nextLabel++ };
  }

  /** Binds `label` to the next emitted instruction. */
  bind(label: Label): void {
    this.#pending.push(label);
  }

  emit<T extends Insn>(insn: T): T {
    for (const label of this.#pending) {
      if (this.#instances.has(label.id)) throw new Error(`Label ${label.id} bound twice`);
      this.#instances.set(label.id, [insn]);
    }
    this.#pending = [];
    this.insns.push(insn);
    return insn;
  }

  #positions(): Map<Insn, number> {
    return new Map(this.insns.map((insn, i) => [insn, i]));
  }

  /** The nearest instance of `label` after index `from`, as an offset relative to `from + 1`. */
  #offset(label: Label, from: number, pos: Map<Insn, number>): number {
    const instances = this.#instances.get(label.id);
    if (!instances) throw new Error(`Label ${label.id} never bound`);
    let best = Infinity;
    for (const insn of instances) {
      const p = pos.get(insn)!;
      if (p > from && p - from - 1 < best) best = p - from - 1;
    }
    if (best === Infinity) throw new Error(`Label ${label.id} is not after instruction ${from}`);
    return best;
  }

  #trampoline(label: Label): Insn {
    const canonical = this.#instances.get(label.id)![0]!;
    const copy: Insn = canonical.kind === "stmt" && canonical.code === BPF.RET_K
      ? { kind: "stmt", code: BPF.RET_K, k: canonical.k }
      : { kind: "ja", target: label };
    this.#instances.get(label.id)!.push(copy);
    return copy;
  }

  /** Resolves labels, inserting trampolines until every conditional jump fits in 8 bits. */
  assemble(): Uint8Array {
    if (this.#pending.length) throw new Error("Label bound past the last instruction");
    for (;;) {
      const pos = this.#positions();
      let fixed = false;
      for (let i = 0; i < this.insns.length && !fixed; i++) {
        const insn = this.insns[i]!;
        if (insn.kind !== "jump") continue;
        for (const branch of ["jt", "jf"] as const) {
          if (this.#offset(insn[branch], i, pos) > 255) {
            this.insns.splice(i + 1, 0, this.#trampoline(insn[branch]));
            fixed = true;
            break;
          }
        }
      }
      if (!fixed) break;
    }
    if (this.insns.length > BPF_MAXINSNS) {
      throw new RangeError(
        `Seccomp program too long: ${this.insns.length} instructions, the kernel accepts at most ${BPF_MAXINSNS}`,
      );
    }
    const pos = this.#positions();
    const out = new Uint8Array(this.insns.length * 8);
    const view = new DataView(out.buffer);
    this.insns.forEach((insn, i) => {
      let code: number, jt = 0, jf = 0, k: number;
      if (insn.kind === "stmt") {
        code = insn.code;
        k = insn.k;
      } else if (insn.kind === "ja") {
        code = BPF.JMP_JA;
        k = this.#offset(insn.target, i, pos);
      } else {
        code = insn.code;
        k = insn.k;
        jt = this.#offset(insn.jt, i, pos);
        jf = this.#offset(insn.jf, i, pos);
      }
      view.setUint16(i * 8, code, true);
      view.setUint8(i * 8 + 2, jt);
      view.setUint8(i * 8 + 3, jf);
      view.setUint32(i * 8 + 4, k >>> 0, true);
    });
    return out;
  }
}

/** A segment `[start, next segment's start)` of syscall numbers with one outcome. */
interface Segment {
  start: number;
  target: Label;
}

function refusalAction(policy: ResolvedSeccomp, notify: boolean): number {
  if (notify) return SECCOMP_RET.USER_NOTIF;
  return policy.defaultAction === "kill" ? SECCOMP_RET.KILL_PROCESS : SECCOMP_RET.ERRNO | EPERM;
}

/**
 * Compiles a policy into a classic-BPF seccomp program: the raw `struct sock_filter` array (8 bytes
 * per instruction, little-endian: u16 code, u8 jt, u8 jf, u32 k). Profile `"none"` gives an empty
 * array, which the launcher reads as "install no filter" (the kernel rejects an empty program, so
 * it cannot be installed by mistake).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { compileSeccomp, evaluateSeccomp, SECCOMP_RET } from "./seccomp.ts";
 *
 * const bpf = compileSeccomp({ profile: "essential", defaultAction: "errno" }, "aarch64");
 * const uname = 160;
 * assert(evaluateSeccomp(bpf, { arch: "aarch64", nr: uname }) === (SECCOMP_RET.ERRNO | 1));
 * const notify = compileSeccomp({ profile: "essential" }, "aarch64", { notify: true });
 * assert(evaluateSeccomp(notify, { arch: "aarch64", nr: uname }) === SECCOMP_RET.USER_NOTIF);
 * ```
 */
export function compileSeccomp(
  policy: SeccompPolicy,
  arch: Arch,
  options: CompileOptions = {},
): Uint8Array {
  const resolved = resolvePolicy(policy, arch);
  if (!resolved.enabled) return new Uint8Array(0);
  const asm = new Assembler();
  // One `ret` per distinct action (created in order: allow, refusal, kill, errnos).
  const returns = new Map<number, Label>();
  const ret = (action: number): Label => {
    let label = returns.get(action);
    if (!label) returns.set(action, label = asm.label());
    return label;
  };
  const allow = ret(SECCOMP_RET.ALLOW);
  const refuse = ret(refusalAction(resolved, options.notify ?? false));
  const killArch = ret(SECCOMP_RET.KILL_PROCESS);
  const errnoLabel = (errno: number): Label => ret(SECCOMP_RET.ERRNO | errno);

  // Outcome per allowed or special syscall number.
  const outcome = new Map<number, Label>();
  for (const nr of resolved.allowed) outcome.set(nr, allow);
  const argBlocks = resolved.argumentRules.map((r) => ({ ...r, label: asm.label() }));
  for (const block of argBlocks) outcome.set(block.nr, block.label);
  for (const f of resolved.fixedErrno) outcome.set(f.nr, errnoLabel(f.errno));

  // Segments over [0, 2^32): consecutive numbers with the same outcome merge.
  const segments: Segment[] = [];
  const push = (start: number, target: Label) => {
    if (segments.at(-1)?.target !== target) segments.push({ start, target });
  };
  push(0, outcome.get(0) ?? refuse);
  for (const [nr, target] of [...outcome].sort((a, b) => a[0] - b[0])) {
    push(nr, target);
    if (!outcome.has(nr + 1)) push(nr + 1, refuse);
  }

  // Prologue: architecture, then the syscall number.
  asm.emit({ kind: "stmt", code: BPF.LD_W_ABS, k: DATA.arch });
  const archCheck = asm.emit({
    kind: "jump",
    code: BPF.JMP_JEQ_K,
    k: AUDIT_ARCH[arch],
    jt: asm.label(),
    jf: killArch,
  });
  const loadNr = asm.label();
  archCheck.jt = loadNr;
  asm.bind(loadNr);
  asm.emit({ kind: "stmt", code: BPF.LD_W_ABS, k: DATA.nr });

  // Binary search: every internal node is `jge #start` with the upper half on jt.
  const emitTree = (lo: number, hi: number): Label => {
    if (lo === hi) return segments[lo]!.target;
    const mid = (lo + hi + 1) >> 1;
    const here = asm.label();
    asm.bind(here);
    const node = asm.emit({
      kind: "jump",
      code: BPF.JMP_JGE_K,
      k: segments[mid]!.start,
      jt: here,
      jf: here,
    });
    node.jf = emitTree(lo, mid - 1);
    node.jt = emitTree(mid, hi);
    return here;
  };
  const treeRoot = asm.label();
  if (arch === "x86_64") {
    asm.emit({ kind: "jump", code: BPF.JMP_JGE_K, k: X32_SYSCALL_BIT, jt: refuse, jf: treeRoot });
  }
  const root = segments.length === 1 ? segments[0]!.target : undefined;
  if (root) {
    asm.bind(treeRoot);
    asm.emit({ kind: "ja", target: root });
  } else {
    // The tree's first node is emitted next; alias treeRoot to it.
    asm.bind(treeRoot);
    emitTree(0, segments.length - 1);
  }

  // Argument checks: load the argument's low word, then compare.
  for (const block of argBlocks) {
    const { rule } = block;
    const fail = errnoLabel(rule.errno);
    asm.bind(block.label);
    asm.emit({ kind: "stmt", code: BPF.LD_W_ABS, k: DATA.argLow(rule.arg) });
    if (rule.mode === "refuse-bits") {
      asm.emit({ kind: "jump", code: BPF.JMP_JSET_K, k: rule.values[0]!, jt: fail, jf: allow });
      continue;
    }
    rule.values.forEach((value, i) => {
      const last = i === rule.values.length - 1;
      const next = last ? (rule.mode === "allow-values" ? fail : allow) : asm.label();
      const hit = rule.mode === "allow-values" ? allow : fail;
      asm.emit({ kind: "jump", code: BPF.JMP_JEQ_K, k: value, jt: hit, jf: next });
      if (!last) asm.bind(next);
    });
  }

  // Shared answers.
  for (const [action, label] of returns) {
    asm.bind(label);
    asm.emit({ kind: "stmt", code: BPF.RET_K, k: action });
  }
  return asm.assemble();
}

// ---------------------------------------------------------------------------------------------
// Reading programs back: validation, disassembly, interpretation

/** One decoded `struct sock_filter`. */
export interface SockFilter {
  code: number;
  jt: number;
  jf: number;
  k: number;
}

/**
 * Splits raw bytes into instructions. Throws `RangeError` if the length is not a multiple of 8.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { decodeProgram } from "./seccomp.ts";
 *
 * const [insn] = decodeProgram(new Uint8Array([6, 0, 0, 0, 0, 0, 0xff, 0x7f]));
 * assert(insn!.code === 6 && insn!.k === 0x7fff0000);
 * ```
 */
export function decodeProgram(bytes: Uint8Array): SockFilter[] {
  if (bytes.length % 8 !== 0) {
    throw new RangeError(
      `Invalid seccomp program: ${bytes.length} bytes is not a multiple of 8 (one sock_filter)`,
    );
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: SockFilter[] = [];
  for (let i = 0; i < bytes.length; i += 8) {
    out.push({
      code: view.getUint16(i, true),
      jt: view.getUint8(i + 2),
      jf: view.getUint8(i + 3),
      k: view.getUint32(i + 4, true),
    });
  }
  return out;
}

// Classic-BPF opcode parts.
const CLS = (code: number) => code & 0x07;
const C_LD = 0x00, C_LDX = 0x01, C_ST = 0x02, C_STX = 0x03, C_ALU = 0x04, C_JMP = 0x05;
const C_RET = 0x06, C_MISC = 0x07;
const SIZE = (code: number) => code & 0x18;
const MODE = (code: number) => code & 0xe0;
const M_IMM = 0x00, M_ABS = 0x20, M_MEM = 0x60, M_LEN = 0x80;
const OP = (code: number) => code & 0xf0;
const SRC_X = 0x08;

/**
 * Checks a program the way the kernel's classic-BPF and seccomp checkers do for the instructions
 * seccomp accepts: 1 to 4096 instructions, known opcodes, aligned 32-bit loads inside
 * `struct seccomp_data`, every jump target inside the program, a `ret` last. Throws `RangeError`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { compileSeccomp, validateSeccompProgram } from "./seccomp.ts";
 *
 * validateSeccompProgram(compileSeccomp({ profile: "unrestricted" }, "x86_64"));
 * ```
 */
export function validateSeccompProgram(bytes: Uint8Array): void {
  const prog = decodeProgram(bytes);
  if (prog.length === 0 || prog.length > BPF_MAXINSNS) {
    throw new RangeError(
      `Invalid seccomp program: ${prog.length} instructions, expected 1 to ${BPF_MAXINSNS}`,
    );
  }
  const bad = (pc: number, why: string) =>
    new RangeError(`Invalid seccomp program at instruction ${pc}: ${why}`);
  prog.forEach((insn, pc) => {
    const { code, k } = insn;
    switch (CLS(code)) {
      case C_LD:
      case C_LDX:
        if (CLS(code) === C_LD && MODE(code) === M_ABS) {
          if (SIZE(code) !== 0) throw bad(pc, "only 32-bit loads from seccomp_data are allowed");
          if (k % 4 !== 0 || k + 4 > 64) throw bad(pc, `load offset ${k} outside seccomp_data`);
        } else if (MODE(code) === M_MEM) {
          if (k >= 16) throw bad(pc, `scratch slot ${k} out of range`);
        } else if (MODE(code) !== M_IMM && MODE(code) !== M_LEN) {
          throw bad(pc, `unsupported load 0x${code.toString(16)}`);
        }
        break;
      case C_ST:
      case C_STX:
        if (k >= 16) throw bad(pc, `scratch slot ${k} out of range`);
        break;
      case C_ALU:
        if ((OP(code) === 0x30 || OP(code) === 0x90) && !(code & SRC_X) && k === 0) {
          throw bad(pc, "division by constant zero");
        }
        if (OP(code) > 0xa0) throw bad(pc, `unknown ALU opcode 0x${code.toString(16)}`);
        break;
      case C_JMP:
        if (OP(code) === 0x00) {
          if (pc + 1 + k >= prog.length) throw bad(pc, `ja ${k} jumps past the end`);
        } else if (OP(code) > 0x40) {
          throw bad(pc, `unknown jump opcode 0x${code.toString(16)}`);
        } else if (pc + 1 + Math.max(insn.jt, insn.jf) >= prog.length) {
          throw bad(pc, "conditional jump past the end");
        }
        break;
      case C_RET:
      case C_MISC:
        break;
    }
  });
  if (CLS(prog[prog.length - 1]!.code) !== C_RET) {
    throw bad(prog.length - 1, "the last instruction must be a ret");
  }
}

/** The input of {@link evaluateSeccomp}: a `struct seccomp_data`. */
export interface SeccompData {
  /** The architecture, or a raw `AUDIT_ARCH_*` value. */
  arch: Arch | number;
  /** The syscall number (negative values wrap to u32, as in the kernel). */
  nr: number;
  /** Up to six 64-bit arguments; missing ones are 0. */
  args?: readonly (number | bigint)[];
  /** `instruction_pointer`; 0 if omitted. */
  instructionPointer?: bigint;
}

/**
 * Runs a seccomp program on one `seccomp_data` and returns the 32-bit action it produces (for
 * tests and `sandbox seccomp --explain`). Validates the program first.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { compileSeccomp, evaluateSeccomp, SECCOMP_RET } from "./seccomp.ts";
 *
 * const bpf = compileSeccomp({ profile: "minimal" }, "x86_64");
 * const ioctl = 16, TIOCSTI = 0x5412;
 * assert(evaluateSeccomp(bpf, { arch: "x86_64", nr: ioctl, args: [0, TIOCSTI] }) === (SECCOMP_RET.ERRNO | 1));
 * assert(evaluateSeccomp(bpf, { arch: "aarch64", nr: 0 }) === SECCOMP_RET.KILL_PROCESS);
 * ```
 */
export function evaluateSeccomp(bytes: Uint8Array, data: SeccompData): number {
  validateSeccompProgram(bytes);
  const prog = decodeProgram(bytes);
  const words = new Uint32Array(16);
  words[0] = data.nr >>> 0;
  words[1] = typeof data.arch === "number" ? data.arch >>> 0 : AUDIT_ARCH[data.arch];
  const put64 = (index: number, value: bigint) => {
    const v = BigInt.asUintN(64, value);
    words[index] = Number(v & 0xffffffffn);
    words[index + 1] = Number(v >> 32n);
  };
  put64(2, data.instructionPointer ?? 0n);
  for (let i = 0; i < 6; i++) put64(4 + 2 * i, BigInt(data.args?.[i] ?? 0));

  const mem = new Uint32Array(16);
  let a = 0, x = 0;
  for (let pc = 0; pc < prog.length; pc++) {
    const { code, jt, jf, k } = prog[pc]!;
    switch (CLS(code)) {
      case C_LD:
        a = MODE(code) === M_ABS
          ? words[k / 4]!
          : MODE(code) === M_MEM
          ? mem[k]!
          : MODE(code) === M_LEN
          ? 64
          : k;
        break;
      case C_LDX:
        x = MODE(code) === M_MEM ? mem[k]! : MODE(code) === M_LEN ? 64 : k;
        break;
      case C_ST:
        mem[k] = a;
        break;
      case C_STX:
        mem[k] = x;
        break;
      case C_ALU: {
        const src = code & SRC_X ? x : k;
        switch (OP(code)) {
          case 0x00:
            a = (a + src) >>> 0;
            break;
          case 0x10:
            a = (a - src) >>> 0;
            break;
          case 0x20:
            a = Math.imul(a, src) >>> 0;
            break;
          case 0x30:
            if (src === 0) return 0; // the kernel ends the program with 0 on a division by zero
            a = Math.floor(a / src) >>> 0;
            break;
          case 0x40:
            a = (a | src) >>> 0;
            break;
          case 0x50:
            a = (a & src) >>> 0;
            break;
          case 0x60:
            a = src >= 32 ? 0 : (a << src) >>> 0;
            break;
          case 0x70:
            a = src >= 32 ? 0 : a >>> src;
            break;
          case 0x80:
            a = -a >>> 0;
            break;
          case 0x90:
            if (src === 0) return 0;
            a = (a % src) >>> 0;
            break;
          case 0xa0:
            a = (a ^ src) >>> 0;
            break;
        }
        break;
      }
      case C_JMP: {
        const src = code & SRC_X ? x : k;
        switch (OP(code)) {
          case 0x00:
            pc += k;
            break;
          case 0x10:
            pc += a === src ? jt : jf;
            break;
          case 0x20:
            pc += a > src ? jt : jf;
            break;
          case 0x30:
            pc += a >= src ? jt : jf;
            break;
          case 0x40:
            pc += (a & src) !== 0 ? jt : jf;
            break;
        }
        break;
      }
      case C_RET:
        return ((code & 0x18) === 0x10 ? a : k) >>> 0;
      case C_MISC:
        if (code & 0x80) a = x;
        else x = a;
        break;
    }
  }
  throw new RangeError("Invalid seccomp program: fell off the end without a ret");
}

/**
 * Names a seccomp return value: `ALLOW`, `KILL_PROCESS`, `ERRNO(1)`, `USER_NOTIF`, ….
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { actionName } from "./seccomp.ts";
 *
 * assert(actionName(0x00050026) === "ERRNO(38)");
 * ```
 */
export function actionName(action: number): string {
  const data = action & 0xffff;
  switch ((action & 0xffff0000) >>> 0) {
    case SECCOMP_RET.KILL_PROCESS:
      return "KILL_PROCESS";
    case SECCOMP_RET.KILL_THREAD:
      return "KILL_THREAD";
    case SECCOMP_RET.TRAP:
      return `TRAP(${data})`;
    case SECCOMP_RET.ERRNO:
      return `ERRNO(${data})`;
    case SECCOMP_RET.USER_NOTIF:
      return "USER_NOTIF";
    case SECCOMP_RET.TRACE:
      return `TRACE(${data})`;
    case SECCOMP_RET.LOG:
      return "LOG";
    case SECCOMP_RET.ALLOW:
      return "ALLOW";
    default:
      return `0x${(action >>> 0).toString(16).padStart(8, "0")}`;
  }
}

const hex = (n: number) => `0x${n.toString(16)}`;

function loadComment(k: number): string {
  if (k === DATA.nr) return "nr";
  if (k === DATA.arch) return "arch";
  if (k === 8 || k === 12) return `instruction_pointer ${k === 8 ? "low" : "high"}`;
  const i = Math.floor((k - 16) / 8);
  return `args[${i}] ${(k - 16) % 8 === 0 ? "low" : "high"}`;
}

/**
 * Disassembles a program, one instruction per line (`0012: jge #59 jt 14 jf 13  ; execve`), with
 * absolute jump targets, named return actions, and the syscall name after compares on `nr`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { compileSeccomp, disassemble } from "./seccomp.ts";
 *
 * const text = disassemble(compileSeccomp({ profile: "essential" }, "x86_64"), "x86_64");
 * assert(text.includes("ret ALLOW") && text.includes("; execve"));
 * ```
 */
export function disassemble(bytes: Uint8Array, arch: Arch): string {
  const prog = decodeProgram(bytes);
  const width = Math.max(4, String(prog.length).length);
  const at = (n: number) => String(n).padStart(width, "0");
  const archNames = new Map<number, string>(
    Object.entries(AUDIT_ARCH).map(([name, value]) => [value, `AUDIT_ARCH_${name.toUpperCase()}`]),
  );
  let loaded = -1; // offset of the last absolute load, tracked in program order
  const lines = prog.map(({ code, jt, jf, k }, pc) => {
    let text: string;
    let comment = "";
    switch (CLS(code)) {
      case C_LD:
        if (MODE(code) === M_ABS) {
          loaded = k;
          text = `ld [${k}]`;
          comment = loadComment(k);
        } else {
          loaded = -1;
          text = MODE(code) === M_MEM
            ? `ld M[${k}]`
            : MODE(code) === M_LEN
            ? "ld #len"
            : `ld #${k}`;
        }
        break;
      case C_JMP: {
        const op =
          ({ 0x10: "jeq", 0x20: "jgt", 0x30: "jge", 0x40: "jset" } as Record<number, string>)[
            OP(code)
          ];
        if (OP(code) === 0x00) {
          text = `ja ${at(pc + 1 + k)}`;
          break;
        }
        const src = code & SRC_X ? "x" : loaded === DATA.nr && k < 0x10000 ? `#${k}` : `#${hex(k)}`;
        text = `${op ?? `jmp(${hex(code)})`} ${src} jt ${at(pc + 1 + jt)} jf ${at(pc + 1 + jf)}`;
        if (!(code & SRC_X)) {
          if (loaded === DATA.nr) {
            comment = k === X32_SYSCALL_BIT ? "x32 syscalls" : syscallName(arch, k) ?? "";
          } else if (loaded === DATA.arch) comment = archNames.get(k) ?? "";
        }
        break;
      }
      case C_RET:
        text = (code & 0x18) === 0x10 ? "ret A" : `ret ${actionName(k)}`;
        break;
      default:
        text = `op ${hex(code)} jt ${jt} jf ${jf} k ${hex(k)}`;
    }
    const line = `${at(pc)}: ${text}`;
    return comment ? `${`${line} `.padEnd(width + 32)}; ${comment}` : line;
  });
  return lines.join("\n") + "\n";
}
