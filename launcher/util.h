/* util.h — errors, steps and small I/O helpers shared by every launcher file. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Every failure is reported as (step, errno, op index). The steps are fixed words that also
 * appear in the status file; TypeScript turns them into messages. Keep in sync with
 * lib/status.ts. One list: X(ID, "word") gives STEP_ID and its word. */
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
  X(CLOSE_FDS, "close-fds")

enum step {
#define STEP_ENUM(id, word) STEP_##id,
  STEPS(STEP_ENUM)
#undef STEP_ENUM
  STEP_COUNT
};

struct sbx_err {
  int32_t step; /* enum step */
  int32_t err;  /* errno */
  int32_t op;   /* index of the config op involved, or -1 */
};

const char *step_name(int step);

/* Record a failure: captures errno first (bubblewrap's habit) and returns -1. */
int fail(struct sbx_err *e, int step, int op);
/* Same with an explicit errno value. */
int fail_errno(struct sbx_err *e, int step, int op, int err);

/* Message on stderr: "sandbox-launcher: STEP[ PATH]: strerror". */
void report_err(const struct sbx_err *e, const char *path);

ssize_t read_full(int fd, void *buf, size_t len);
int write_full(int fd, const void *buf, size_t len);
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
#define cleanup_fd __attribute__((cleanup(close_fdp)))
