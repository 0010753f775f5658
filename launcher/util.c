/* util.c — error bookkeeping and small I/O helpers. */
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <signal.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "abi.h"

static const char *const STEP_NAMES[STEP_COUNT] = {
#define STEP_WORD(id, word) [STEP_##id] = word,
    STEPS(STEP_WORD)
#undef STEP_WORD
};

const char *step_name(int step) {
  if (step < 0 || step >= STEP_COUNT) return "unknown";
  return STEP_NAMES[step];
}

int fail(struct sbx_err *e, int step, int op) { return fail_errno(e, step, op, errno); }

int fail_errno(struct sbx_err *e, int step, int op, int err) {
  *e = (struct sbx_err){step, err, op, NULL, NULL};
  return -1;
}

int fail_path(struct sbx_err *e, int step, const char *path) {
  fail(e, step, -1);
  e->path = path;
  return -1;
}

int fail_input(struct sbx_err *e, const char *why, const char *name, int op) {
  *e = (struct sbx_err){STEP_PARSE, EINVAL, op, name, why};
  return -1;
}

void report_err(const struct sbx_err *e, const char *path) {
  if (e->why && e->path)
    dprintf(2, "sandbox-launcher: %s: op \"%s\" (op %d)\n", e->why, e->path, e->op);
  else if (e->why)
    dprintf(2, "sandbox-launcher: %s\n", e->why);
  else if (path)
    dprintf(2, "sandbox-launcher: %s %s: %s\n", step_name(e->step), path, strerror(e->err));
  else
    dprintf(2, "sandbox-launcher: %s: %s\n", step_name(e->step), strerror(e->err));
}

int exit_code_for(const struct sbx_err *e) {
  if (e->step != STEP_EXEC) return EXIT_SETUP;
  return e->err == ENOENT ? EXIT_NOTFOUND : EXIT_NOEXEC;
}

void sigaddset_forwarded(sigset_t *set) {
#define ADD_SIGNAL(sig) sigaddset(set, sig);
  FORWARDED_SIGNALS(ADD_SIGNAL)
#undef ADD_SIGNAL
}

static uint64_t ignored_at_start = ~0ull;

void note_ignored_signals(void) {
  char buf[4096];
  int fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);
  ssize_t n = fd < 0 ? -1 : read_full(fd, buf, sizeof buf - 1);
  if (fd >= 0) close(fd);
  if (n <= 0) return;
  buf[n] = '\0';
  const char *line = strstr(buf, "\nSigIgn:");
  unsigned long long mask;
  if (line && sscanf(line + 8, "%llx", &mask) == 1) ignored_at_start = mask;
}

uint64_t ignored_signals(void) { return ignored_at_start; }

void drop_signal(int sig) {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, sig);
  struct timespec zero = {0, 0};
  while (sigtimedwait(&set, NULL, &zero) > 0) {
  }
}

uint64_t now_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

ssize_t read_full(int fd, void *buf, size_t len) { return read_full_at(fd, buf, len, -1); }

ssize_t read_full_at(int fd, void *buf, size_t len, off_t at) {
  size_t got = 0;
  while (got < len) {
    char *p = (char *)buf + got;
    ssize_t n = at < 0 ? read(fd, p, len - got) : pread(fd, p, len - got, at + (off_t)got);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return -1;
    if (n == 0) break;
    got += (size_t)n;
  }
  return (ssize_t)got;
}

int write_full(int fd, const void *buf, size_t len) {
  size_t done = 0;
  while (done < len) {
    ssize_t n = write(fd, (const char *)buf + done, len - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return -1;
    done += (size_t)n;
  }
  return 0;
}

int write_file(const char *path, const char *data) {
  int fd = open(path, O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) return -1;
  int rc = write_full(fd, data, strlen(data));
  int saved = errno;
  close(fd);
  errno = saved;
  return rc;
}

bool parse_u64(const char *s, uint64_t *out) {
  if (!*s || strlen(s) > 20) return false;
  uint64_t v = 0;
  for (const char *p = s; *p; p++) {
    if (*p < '0' || *p > '9') return false;
    uint64_t d = (uint64_t)(*p - '0');
    if (v > (UINT64_MAX - d) / 10) return false;
    v = v * 10 + d;
  }
  *out = v;
  return true;
}

bool parse_octal(const char *s, unsigned *out) {
  if (!*s || strlen(s) > 4) return false;
  unsigned v = 0;
  for (const char *p = s; *p; p++) {
    if (*p < '0' || *p > '7') return false;
    v = v * 8 + (unsigned)(*p - '0');
  }
  *out = v;
  return true;
}

int close_fds(unsigned lo, unsigned hi, bool cloexec) {
  if (lo > hi) return 0;
  if (syscall(SYS_close_range, lo, hi, cloexec ? CLOSE_RANGE_CLOEXEC : 0) == 0) return 0;
  if (errno != ENOSYS && errno != EINVAL) return -1;
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) < 0) return -1;
  unsigned max = rl.rlim_max == RLIM_INFINITY || rl.rlim_max > (1u << 20) ? 1u << 20 : (unsigned)rl.rlim_max;
  for (unsigned fd = lo; fd <= hi && fd < max; fd++) {
    int rc = cloexec ? fcntl((int)fd, F_SETFD, FD_CLOEXEC) : close((int)fd);
    if (rc < 0 && errno != EBADF) return -1;
  }
  return 0;
}

void close_three(int fds[3]) {
  for (int i = 0; i < 3; i++)
    if (fds[i] >= 0) close(fds[i]);
  fds[0] = fds[1] = fds[2] = -1;
}

void close_fdp(int *fd) {
  if (*fd >= 0) {
    int saved = errno;
    close(*fd);
    errno = saved;
  }
}

ssize_t send_fds(int sock, const void *buf, size_t len, const int *fds, size_t nfds) {
  if (nfds == 0 || nfds > SEND_FDS_MAX) {
    errno = EINVAL;
    return -1;
  }
  struct iovec iov = {(void *)buf, len};
  union {
    char buf[CMSG_SPACE(SEND_FDS_MAX * sizeof(int))];
    struct cmsghdr align;
  } u;
  memset(&u, 0, sizeof u);
  struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf,
                       .msg_controllen = CMSG_SPACE(nfds * sizeof(int))};
  struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(nfds * sizeof(int));
  memcpy(CMSG_DATA(c), fds, nfds * sizeof(int));
  ssize_t n;
  do n = sendmsg(sock, &msg, MSG_NOSIGNAL);
  while (n < 0 && errno == EINTR);
  return n;
}

static int hexval(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

ssize_t hex_decode(const char *hex, unsigned char *out, size_t cap) {
  size_t len = strlen(hex);
  if (len % 2 || len / 2 > cap) return -1;
  for (size_t k = 0; k < len; k += 2) {
    int hi = hexval(hex[k]), lo = hexval(hex[k + 1]);
    if (hi < 0 || lo < 0) return -1;
    out[k / 2] = (unsigned char)(hi << 4 | lo);
  }
  return (ssize_t)(len / 2);
}
