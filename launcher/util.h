/* util.h — errors, steps and small I/O helpers shared by every launcher file. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Every failure is reported as (step, errno, op index). The step names are fixed words that
 * also appear in the status file; TypeScript turns them into messages. Keep in sync with
 * STEP_NAMES in util.c and lib/status.ts. */
enum step {
  STEP_NONE,
  STEP_PARSE,
  STEP_STATUS,
  STEP_PIPE,
  STEP_SIGNALS,
  STEP_CGROUP,
  STEP_CLONE,
  STEP_UID_MAP,
  STEP_GID_MAP,
  STEP_SYNC,
  STEP_MOUNT_PRIVATE,
  STEP_MOUNT_BASE,
  STEP_PIVOT,
  STEP_MKDIR,
  STEP_BIND,
  STEP_REMOUNT,
  STEP_TMPFS,
  STEP_PROC,
  STEP_DEV,
  STEP_SYMLINK,
  STEP_HOSTNAME,
  STEP_LOOPBACK,
  STEP_FORK,
  STEP_CHDIR,
  STEP_RLIMIT,
  STEP_SETSID,
  STEP_SETGID,
  STEP_SETUID,
  STEP_CAPS,
  STEP_NO_NEW_PRIVS,
  STEP_LANDLOCK,
  STEP_SECCOMP,
  STEP_SECCOMP_LISTENER,
  STEP_EXEC,
  STEP_OVERLAY,
  STEP_MASK,
  STEP_CLOSE_FDS,
  STEP_HOST_IDS,
  STEP_USERNS_LIMIT,
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
