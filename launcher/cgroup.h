/* cgroup.h — one interface over cgroup v2 and v1 (chosen once, by the ops TypeScript sends):
 * create the run's cgroup, write its limits, put the child in before it runs, read usage,
 * remove it. The launcher only ever writes into cgroups it created itself. */
#pragma once
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "config.h"
#include "util.h"

#define CGROUP_DIRS_MAX 8

struct cgroup_state {
  int version; /* 0 none, 1, 2 */
  const char *name;                 /* the run's cgroup name (same in every hierarchy) */
  size_t n;
  int fd[CGROUP_DIRS_MAX];          /* O_PATH dir fds of the run's cgroups */
  int parent_fd[CGROUP_DIRS_MAX];   /* their parents, for rmdir */
  const char *ctl[CGROUP_DIRS_MAX]; /* v1: the controller of each hierarchy */
};

struct cgroup_usage {
  bool valid;
  uint64_t memory_peak;    /* bytes */
  uint64_t oom_kills;
  uint64_t pids_max_hits;  /* fork/clone refused by pids.max */
  uint64_t cpu_us, user_us, sys_us;
};

/* Monitor, before clone: create the cgroup(s) and write the limits. */
int cgroup_prepare(const struct config *cfg, struct cgroup_state *cg, struct sbx_err *e);
/* v2: the fd for clone3(CLONE_INTO_CGROUP), else -1. */
int cgroup_clone_fd(const struct cgroup_state *cg);
/* Monitor, after clone and before releasing the child: v1 joins every hierarchy. */
int cgroup_join(const struct cgroup_state *cg, pid_t pid, struct sbx_err *e);
/* Monitor, after the pid namespace is gone: usage, then remove the cgroup(s). */
void cgroup_finish(struct cgroup_state *cg, struct cgroup_usage *u);
