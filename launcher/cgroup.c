/* cgroup.c — fd-relative cgroup handling (crun's habit: O_PATH dir fds, knobs via openat). */
#include "cgroup.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

/* The value after "key " in a flat keyed file (memory.events, cpu.stat, ...). */
static uint64_t read_key(int dirfd, const char *knob, const char *key) {
  char buf[4096];
  if (read_knob(dirfd, knob, buf, sizeof buf) < 0) return 0;
  size_t klen = strlen(key);
  for (char *line = buf; line && *line;) {
    if (strncmp(line, key, klen) == 0 && line[klen] == ' ') return strtoull(line + klen + 1, NULL, 10);
    line = strchr(line, '\n');
    if (line) line++;
  }
  return 0;
}

static int add_dir(struct cgroup_state *cg, const struct config *cfg, const char *parent,
                   const char *ctl, int op, struct sbx_err *e) {
  int pfd = open_dir(AT_FDCWD, parent);
  if (pfd < 0) return fail(e, STEP_CGROUP, op);
  /* A name already taken is someone else's cgroup: never adopt it. */
  if (mkdirat(pfd, cfg->cgroup_name, 0755) < 0) {
    int saved = errno;
    close(pfd);
    return fail_errno(e, STEP_CGROUP, op, saved);
  }
  int fd = open_dir(pfd, cfg->cgroup_name);
  if (fd < 0) {
    int saved = errno;
    unlinkat(pfd, cfg->cgroup_name, AT_REMOVEDIR);
    close(pfd);
    return fail_errno(e, STEP_CGROUP, op, saved);
  }
  cg->parent_fd[cg->n] = pfd;
  cg->fd[cg->n] = fd;
  cg->ctl[cg->n] = ctl;
  cg->n++;
  return 0;
}

static int dir_for(const struct cgroup_state *cg, const char *ctl) {
  if (cg->version == 2) return cg->fd[0];
  for (size_t i = 0; i < cg->n; i++)
    if (strcmp(cg->ctl[i], ctl) == 0) return cg->fd[i];
  return -1;
}

static int apply_limits(const struct config *cfg, struct cgroup_state *cg, struct sbx_err *e) {
  const struct cgroup_limits *l = &cfg->limits;
  int mem = dir_for(cg, "memory"), pids = dir_for(cg, "pids"), cpu = dir_for(cg, "cpu");
  if (l->memory_max) {
    if (mem < 0) return fail_errno(e, STEP_CGROUP, l->memory_op, ENOENT);
    if (cg->version == 2) {
      if (write_u64(mem, "memory.max", l->memory_max) < 0) return fail(e, STEP_CGROUP, l->memory_op);
      /* Swap off; the knob is absent without swap accounting, and then there is none. */
      if (write_knob(mem, "memory.swap.max", "0") < 0 && errno != ENOENT)
        return fail(e, STEP_CGROUP, l->memory_op);
    } else {
      if (write_u64(mem, "memory.limit_in_bytes", l->memory_max) < 0)
        return fail(e, STEP_CGROUP, l->memory_op);
      if (write_u64(mem, "memory.memsw.limit_in_bytes", l->memory_max) < 0 && errno != ENOENT)
        return fail(e, STEP_CGROUP, l->memory_op);
    }
  }
  if (l->pids_max) {
    if (pids < 0) return fail_errno(e, STEP_CGROUP, l->pids_op, ENOENT);
    if (write_u64(pids, "pids.max", l->pids_max) < 0) return fail(e, STEP_CGROUP, l->pids_op);
  }
  if (l->cpu_quota) {
    if (cpu < 0) return fail_errno(e, STEP_CGROUP, l->cpu_op, ENOENT);
    if (cg->version == 2) {
      char buf[64];
      snprintf(buf, sizeof buf, "%llu %llu", (unsigned long long)l->cpu_quota,
               (unsigned long long)l->cpu_period);
      if (write_knob(cpu, "cpu.max", buf) < 0) return fail(e, STEP_CGROUP, l->cpu_op);
    } else if (write_u64(cpu, "cpu.cfs_period_us", l->cpu_period) < 0 ||
               write_u64(cpu, "cpu.cfs_quota_us", l->cpu_quota) < 0) {
      return fail(e, STEP_CGROUP, l->cpu_op);
    }
  }
  return 0;
}

static void remove_all(struct cgroup_state *cg) {
  for (size_t i = 0; i < cg->n; i++) {
    close(cg->fd[i]);
    /* The pid namespace is gone, but the kernel may still be releasing the last task:
     * retry EBUSY for up to ~200 ms. */
    for (int tries = 0; tries < 200; tries++) {
      if (unlinkat(cg->parent_fd[i], cg->name, AT_REMOVEDIR) == 0 || errno != EBUSY) break;
      struct timespec ms = {0, 1000000};
      nanosleep(&ms, NULL);
    }
    close(cg->parent_fd[i]);
  }
  cg->n = 0;
}

int cgroup_prepare(const struct config *cfg, struct cgroup_state *cg, struct sbx_err *e) {
  memset(cg, 0, sizeof *cg);
  cg->name = cfg->cgroup_name;
  if (cfg->cgroup_v2_parent) {
    cg->version = 2;
    if (add_dir(cg, cfg, cfg->cgroup_v2_parent, "", cfg->cgroup_v2_op, e) < 0) return -1;
  } else if (cfg->n_cgroup_v1) {
    cg->version = 1;
    for (size_t i = 0; i < cfg->n_cgroup_v1; i++) {
      if (add_dir(cg, cfg, cfg->cgroup_v1[i].parent, cfg->cgroup_v1[i].controller,
                  cfg->cgroup_v1[i].op, e) < 0) {
        remove_all(cg);
        return -1;
      }
    }
  } else {
    return 0;
  }
  if (apply_limits(cfg, cg, e) < 0) {
    remove_all(cg);
    return -1;
  }
  return 0;
}

int cgroup_clone_fd(const struct cgroup_state *cg) { return cg->version == 2 ? cg->fd[0] : -1; }

int cgroup_join(const struct cgroup_state *cg, pid_t pid, struct sbx_err *e) {
  if (cg->version != 1) return 0;
  for (size_t i = 0; i < cg->n; i++)
    if (write_u64(cg->fd[i], "cgroup.procs", (uint64_t)pid) < 0) return fail(e, STEP_CGROUP, -1);
  return 0;
}

void cgroup_finish(struct cgroup_state *cg, struct cgroup_usage *u) {
  memset(u, 0, sizeof *u);
  if (!cg->version) return;
  u->valid = true;
  int mem = dir_for(cg, "memory"), pids = dir_for(cg, "pids");
  if (cg->version == 2) {
    u->memory_peak = read_u64(mem, "memory.peak");
    u->oom_kills = read_key(mem, "memory.events", "oom_kill");
    u->pids_max_hits = read_key(pids, "pids.events", "max");
    u->cpu_us = read_key(mem, "cpu.stat", "usage_usec");
    u->user_us = read_key(mem, "cpu.stat", "user_usec");
    u->sys_us = read_key(mem, "cpu.stat", "system_usec");
  } else {
    int acct = dir_for(cg, "cpuacct");
    if (mem >= 0) {
      u->memory_peak = read_u64(mem, "memory.max_usage_in_bytes");
      u->oom_kills = read_key(mem, "memory.oom_control", "oom_kill");
    }
    if (pids >= 0) u->pids_max_hits = read_key(pids, "pids.events", "max");
    if (acct >= 0) {
      u->cpu_us = read_u64(acct, "cpuacct.usage") / 1000u;
      /* cpuacct.stat counts USER_HZ (100/s) ticks. */
      u->user_us = read_key(acct, "cpuacct.stat", "user") * 10000u;
      u->sys_us = read_key(acct, "cpuacct.stat", "system") * 10000u;
    }
  }
  remove_all(cg);
}
