/* status.h — newline-delimited JSON records of integers and fixed words (no escaping in C). */
#pragma once
#include <stdbool.h>
#include <stdint.h>

#include "cgroup.h"
#include "seccomp.h"
#include "util.h"

struct exit_info {
  int code;          /* exit code of the target, or -1 */
  int signal;        /* signal that ended the target, or 0 */
  bool timed_out;    /* the wall clock ran out */
  bool killed;       /* killed on request (SIGPWR to the launcher) */
  uint64_t wall_us, user_us, sys_us, max_rss_kb;
  struct seccomp_seen seccomp; /* what the listener saw */
  bool seccomp_killed;         /* the sandbox was killed for a refusal */
  struct cgroup_usage cg;      /* cg.version 0: no cgroup was used */
};

int status_open(const char *path);
void status_started(int fd);
/* The host uid/gid pair allocated for the run (host-ids), as soon as it is allocated. */
void status_host_ids(int fd, uint32_t uid, uint32_t gid);
void status_error(int fd, const struct sbx_err *e);
/* The host path a failed host-side step was resolving, and the symlink it refused (or NULL). */
void status_host_path(int fd, const char *path, const char *link);
/* A mount (op index) that could not be id-mapped and went on without (idmap.c). */
void status_idmap(int fd, int op, int err);
void status_exit(int fd, const struct exit_info *x);
