/* status.c — the status file. Each record is formatted on the stack and written with one
 * write(), so a reader never sees half a record. */
#include "status.h"

#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

int status_open(const char *path) {
  /* O_EXCL|O_NOFOLLOW: the file is created here, in the private dir TypeScript made. */
  return open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
}

static void put(int fd, const char *buf, int len) {
  if (fd >= 0 && len > 0) (void)write_full(fd, buf, (size_t)len);
}

void status_started(int fd) {
  char buf[64];
  put(fd, buf, snprintf(buf, sizeof buf, "{\"type\":\"started\"}\n"));
}

void status_host_ids(int fd, uint32_t uid, uint32_t gid) {
  char buf[80];
  put(fd, buf, snprintf(buf, sizeof buf, "{\"type\":\"host-ids\",\"uid\":%u,\"gid\":%u}\n", uid, gid));
}

void status_idmap(int fd, int op, int err) {
  char buf[80];
  put(fd, buf, snprintf(buf, sizeof buf, "{\"type\":\"idmap\",\"op\":%d,\"errno\":%d}\n", op, err));
}

void status_error(int fd, const struct sbx_err *e) {
  char buf[160];
  put(fd, buf,
      snprintf(buf, sizeof buf, "{\"type\":\"error\",\"step\":\"%s\",\"op\":%d,\"errno\":%d}\n",
               step_name(e->step), e->op, e->err));
}

/* Paths are written as hex: any byte may occur in them, and C escapes nothing. */
static void put_hex(char *out, size_t cap, const char *s) {
  static const char digits[] = "0123456789abcdef";
  size_t n = 0;
  for (; *s && n + 2 < cap; s++) {
    out[n++] = digits[(unsigned char)*s >> 4];
    out[n++] = digits[(unsigned char)*s & 15];
  }
  out[n] = '\0';
}

void status_host_path(int fd, const char *path, const char *link) {
  char p[8200], l[8200], buf[16500];
  put_hex(p, sizeof p, path ? path : "");
  put_hex(l, sizeof l, link ? link : "");
  put(fd, buf, snprintf(buf, sizeof buf, "{\"type\":\"host-path\",\"path\":\"%s\",\"link\":\"%s\"}\n", p, l));
}

void status_exit(int fd, const struct exit_info *x) {
  char buf[512];
  put(fd, buf,
      snprintf(buf, sizeof buf,
               "{\"type\":\"exit\",\"code\":%d,\"signal\":%d,\"timedOut\":%s,\"killed\":%s,"
               "\"wallUs\":%llu,\"userUs\":%llu,\"sysUs\":%llu,\"maxRssKb\":%llu,"
               "\"seccompNr\":%d,\"seccompArch\":%u,\"seccompCount\":%u,\"seccompKilled\":%s}\n",
               x->code, x->signal, x->timed_out ? "true" : "false", x->killed ? "true" : "false",
               (unsigned long long)x->wall_us, (unsigned long long)x->user_us,
               (unsigned long long)x->sys_us, (unsigned long long)x->max_rss_kb,
               x->seccomp.first_nr, x->seccomp.first_arch, x->seccomp.count,
               x->seccomp_killed ? "true" : "false"));
  if (x->cg.version)
    put(fd, buf,
        snprintf(buf, sizeof buf,
                 "{\"type\":\"cgroup\",\"version\":%d,\"memoryPeak\":%llu,\"oomKills\":%llu,"
                 "\"pidsMaxHits\":%llu,\"cpuUs\":%llu,\"userUs\":%llu,\"sysUs\":%llu}\n",
                 x->cg.version, (unsigned long long)x->cg.memory_peak,
                 (unsigned long long)x->cg.oom_kills, (unsigned long long)x->cg.pids_max_hits,
                 (unsigned long long)x->cg.cpu_us, (unsigned long long)x->cg.user_us,
                 (unsigned long long)x->cg.sys_us));
}
