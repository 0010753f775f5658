/* cgroup.c — fd-relative cgroup handling (crun's habit: O_PATH dir fds, knobs via openat). What
 * differs between v2 and v1 lives in one table of functions per version; cgroup_create() picks
 * the table once and every other entry point goes through it. */
#include "cgroup.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static int open_dir(int dirfd, const char *path) {
  return openat(dirfd, path, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
}

static int write_knob(int dirfd, const char *knob, const char *value) {
  int fd cleanup_fd = openat(dirfd, knob, O_WRONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return -1;
  return write_full(fd, value, strlen(value));
}

static int write_u64(int dirfd, const char *knob, uint64_t v) {
  char buf[32];
  snprintf(buf, sizeof buf, "%llu", (unsigned long long)v);
  return write_knob(dirfd, knob, buf);
}

/* Reads a small knob into buf (NUL-terminated); -1 if missing. */
static int read_knob(int dirfd, const char *knob, char *buf, size_t len) {
  int fd cleanup_fd = openat(dirfd, knob, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return -1;
  ssize_t n = read_full(fd, buf, len - 1);
  if (n < 0) return -1;
  buf[n] = '\0';
  return 0;
}

static uint64_t read_u64(int dirfd, const char *knob) {
  char buf[64];
  if (read_knob(dirfd, knob, buf, sizeof buf) < 0) return 0;
  return strtoull(buf, NULL, 10);
}

/* The value after "key " in the text of a flat keyed file (memory.events, cpu.stat, ...), or 0. */
static uint64_t key_in(const char *text, const char *key) {
  size_t klen = strlen(key);
  for (const char *line = text; line && *line;) {
    if (strncmp(line, key, klen) == 0 && line[klen] == ' ') return strtoull(line + klen + 1, NULL, 10);
    line = strchr(line, '\n');
    if (line) line++;
  }
  return 0;
}

static uint64_t read_key(int dirfd, const char *knob, const char *key) {
  char buf[4096];
  return read_knob(dirfd, knob, buf, sizeof buf) < 0 ? 0 : key_in(buf, key);
}

/* The run's cgroup dir that has controller ctl (v2's one dir has them all), or -1. */
static int dir_for(const struct cgroup_state *cg, const char *ctl) {
  for (size_t i = 0; i < cg->n; i++)
    if (!cg->ctl[i] || strcmp(cg->ctl[i], ctl) == 0) return cg->fd[i];
  return -1;
}

/* ---- cgroup v2: one hierarchy, every controller in the run's one directory ---- */

static int v2_memory_max(int dir, uint64_t bytes) {
  if (write_u64(dir, "memory.max", bytes) < 0) return -1;
  /* Swap off; the knob is absent without swap accounting, and then there is none. */
  if (write_knob(dir, "memory.swap.max", "0") < 0 && errno != ENOENT) return -1;
  return 0;
}

static int v2_cpu_max(int dir, uint64_t quota, uint64_t period) {
  char buf[64];
  snprintf(buf, sizeof buf, "%llu %llu", (unsigned long long)quota, (unsigned long long)period);
  return write_knob(dir, "cpu.max", buf);
}

static void v2_usage(const struct cgroup_state *cg, struct cgroup_usage *u) {
  int dir = cg->fd[0];
  u->memory_peak = read_u64(dir, "memory.peak");
  u->oom_kills = read_key(dir, "memory.events", "oom_kill");
  u->pids_max_hits = read_key(dir, "pids.events", "max");
  /* One read for the three (the run's result waits for these reads). */
  char stat[4096];
  if (read_knob(dir, "cpu.stat", stat, sizeof stat) == 0) {
    u->cpu_us = key_in(stat, "usage_usec");
    u->user_us = key_in(stat, "user_usec");
    u->sys_us = key_in(stat, "system_usec");
  }
}

/* ---- cgroup v1: one hierarchy per controller, the run's cgroup in each ---- */

static int v1_join(const struct cgroup_state *cg, pid_t pid) {
  for (size_t i = 0; i < cg->n; i++)
    if (write_u64(cg->fd[i], "cgroup.procs", (uint64_t)pid) < 0) return -1;
  return 0;
}

static int v1_memory_max(int dir, uint64_t bytes) {
  if (write_u64(dir, "memory.limit_in_bytes", bytes) < 0) return -1;
  /* Memory + swap = memory: swap off; the knob is absent without swap accounting. */
  if (write_u64(dir, "memory.memsw.limit_in_bytes", bytes) < 0 && errno != ENOENT) return -1;
  return 0;
}

static int v1_cpu_max(int dir, uint64_t quota, uint64_t period) {
  if (write_u64(dir, "cpu.cfs_period_us", period) < 0) return -1;
  return write_u64(dir, "cpu.cfs_quota_us", quota);
}

/* The run's dir that holds knob: the controller's own hierarchy, or one it is co-mounted with
 * (cpuacct in "cpu,cpuacct", joined once under either name), or -1. */
static int dir_with(const struct cgroup_state *cg, const char *ctl, const char *knob) {
  int dir = dir_for(cg, ctl);
  if (dir >= 0) return dir;
  for (size_t i = 0; i < cg->n; i++)
    if (faccessat(cg->fd[i], knob, R_OK, 0) == 0) return cg->fd[i];
  return -1;
}

static void v1_usage(const struct cgroup_state *cg, struct cgroup_usage *u) {
  int mem = dir_for(cg, "memory"), pids = dir_for(cg, "pids");
  int acct = dir_with(cg, "cpuacct", "cpuacct.usage");
  if (mem >= 0) {
    u->memory_peak = read_u64(mem, "memory.max_usage_in_bytes");
    u->oom_kills = read_key(mem, "memory.oom_control", "oom_kill");
  }
  if (pids >= 0) u->pids_max_hits = read_key(pids, "pids.events", "max");
  if (acct >= 0) {
    u->cpu_us = read_u64(acct, "cpuacct.usage") / 1000u;
    /* The split in ns (cpuacct.usage_user/_sys, Linux >= 4.11), else cpuacct.stat's USER_HZ
     * (100/s) ticks; lib/status.ts scales either to the precise total. */
    char probe[64];
    if (read_knob(acct, "cpuacct.usage_user", probe, sizeof probe) == 0) {
      u->user_us = strtoull(probe, NULL, 10) / 1000u;
      u->sys_us = read_u64(acct, "cpuacct.usage_sys") / 1000u;
    } else {
      char stat[256];
      if (read_knob(acct, "cpuacct.stat", stat, sizeof stat) == 0) {
        u->user_us = key_in(stat, "user") * 10000u;
        u->sys_us = key_in(stat, "system") * 10000u;
      }
    }
  }
}

/* ---- the table: everything that differs between the versions ---- */

struct cgroup_backend {
  int version;
  /* Placing the child: v2 clones it straight into its cgroup (clone3 CLONE_INTO_CGROUP: no
   * window before the limits apply); v1 joins every hierarchy after clone (join). */
  bool clone_into;
  int (*join)(const struct cgroup_state *cg, pid_t pid);
  int (*memory_max)(int dir, uint64_t bytes); /* memory limit, swap off */
  int (*cpu_max)(int dir, uint64_t quota, uint64_t period);
  void (*usage)(const struct cgroup_state *cg, struct cgroup_usage *u);
};

static const struct cgroup_backend V2 = {2, true, NULL, v2_memory_max, v2_cpu_max, v2_usage};
static const struct cgroup_backend V1 = {1, false, v1_join, v1_memory_max, v1_cpu_max, v1_usage};

/* ---- common to both ---- */

/* Makes the run's cgroup under pfd and returns an fd holding flock(LOCK_EX) on it until the
 * launcher exits: the stale-run sweep (lib/cgroups.ts) removes only a cgroup whose lock it can
 * take, so liveness needs no look at /proc. A sweeper may rmdir the fresh directory before the
 * lock is ours; then the name no longer leads to the locked inode and it is made again. */
static int make_locked(int pfd, const char *name) {
  for (int tries = 0; tries < 3; tries++) {
    /* A name already taken is someone else's cgroup: never adopt it. */
    if (mkdirat(pfd, name, 0755) < 0) return -1;
    int lfd = openat(pfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (lfd < 0 && errno != ENOENT) return -1;
    if (lfd < 0) continue;
    struct stat held, now;
    if (flock(lfd, LOCK_EX) < 0 || fstat(lfd, &held) < 0) {
      int saved = errno;
      close(lfd);
      return errno = saved, -1;
    }
    if (fstatat(pfd, name, &now, AT_SYMLINK_NOFOLLOW) == 0 && held.st_ino == now.st_ino) return lfd;
    close(lfd); /* swept between mkdir and flock: make it again */
  }
  errno = EAGAIN;
  return -1;
}

static int add_dir(struct cgroup_state *cg, const char *parent, const char *ctl, int op,
                   struct sbx_err *e) {
  int pfd = open_dir(AT_FDCWD, parent);
  if (pfd < 0) return fail(e, STEP_CGROUP, op);
  int lfd = make_locked(pfd, cg->name);
  if (lfd < 0) {
    int saved = errno;
    close(pfd);
    return fail_errno(e, STEP_CGROUP, op, saved);
  }
  int fd = open_dir(pfd, cg->name);
  if (fd < 0) {
    int saved = errno;
    unlinkat(pfd, cg->name, AT_REMOVEDIR);
    close(lfd);
    close(pfd);
    return fail_errno(e, STEP_CGROUP, op, saved);
  }
  cg->parent_fd[cg->n] = pfd;
  cg->fd[cg->n] = fd;
  cg->lock_fd[cg->n] = lfd;
  cg->ctl[cg->n] = ctl;
  cg->n++;
  return 0;
}

static int write_limits(const struct config *cfg, const struct cgroup_state *cg,
                        struct sbx_err *e) {
  const struct cgroup_limits *l = &cfg->limits;
  int mem = dir_for(cg, "memory"), pids = dir_for(cg, "pids"), cpu = dir_for(cg, "cpu");
  if (l->memory_max) {
    if (mem < 0) return fail_errno(e, STEP_CGROUP, l->memory_op, ENOENT);
    if (cg->backend->memory_max(mem, l->memory_max) < 0) return fail(e, STEP_CGROUP, l->memory_op);
  }
  if (l->pids_max) {
    if (pids < 0) return fail_errno(e, STEP_CGROUP, l->pids_op, ENOENT);
    if (write_u64(pids, "pids.max", l->pids_max) < 0) return fail(e, STEP_CGROUP, l->pids_op);
  }
  if (l->cpu_quota) {
    if (cpu < 0) return fail_errno(e, STEP_CGROUP, l->cpu_op, ENOENT);
    if (cg->backend->cpu_max(cpu, l->cpu_quota, l->cpu_period) < 0)
      return fail(e, STEP_CGROUP, l->cpu_op);
  }
  return 0;
}

/* Removes the run's cgroup(s); afterwards cg is "no cgroup". */
static void remove_all(struct cgroup_state *cg) {
  for (size_t i = 0; i < cg->n; i++) {
    close(cg->fd[i]);
    /* The pid namespace is gone, but the kernel may still be releasing the last task: retry
     * EBUSY with growing sleeps (1 ms doubling to 64 ms), about 3 s in all — 200 ms was too
     * little under emulation, and the cgroup stayed until the next sweep. */
    long wait_ms = 1, waited_ms = 0;
    while (unlinkat(cg->parent_fd[i], cg->name, AT_REMOVEDIR) < 0 && errno == EBUSY && waited_ms < 3000) {
      struct timespec ts = {0, wait_ms * 1000000L};
      nanosleep(&ts, NULL);
      waited_ms += wait_ms;
      if (wait_ms < 64) wait_ms *= 2;
    }
    close(cg->lock_fd[i]); /* after the rmdir: a sweeper never sees it unlocked and present */
    close(cg->parent_fd[i]);
  }
  cg->n = 0;
  cg->backend = NULL;
}

int cgroup_create(const struct config *cfg, struct cgroup_state *cg, struct sbx_err *e) {
  memset(cg, 0, sizeof *cg);
  cg->name = cfg->cgroup_name;
  int rc = 0;
  if (cfg->cgroup_v2_parent) {
    cg->backend = &V2;
    rc = add_dir(cg, cfg->cgroup_v2_parent, NULL, cfg->cgroup_v2_op, e);
  } else if (cfg->n_cgroup_v1) {
    cg->backend = &V1;
    for (size_t i = 0; i < cfg->n_cgroup_v1 && rc == 0; i++) {
      const char *ctl = cfg->cgroup_v1[i].controller;
      rc = add_dir(cg, cfg->cgroup_v1[i].parent, ctl, cfg->cgroup_v1[i].op, e);
    }
  }
  if (rc == 0 && cg->backend) rc = write_limits(cfg, cg, e);
  if (rc < 0) remove_all(cg);
  return rc;
}

int cgroup_clone_fd(const struct cgroup_state *cg) {
  return cg->backend && cg->backend->clone_into ? cg->fd[0] : -1;
}

bool cgroup_joins_after_clone(const struct cgroup_state *cg) {
  return cg->backend && cg->backend->join;
}

int cgroup_prepare(const struct cgroup_state *cg, pid_t pid, struct sbx_err *e) {
  if (!cgroup_joins_after_clone(cg)) return 0;
  return cg->backend->join(cg, pid) < 0 ? fail(e, STEP_CGROUP, -1) : 0;
}

void cgroup_usage(struct cgroup_state *cg, struct cgroup_usage *u) {
  memset(u, 0, sizeof *u);
  if (!cg->backend) return;
  u->version = cg->backend->version;
  cg->backend->usage(cg, u);
}

void cgroup_remove(struct cgroup_state *cg) {
  if (cg->backend) remove_all(cg);
}
