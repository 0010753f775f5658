/* cgroup.h — one interface over cgroup v2 and v1: create the run's cgroup, write its limits, put
 * the child in before it runs, read usage, remove it. The backend (v2, v1 or none) is chosen once,
 * by the ops TypeScript sends, in cgroup_create(); nothing else asks which version it is. The
 * launcher only ever writes into cgroups it created itself. */
#pragma once
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "config.h"
#include "util.h"

struct cgroup_backend; /* cgroup.c: one table of functions per version (crun's cgroup manager) */

struct cgroup_state {
  const struct cgroup_backend *backend; /* NULL until created: no cgroup */
  const char *name;                     /* the run's cgroup name (same in every hierarchy) */
  size_t n;
  int fd[CGROUP_V1_MAX];          /* O_PATH dir fds of the run's cgroups */
  int parent_fd[CGROUP_V1_MAX];   /* their parents, for rmdir */
  int lock_fd[CGROUP_V1_MAX];     /* flock(LOCK_EX) on each, held until removed (the sweep) */
  const char *ctl[CGROUP_V1_MAX]; /* v1: the controller of each hierarchy; v2: NULL (all) */
};

struct cgroup_usage {
  int version;             /* 0: no cgroup, nothing below is valid */
  uint64_t memory_peak;    /* bytes */
  uint64_t oom_kills;
  uint64_t pids_max_hits;  /* fork/clone refused by pids.max */
  uint64_t cpu_us, user_us, sys_us;
};

/* Monitor, before clone: choose the backend, create the cgroup(s) and write the limits. On
 * failure nothing is left behind. */
int cgroup_create(const struct config *cfg, struct cgroup_state *cg, struct sbx_err *e);
/* The fd for clone3(CLONE_INTO_CGROUP) (v2: the child starts inside), else -1. */
int cgroup_clone_fd(const struct cgroup_state *cg);
/* True when the child enters its cgroup only after clone (v1), in cgroup_prepare(). */
bool cgroup_joins_after_clone(const struct cgroup_state *cg);
/* Monitor, after clone and before releasing the child: v1 joins every hierarchy. */
int cgroup_prepare(const struct cgroup_state *cg, pid_t pid, struct sbx_err *e);
/* Monitor, once every process of the run is gone (init may still be exiting): the usage. */
void cgroup_usage(struct cgroup_state *cg, struct cgroup_usage *u);
/* Monitor, after init exited (or was never cloned): removes the cgroup(s). */
void cgroup_remove(struct cgroup_state *cg);
