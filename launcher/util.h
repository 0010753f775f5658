/* util.h — the error convention, steps, and small I/O helpers shared by every launcher file.
 *
 * Errors (crun's convention, design-docs/error_handling.md):
 *  - A function that can fail returns a negative value and fills a struct sbx_err: the step (a
 *    fixed word, also written to the status file), the index of the op it was about (-1: none),
 *    errno, and the path when the failing code knows it better than the op does. fail() captures
 *    errno first thing (bubblewrap's habit), so cleanup after it cannot clobber it.
 *  - A caller passes the error up as it is (`return -1`): the step and op already say where.
 *  - Refused input (config.c) is the step "parse" with EINVAL, the op's name and a reason.
 *  - One place per process turns an error into an exit: setup_failed() in main.c (the monitor)
 *    and die_with() in child.c (init; the target sends its error to init first). That place
 *    resolves the path (config_err_path) and prints the message (report_err); the monitor
 *    writes the status record and exits with exit_code_for().
 *  - Between processes an error travels as its step, errno and op (struct report in child.h);
 *    the receiver resolves the path again from the op. */
#pragma once
#include <sys/time.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* The steps: fixed words that appear in the status file; TypeScript turns them into messages.
 * lib/abi.ts SETUP_STEPS lists the same words (tests/abi_test.ts checks). X(ID, "word") gives
 * STEP_ID and its word. */
#define STEPS(X)                                                                                   \
  X(NONE, "none")                                                                                  \
  X(PARSE, "parse")                                                                                \
  X(STATUS, "status")                                                                              \
  X(PIPE, "pipe")                                                                                  \
  X(SIGNALS, "signals")                                                                            \
  X(CGROUP, "cgroup")                                                                              \
  X(CLONE, "clone")                                                                                \
  X(UID_MAP, "uid-map")                                                                            \
  X(GID_MAP, "gid-map")                                                                            \
  X(SYNC, "sync")                                                                                  \
  X(MOUNT_PRIVATE, "mount-private")                                                                \
  X(MOUNT_BASE, "mount-base")                                                                      \
  X(PIVOT, "pivot-root")                                                                           \
  X(MKDIR, "mkdir")                                                                                \
  X(BIND, "bind")                                                                                  \
  X(REMOUNT, "remount")                                                                            \
  X(TMPFS, "tmpfs")                                                                                \
  X(PROC, "proc")                                                                                  \
  X(DEV, "dev")                                                                                    \
  X(SYMLINK, "symlink")                                                                            \
  X(HOSTNAME, "hostname")                                                                          \
  X(LOOPBACK, "loopback")                                                                          \
  X(FORK, "fork")                                                                                  \
  X(CHDIR, "chdir")                                                                                \
  X(RLIMIT, "rlimit")                                                                              \
  X(SETSID, "setsid")                                                                              \
  X(SETGID, "setgid")                                                                              \
  X(SETUID, "setuid")                                                                              \
  X(CAPS, "caps")                                                                                  \
  X(NO_NEW_PRIVS, "no-new-privs")                                                                  \
  X(LANDLOCK, "landlock")                                                                          \
  X(SECCOMP, "seccomp")                                                                            \
  X(SECCOMP_LISTENER, "seccomp-listener")                                                          \
  X(EXEC, "exec")                                                                                  \
  X(OVERLAY, "overlay")                                                                            \
  X(MASK, "mask")                                                                                  \
  X(CLOSE_FDS, "close-fds")                                                                        \
  X(HOST_LINK, "host-link") /* a host path went through a link a sandbox could have planted */     \
  X(DEST_LINK, "dest-link") /* a destination went through a link on a writable mount */        \
  X(HOST_IDS, "host-ids")   /* the run's own host uid/gid pair (ids.c) */                         \
  X(USERNS_LIMIT, "userns-limit") /* a budget of the sandbox's user namespace (budget.c) */   \
  X(CGROUPFS, "cgroupfs")   /* the run's own cgroup shown at /sys/fs/cgroup (mount.c) */   \
  X(IDMAP, "idmap")         /* a bind or overlay layer could not be id-mapped (idmap.c) */    \
  X(TTY, "tty")             /* the run's pseudo-terminal or its control FIFO (tty.c) */     \
  X(EGRESS, "egress")       /* the listener inside the network namespace (egress.c) */      \
  X(STDIO, "stdio")         /* the run's stdio FIFOs (request.c) */                           \
  X(REQUEST, "request")     /* the per-run request to init (request.c) */

enum step {
#define STEP_ENUM(id, word) STEP_##id,
  STEPS(STEP_ENUM)
#undef STEP_ENUM
  STEP_COUNT
};

struct sbx_err {
  int32_t step;     /* enum step; STEP_NONE: no error */
  int32_t err;      /* errno */
  int32_t op;       /* index of the config op involved, or -1 */
  const char *path; /* what the step was about, when the op does not say it (else NULL); for
                     * STEP_PARSE the op's name */
  const char *why;  /* STEP_PARSE: what is wrong with the input; else NULL */
};
#define SBX_ERR_NONE {STEP_NONE, 0, -1, NULL, NULL}

const char *step_name(int step);

/* Record a failure with the current errno and return -1. */
int fail(struct sbx_err *e, int step, int op);
/* Same with an explicit errno value. */
int fail_errno(struct sbx_err *e, int step, int op, int err);
/* Same, naming the path the step was about (no op). */
int fail_path(struct sbx_err *e, int step, const char *path);
/* Refused input: op number `op` (named `name`, or NULL when no op is at fault) is wrong because
 * `why`. Returns -1. */
int fail_input(struct sbx_err *e, const char *why, const char *name, int op);

/* The message on stderr: "sandbox-launcher: STEP[ PATH]: strerror", or for refused input
 * "sandbox-launcher: WHY[: op "NAME" (op N)]". */
void report_err(const struct sbx_err *e, const char *path);

/* The launcher's exit code for a setup failure (abi.h): 127 when the program was not found,
 * 126 when it could not be executed, else 125. */
int exit_code_for(const struct sbx_err *e);

/* Adds abi.h's FORWARDED_SIGNALS to set. */
void sigaddset_forwarded(sigset_t *set);

/* Takes a pending (blocked) signal sig (SIGCONT, SIGCHLD), if any, and nothing else: a
 * warm launcher's prepared run is held with SIGSTOP while another run starts (warm.c); the SIGCONT
 * that resumes it is no signal for its program, nor its init's stop and continue (SIGCHLD) a
 * reason for its monitor to end. */
void drop_signal(int sig);

/* The signals this process was started ignored (SigIgn in /proc/self/status: its caller's, such
 * as Deno's SIGPIPE), noted once at start; all of them when that cannot be read. The launcher
 * itself ignores none, so these are the only ones a target could inherit ignored. */
void note_ignored_signals(void);
uint64_t ignored_signals(void);

/* CLOCK_MONOTONIC in microseconds. */
uint64_t now_us(void);

/* A struct timeval (rusage times) in microseconds. */
static inline uint64_t tv_us(struct timeval tv) {
  return (uint64_t)tv.tv_sec * 1000000u + (uint64_t)tv.tv_usec;
}

ssize_t read_full(int fd, void *buf, size_t len);
/* read_full, with pread from offset at when at >= 0 (the file's offset, which other processes may
 * share, is left alone). */
ssize_t read_full_at(int fd, void *buf, size_t len, off_t at);
int write_full(int fd, const void *buf, size_t len);
/* One message of len bytes on a socket with nfds (1..SEND_FDS_MAX) fds attached (SCM_RIGHTS),
 * retried on EINTR, never raising SIGPIPE. Returns what sendmsg returned. */
#define SEND_FDS_MAX 3
ssize_t send_fds(int sock, const void *buf, size_t len, const int *fds, size_t nfds);
/* Lowercase hex (an even number of digits) into out; the byte count, or -1 when it is not hex
 * or does not fit in cap. */
ssize_t hex_decode(const char *hex, unsigned char *out, size_t cap);
int write_file(const char *path, const char *data);

/* Strict decimal parsing: the whole string, no sign, no overflow. */
bool parse_u64(const char *s, uint64_t *out);
bool parse_octal(const char *s, unsigned *out);

/* Closes (or, with cloexec, marks close-on-exec) fds lo..hi: close_range, or on a kernel
 * without it (or without CLOSE_RANGE_CLOEXEC) one fd at a time up to the open-files hard limit.
 * Returns -1 with errno only when neither works. */
int close_fds(unsigned lo, unsigned hi, bool cloexec);

/* Scoped cleanup (bubblewrap style). */
void close_fdp(int *fd);
/* Closes each of fds[0..2] that is open and marks all three closed (-1). */
void close_three(int fds[3]);
#define cleanup_fd __attribute__((cleanup(close_fdp)))
