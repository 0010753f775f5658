/**
 * The six seccomp profiles as data: their names, what each allows in one line, and each tier's
 * syscall list. The refusals that cut across profiles live in `rules.ts`.
 *
 * @module
 */

import { IPC_NAMESPACE_SYSCALLS } from "./rules.ts";
import type { SeccompProfileName } from "../types.ts";

export type { SeccompProfileName };

/**
 * The six profiles, least to most permissive; each allows everything the previous one allows.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { PROFILE_NAMES } from "./mod.ts";
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
 * import { PROFILE_DESCRIPTIONS } from "./mod.ts";
 *
 * assert(PROFILE_DESCRIPTIONS.network.startsWith("Compute +"));
 * ```
 */
export const PROFILE_DESCRIPTIONS: Readonly<Record<SeccompProfileName, string>> = Object.freeze({
  essential:
    "Process bootstrap: exec, memory mapping, reading files, identity queries (runs a static or dynamic /bin/true)",
  minimal:
    "Essential + signals, fork/wait, pipes, polling, timers, directory and metadata reads, keeping or dropping ids (runs sh, bash, cat, ls -l, sleep, python3 -c)",
  "io-heavy":
    "Minimal + changing the file system: create, rename, link, remove, chmod/chown, xattrs, truncate, AIO (runs cp, mv, rm, mkdir)",
  compute:
    "IoHeavy + scheduling and NUMA, memory keys, futex2, System V and POSIX IPC, sockets (AF_UNIX, AF_INET, AF_INET6 only; runs threaded programs, gcc, make, node, servers on loopback)",
  network:
    "Compute + nothing: sockets (AF_UNIX, AF_INET, AF_INET6 only), bind, listen, accept and connect are in compute, because the network namespace is the network boundary",
  unrestricted:
    "Every syscall except the never-allowed list (modules, mounts, namespaces, ptrace, bpf, keyrings, io_uring, clocks, reboot, …)",
});

/** The profile lists: each tier's additions (names absent on an arch are skipped there). */
export const TIERS: Readonly<
  Record<Exclude<SeccompProfileName, "unrestricted">, readonly string[]>
> = {
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
    // The target holds no capabilities (they are dropped before exec, under no_new_privs), so
    // these can only keep or drop its own ids; anything else fails EPERM, as programs expect
    // (GNU make, sudo-aware tools and daemons probe them).
    "setuid",
    "setgid",
    "setreuid",
    "setregid",
    "setresuid",
    "setresgid",
    "setfsuid",
    "setfsgid",
    "setgroups",
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
    // System V and POSIX IPC: private to the sandbox's IPC namespace (ENOSYS without one)
    ...IPC_NAMESPACE_SYSCALLS,
    // Sockets: the network namespace, not seccomp, is the network boundary (a private one with
    // only loopback by default). `socket` keeps its family check; without namespaces it also
    // refuses inet families when the network is `none` (see NO_INET_SOCKET).
    "socket",
    "bind",
    "listen",
    "accept",
    "accept4",
    "connect",
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
  // Sockets joined `compute`, the default, so programs run unchanged under it; `network` keeps its
  // name and its promise (a program that uses the network runs) with nothing more to add.
  network: [],
};
