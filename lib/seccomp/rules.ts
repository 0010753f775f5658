/**
 * The refusals that cut across profiles: the never-allowed list, the fixed-errno answers, and the
 * argument checks. Every errno comes from `lib/errno.ts`.
 *
 * @module
 */

import { ERRNO } from "../errno.ts";

const { EACCES, EAFNOSUPPORT, ENOSYS, EPERM } = ERRNO;

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
 * import { NEVER_ALLOWED } from "./mod.ts";
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

/**
 * Syscalls whose arguments live in memory (a struct), where a filter cannot read them. They are
 * always answered ENOSYS (see {@link FIXED_ERRNO}) and can never be allowed; callers fall back to
 * the syscall named here, whose arguments the filter does check.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { IN_MEMORY_ARGUMENTS } from "./mod.ts";
 *
 * assert(IN_MEMORY_ARGUMENTS.openat2 === "openat");
 * ```
 */
export const IN_MEMORY_ARGUMENTS: Readonly<Record<string, string>> = Object.freeze({
  clone3: "clone",
  openat2: "openat",
});

/**
 * Syscalls answered with a fixed errno instead of the refusal action whenever the policy does not
 * allow them (unless `deny` names them, which makes them ordinary refusals). Programs probe these
 * and handle the failure:
 *
 * - `clone3` → ENOSYS: glibc falls back to `clone`, whose flags the filter can check.
 * - `openat2` → ENOSYS: its mode lies in a struct; callers (systemd, newer libraries) fall back to
 *   `openat`, whose mode the filter checks for set-id bits.
 * - `io_uring_setup` → ENOSYS: libuv, liburing and Tokio fall back to epoll or threads.
 * - `socket` → EACCES below `compute`: glibc's NSS (`ls -l`, `id`) first tries an `AF_UNIX` socket
 *   to nscd/systemd-userdb and falls back to `/etc/passwd` when that fails.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { FIXED_ERRNO } from "./mod.ts";
 *
 * assert(FIXED_ERRNO.clone3 === 38); // ENOSYS
 * ```
 */
export const FIXED_ERRNO: Readonly<Record<string, number>> = Object.freeze({
  clone3: ENOSYS,
  openat2: ENOSYS,
  io_uring_setup: ENOSYS,
  socket: EACCES,
});

/**
 * The syscalls that make or change a file's mode, and which argument holds it. `mkdir`/`mkdirat`
 * are not here: the kernel drops `S_ISUID`/`S_ISGID` from their mode itself (a directory gets
 * `S_ISGID` only by inheriting it), and refusing them would break `cp -a` of such a directory.
 */
const MODE_ARGUMENT = {
  open: 2,
  openat: 3,
  creat: 1,
  mknod: 1,
  mknodat: 2,
  chmod: 1,
  fchmod: 1,
  fchmodat: 2,
  fchmodat2: 2,
} as const;

/** The syscalls whose arguments the filter checks. */
export type ArgumentRuleName =
  | "ioctl"
  | "clone"
  | "socket"
  | "socketpair"
  | "personality"
  | keyof typeof MODE_ARGUMENT;

/**
 * One step of an argument check, on the low 32 bits of `args[arg]`: `"refuse-values"`: a listed
 * value fails; `"allow-values"`: a value not listed fails; `"refuse-bits"`: a value with any bit
 * of `values[0]` fails. A value that does not fail goes on to the next step; past the last step
 * the call is allowed.
 */
export interface ArgumentCheck {
  /** Index into `seccomp_data.args`. */
  readonly arg: number;
  readonly mode: "refuse-values" | "allow-values" | "refuse-bits";
  /** The values (for `"refuse-bits"`, the one mask). */
  readonly values: readonly number[];
  /** The errno for a failing call. */
  readonly errno: number;
}

/** An argument check: its steps, in order, and why it exists (for documentation). */
export interface ArgumentRule {
  readonly checks: readonly ArgumentCheck[];
  readonly why: string;
}

function rule(why: string, ...checks: ArgumentCheck[]): ArgumentRule {
  return Object.freeze({
    why,
    checks: Object.freeze(
      checks.map((c) => Object.freeze({ ...c, values: Object.freeze(c.values) })),
    ),
  });
}

/** `CLONE_NEWNS | NEWCGROUP | NEWUTS | NEWIPC | NEWUSER | NEWPID | NEWNET` and `CLONE_NEWTIME`. */
const CLONE_NEW_MASK = 0x7E020000 | 0x80;
/** `S_ISUID | S_ISGID`. */
const SET_ID_BITS = 0o6000;
const AF_UNIX = 1, AF_INET = 2, AF_INET6 = 10;

/** One rule per mode position, shared by the syscalls with the mode there (one BPF block each). */
const NO_SET_ID_MODE = new Map(
  [1, 2, 3].map((arg) => [
    arg,
    rule("S_ISUID, S_ISGID", { arg, mode: "refuse-bits", values: [SET_ID_BITS], errno: EPERM }),
  ]),
);

const socketFamilies = { arg: 0, values: [AF_UNIX, AF_INET, AF_INET6], errno: EAFNOSUPPORT };

/**
 * The argument checks, applied in every profile that allows the syscall.
 *
 * - `ioctl`: TIOCSTI (0x5412) and TIOCLINUX (0x541C) in `args[1]` push input into the terminal.
 * - `clone`: any `CLONE_NEW*` flag in `args[0]` (x86_64 and aarch64 both pass flags first). For
 *   `clone` the 0x80 bit of CLONE_NEWTIME lies in the exit-signal byte, where no valid signal
 *   (≤ 64) sets it; it is checked for completeness.
 * - `socket`: only `AF_UNIX` (1), `AF_INET` (2) and `AF_INET6` (10) in `args[0]`; `AF_NETLINK`,
 *   `AF_PACKET`, `AF_VSOCK`, `AF_ALG` and the rest fail with EAFNOSUPPORT.
 * - `socketpair`: only `AF_UNIX`, the one family where it works; the rest fail with EAFNOSUPPORT.
 * - `personality`: only the query `0xffffffff`, `PER_LINUX` (0), `PER_LINUX32` (8), `UNAME26`
 *   (0x20000) and `PER_LINUX32|UNAME26`, as in Docker's profile; flags that weaken the program
 *   (`ADDR_NO_RANDOMIZE`, `READ_IMPLIES_EXEC`, `MMAP_PAGE_ZERO`) fail.
 * - `open`, `openat`, `creat`, `mknod`, `mknodat`, `chmod`, `fchmod`, `fchmodat`, `fchmodat2`: a
 *   mode with `S_ISUID` or `S_ISGID` fails with EPERM, so no set-id file can be made, least of
 *   all on a writable bind of a host directory (`openat2` is answered ENOSYS, see
 *   {@link FIXED_ERRNO}). `mkdir` needs no check: the kernel drops those bits from its mode, and a
 *   directory made inside a set-group-id directory still inherits `S_ISGID`, as it should. The
 *   price: `chmod` cannot keep `S_ISGID` on such a directory either, so GNU `chmod 755 DIR` (which
 *   preserves it) fails there with EPERM, while `chmod 00755 DIR` or `chmod g-s DIR` work.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ARGUMENT_RULES } from "./mod.ts";
 *
 * assert(ARGUMENT_RULES.ioctl.checks[0]!.values.includes(0x5412));
 * ```
 */
export const ARGUMENT_RULES: Readonly<Record<ArgumentRuleName, ArgumentRule>> = Object.freeze({
  ioctl: rule("TIOCSTI, TIOCLINUX", {
    arg: 1,
    mode: "refuse-values",
    values: [0x5412, 0x541C],
    errno: EPERM,
  }),
  clone: rule("CLONE_NEW*", {
    arg: 0,
    mode: "refuse-bits",
    values: [CLONE_NEW_MASK],
    errno: EPERM,
  }),
  socket: rule("AF_UNIX, AF_INET, AF_INET6", { ...socketFamilies, mode: "allow-values" }),
  socketpair: rule("AF_UNIX", {
    arg: 0,
    mode: "allow-values",
    values: [AF_UNIX],
    errno: EAFNOSUPPORT,
  }),
  personality: rule("query, PER_LINUX, PER_LINUX32, UNAME26", {
    arg: 0,
    mode: "allow-values",
    values: [0xffffffff, 0, 8, 0x20000, 0x20008],
    errno: EPERM,
  }),
  ...Object.fromEntries(
    Object.entries(MODE_ARGUMENT).map(([name, arg]) => [name, NO_SET_ID_MODE.get(arg)!]),
  ) as Record<keyof typeof MODE_ARGUMENT, ArgumentRule>,
});

/**
 * The `socket` check when the network is `none` but no network namespace enforces it (Landlock
 * alone): only `AF_UNIX`. Landlock cuts TCP `connect` and `bind` (ABI ≥ 4) and nothing else, so
 * UDP, ICMP, raw, SCTP and MPTCP sockets would reach the host's network, and even a TCP socket can
 * `listen()` without `bind()` — the kernel then binds it to an ephemeral port on every host
 * address, where it accepts connections from outside. No inet socket is of use there, so
 * `AF_INET`/`AF_INET6` fail with EACCES, as a denying LSM would answer; other families fail with
 * EAFNOSUPPORT, as always.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { NO_INET_SOCKET } from "./mod.ts";
 *
 * assert.deepEqual(NO_INET_SOCKET.checks.at(-1)!.values, [1]); // AF_UNIX
 * ```
 */
export const NO_INET_SOCKET: ArgumentRule = rule(
  "AF_UNIX only (no network namespace)",
  { ...socketFamilies, mode: "allow-values" },
  { arg: 0, mode: "allow-values", values: [AF_UNIX], errno: EACCES },
);

/**
 * The syscalls that reach objects of the IPC namespace: System V message queues, semaphores and
 * shared memory, and POSIX message queues. Without an IPC namespace of its own (Landlock alone)
 * the sandbox would share the host's, so these are answered ENOSYS there — what a kernel built
 * without `CONFIG_SYSVIPC`/`CONFIG_POSIX_MQUEUE` says, and what programs already handle. (x86_64
 * and aarch64 have no multiplexed `ipc` syscall.)
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { IPC_NAMESPACE_SYSCALLS } from "./mod.ts";
 *
 * assert(IPC_NAMESPACE_SYSCALLS.includes("shmget"));
 * ```
 */
export const IPC_NAMESPACE_SYSCALLS: readonly string[] = Object.freeze([
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
]);
