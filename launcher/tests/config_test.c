/* config_test.c — unit tests of the launcher's input boundary (frame_read, config_parse,
 * config_op_path in ../config.c). Built with -fsanitize=address,undefined by run_unit.sh.
 * Each test prints "ok" or "FAIL" with the failed checks; the last line is
 * "config_test: N passed, M failed". The parser's own refusals go to stderr: expected noise. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "config.h"
#include "util.h"

static int passed, failed;
static int cur_fail;           /* checks failed in the current test */
static const char *cur_name;

#define CHECK(cond)                                                                  \
  do {                                                                               \
    if (!(cond)) {                                                                   \
      cur_fail++;                                                                    \
      printf("    %s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);            \
    }                                                                                \
  } while (0)
#define CHECK_STR(a, b)                                                              \
  do {                                                                               \
    const char *a_ = (a), *b_ = (b);                                                 \
    if (!a_ || !b_ || strcmp(a_, b_) != 0) {                                         \
      cur_fail++;                                                                    \
      printf("    %s:%d: %s is \"%s\", expected \"%s\"\n", __FILE__, __LINE__, #a,  \
             a_ ? a_ : "(null)", b_ ? b_ : "(null)");                                \
    }                                                                                \
  } while (0)

static void begin(const char *name) {
  cur_name = name;
  cur_fail = 0;
  fflush(stdout);
  fflush(stderr);
}
static void end(void) {
  if (cur_fail) {
    failed++;
    printf("FAIL %s\n", cur_name);
  } else {
    passed++;
    printf("ok   %s\n", cur_name);
  }
  fflush(stdout);
}

/* ---- token lists: heap copies, exactly sized, so ASan sees any overread ---- */
struct toks {
  char **t;
  size_t n;
};

static struct toks mk(const char *const *src) {
  struct toks k = {0};
  while (src[k.n]) k.n++;
  k.t = calloc(k.n + 1, sizeof *k.t);
  for (size_t i = 0; i < k.n; i++) k.t[i] = strdup(src[i]);
  return k;
}
static void drop(struct toks *k) {
  for (size_t i = 0; i < k->n; i++) free(k->t[i]);
  free(k->t);
  k->t = NULL;
  k->n = 0;
}

static struct config cfg; /* ~45 KiB */
static struct sbx_err err; /* the last refusal */

#define TOKS(...) ((const char *const[]){__VA_ARGS__, NULL})

/* Parse a NULL-terminated list; returns config_parse's result. Tokens stay allocated until
 * the next call to parse_list (cfg points into them). */
static struct toks live;
static int parse_list(const char *const *src) {
  drop(&live);
  live = mk(src);
  return config_parse(live.t, live.n, &cfg, &err);
}

/* ---- malformed token lists: every one must be refused ---- */
#define ST "status", "/run/s"
#define EX "exec", "/bin/true"
#define NSM "unshare", "user", "unshare", "mount", "newroot"

static const char *const *const BAD[] = {
    TOKS("status", "/s"),                              /* no exec */
    TOKS(EX),                                          /* no status */
    TOKS(ST, "frobnicate", EX),                        /* unknown op */
    TOKS(ST, "", EX),                                  /* empty op */
    TOKS(ST, "Exec", "/bin/true"),                     /* ops are case-sensitive */
    TOKS(ST, EX, "exec"),                              /* trailing op without its argument */
    /* repeated single-use ops */
    TOKS(ST, ST, EX),
    TOKS(ST, "unshare", "user", "uid-map", "0", "0", "uid-map", "0", "0", EX),
    TOKS(ST, "unshare", "user", "gid-map", "0", "0", "gid-map", "0", "0", EX),
    TOKS(ST, "uid", "0", "uid", "0", EX),
    TOKS(ST, "gid", "0", "gid", "0", EX),
    TOKS(ST, "unshare", "uts", "hostname", "a", "hostname", "a", EX),
    TOKS(ST, "unshare", "net", "loopback", "loopback", EX),
    TOKS(ST, "unshare", "mount", "newroot", "newroot", EX),
    TOKS(ST, "chdir", "/", "chdir", "/", EX),
    TOKS(ST, "timeout", "1", "timeout", "1", EX),
    TOKS(ST, "seccomp", "0600000000000000", "seccomp", "0600000000000000", EX),
    TOKS(ST, EX, EX),
    TOKS(ST, "unshare", "pid", "unshare", "pid", EX),
    TOKS(ST, "rlimit", "cpu", "1", "2", "rlimit", "cpu", "1", "2", EX),
    /* missing arguments: each op last, one token short */
    TOKS(EX, "status"),
    TOKS(ST, EX, "unshare"),
    TOKS(ST, EX, "uid-map", "0"),
    TOKS(ST, EX, "gid-map", "0"),
    TOKS(ST, EX, "uid"),
    TOKS(ST, EX, "gid"),
    TOKS(ST, EX, "hostname"),
    TOKS(ST, EX, "ro-bind", "/a"),
    TOKS(ST, EX, "bind", "/a"),
    TOKS(ST, EX, "ro-bind-try", "/a"),
    TOKS(ST, EX, "tmpfs", "/t", "0"),
    TOKS(ST, EX, "proc"),
    TOKS(ST, EX, "dev"),
    TOKS(ST, EX, "symlink", "a"),
    TOKS(ST, EX, "dir", "/d"),
    TOKS(ST, EX, "chdir"),
    TOKS(ST, EX, "timeout"),
    TOKS(ST, EX, "rlimit", "cpu", "1"),
    TOKS(ST, EX, "seccomp"),
    TOKS(ST, EX, "env"),
    TOKS(ST, EX, "arg"),
    TOKS(ST, "exec"),
    /* bad values */
    TOKS("status", "run/s", EX),
    TOKS("status", "/run/../s", EX),
    TOKS("status", "/run/.", EX),
    TOKS("status", "", EX),
    TOKS(ST, "unshare", "time", EX),
    TOKS(ST, "unshare", "", EX),
    TOKS(ST, "uid", "4294967295", EX),
    TOKS(ST, "uid", "-1", EX),
    TOKS(ST, "uid", "+1", EX),
    TOKS(ST, "uid", " 1", EX),
    TOKS(ST, "uid", "", EX),
    TOKS(ST, "uid", "18446744073709551616", EX),
    TOKS(ST, "uid", "000000000000000000001", EX), /* 21 digits */
    TOKS(ST, "gid", "0x10", EX),
    TOKS(ST, "unshare", "user", "uid-map", "0", "4294967295", EX),
    TOKS(ST, "unshare", "user", "gid-map", "4294967295", "0", EX),
    TOKS(ST, "unshare", "uts", "hostname", "", EX),
    TOKS(ST, "unshare", "uts", "hostname",
         "hhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhh", EX), /* 65 */
    TOKS(ST, NSM, "bind", "/a", "b", EX),
    TOKS(ST, NSM, "bind", "/a", "/b/./c", EX),
    TOKS(ST, NSM, "bind", "/a", "/b/..", EX),
    TOKS(ST, NSM, "bind", "/a", "/..", EX),
    TOKS(ST, NSM, "ro-bind", "usr", "/usr", EX),
    TOKS(ST, NSM, "ro-bind-try", "/a/../b", "/usr", EX),
    TOKS(ST, NSM, "tmpfs", "/t", "1k", "0755", EX),
    TOKS(ST, NSM, "tmpfs", "/t", "0", "0758", EX),
    TOKS(ST, NSM, "tmpfs", "/t", "0", "17777", EX),
    TOKS(ST, NSM, "tmpfs", "/t", "0", "", EX),
    TOKS(ST, NSM, "tmpfs", "t", "0", "0755", EX),
    TOKS(ST, NSM, "proc", "proc", EX),
    TOKS(ST, NSM, "dev", "/dev/..", EX),
    TOKS(ST, NSM, "dir", "/d", "", EX),
    TOKS(ST, NSM, "dir", "/d", "8", EX),
    TOKS(ST, NSM, "symlink", "", "/l", EX),
    TOKS(ST, NSM, "symlink", "x", "l", EX),
    TOKS(ST, "chdir", "work", EX),
    TOKS(ST, "timeout", "0", EX),
    TOKS(ST, "timeout", "31536000001", EX),
    TOKS(ST, "timeout", "1s", EX),
    TOKS(ST, "rlimit", "rss", "1", "1", EX),
    TOKS(ST, "rlimit", "nofile", "2", "1", EX),
    TOKS(ST, "rlimit", "nofile", "inf", "1", EX),
    TOKS(ST, "rlimit", "nofile", "INF", "INF", EX),
    TOKS(ST, "rlimit", "nofile", "18446744073709551615", "inf", EX),
    TOKS(ST, "rlimit", "nofile", "", "1", EX),
    TOKS(ST, "seccomp", "", EX),
    TOKS(ST, "seccomp", "06000000", EX),
    TOKS(ST, "seccomp", "060000000000000000", EX),
    TOKS(ST, "seccomp", "06000000000000FF", EX),
    TOKS(ST, "seccomp", "060000000000000g", EX),
    TOKS(ST, "env", "PATH", EX),
    TOKS(ST, "env", "=x", EX),
    TOKS(ST, "env", "", EX),
    TOKS(ST, "exec", ""),
    /* missing prerequisites */
    TOKS(ST, "uid-map", "0", "0", EX),
    TOKS(ST, "gid-map", "0", "0", EX),
    TOKS(ST, "unshare", "mount", "proc", "/proc", EX),
    TOKS(ST, "newroot", EX),
    TOKS(ST, "unshare", "user", "newroot", EX),
    TOKS(ST, "hostname", "h", EX),
    TOKS(ST, "loopback", EX),
    /* newer ops */
    TOKS(ST, "seccomp", "0600000000000000", "seccomp-notify", "kill", "seccomp-notify", "kill", EX),
    TOKS(ST, "seccomp", "0600000000000000", "seccomp-notify", "trap", EX),
    TOKS(ST, "seccomp", "0600000000000000", "seccomp-notify", "KILL", EX),
    TOKS(ST, "seccomp-notify", "kill", EX), /* needs seccomp */
    TOKS(ST, EX, "seccomp-notify"),
    TOKS(ST, NSM, "overlay", "/a", "/b", "-1", EX),
    TOKS(ST, NSM, "overlay", "/a", "/b", "", EX),
    TOKS(ST, NSM, "overlay", "a", "/b", "0", EX),
    TOKS(ST, NSM, "overlay", "/a", "b", "0", EX),
    TOKS(ST, "unshare", "mount", "overlay", "/a", "/b", "0", EX), /* needs newroot */
    TOKS(ST, EX, "overlay", "/a", "/b"),
    TOKS(ST, NSM, "overlay-keep", "/a", "up", "/w", "/d", EX),
    TOKS(ST, NSM, "overlay-keep", "/a", "/u", "/w/..", "/d", EX),
    TOKS(ST, NSM, "overlay-keep", "/a/./b", "/u", "/w", "/d", EX),
    TOKS(ST, NSM, "overlay-keep", "/a", "/u", "/w", "d", EX),
    TOKS(ST, EX, "overlay-keep", "/a", "/u", "/w"),
    TOKS(ST, NSM, "host-dir", "up", "700", EX),
    TOKS(ST, NSM, "host-dir", "/v/../up", "700", EX),
    TOKS(ST, NSM, "host-dir", "/up", "", EX),
    TOKS(ST, NSM, "host-dir", "/up", "1700", EX), /* no special bits on a host dir */
    TOKS(ST, NSM, "host-dir", "/up", "0x1c0", EX),
    TOKS(ST, "unshare", "mount", "host-dir", "/up", "700", EX), /* needs newroot */
    TOKS(ST, EX, "host-dir", "/up"),
    TOKS(ST, NSM, "remount-ro", "etc", EX),
    TOKS(ST, NSM, "mask", "/proc/..", EX),
    TOKS(ST, "unshare", "mount", "mask", "/proc/kcore", EX), /* needs newroot */
    TOKS(ST, EX, "remount-ro"),
    TOKS(ST, EX, "mask"),
    TOKS(ST, "landlock", "0", "0", "0", EX),
    TOKS(ST, "landlock", "fs", "0", "0", EX),
    TOKS(ST, "landlock", "1", "-1", "0", EX),
    TOKS(ST, "landlock", "1", "0", "0", "landlock", "1", "0", "0", EX),
    TOKS(ST, EX, "landlock", "1", "0"),
    TOKS(ST, "landlock", "1", "0", "0", "landlock-path", "/a", "0", EX),
    TOKS(ST, "landlock", "1", "0", "0", "landlock-path", "a", "1", EX),
    TOKS(ST, "landlock", "1", "0", "0", "landlock-path", "/a", "2", EX), /* unhandled right */
    TOKS(ST, "landlock", "1", "0", "0", "landlock-path-try", "/a", "x", EX),
    TOKS(ST, "landlock-path", "/a", "1", EX), /* needs landlock */
    TOKS(ST, "landlock-path-try", "/a", "1", EX),
    TOKS(ST, EX, "landlock-path", "/a"),
    TOKS(ST, "cgroup-name", "a", EX), /* no parent */
    TOKS(ST, "cgroup-v2", "/cg", EX), /* no name */
    TOKS(ST, "cgroup-name", "", "cgroup-v2", "/cg", EX),
    TOKS(ST, "cgroup-name", "a/b", "cgroup-v2", "/cg", EX),
    TOKS(ST, "cgroup-name", ".a", "cgroup-v2", "/cg", EX),
    TOKS(ST, "cgroup-name", "..", "cgroup-v2", "/cg", EX),
    TOKS(ST, "cgroup-name", "a b", "cgroup-v2", "/cg", EX),
    TOKS(ST, "cgroup-name",
         "nnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnn"
         "nnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnn", /* 129 */
         "cgroup-v2", "/cg", EX),
    TOKS(ST, "cgroup-name", "a", "cgroup-name", "a", "cgroup-v2", "/cg", EX),
    TOKS(ST, "cgroup-name", "a", "cgroup-v2", "cg", EX),
    TOKS(ST, "cgroup-name", "a", "cgroup-v2", "/cg", "cgroup-v2", "/cg", EX),
    TOKS(ST, "cgroup-name", "a", "cgroup-v2", "/cg", "cgroup-v1", "pids", "/p", EX),
    TOKS(ST, "cgroup-name", "a", "cgroup-v1", "blkio", "/b", EX),
    TOKS(ST, "cgroup-name", "a", "cgroup-v1", "pids", "/a", "cgroup-v1", "pids", "/b", EX),
    TOKS(ST, "cgroup-name", "a", "cgroup-v1", "pids", "p", EX),
    TOKS(ST, EX, "cgroup-v1", "pids"),
    TOKS(ST, "cgroup-name", "a", "cgroup-v2", "/cg", "memory-max", "4095", EX),
    TOKS(ST, "cgroup-name", "a", "cgroup-v2", "/cg", "memory-max", "4096", "memory-max", "4096", EX),
    TOKS(ST, "cgroup-name", "a", "cgroup-v2", "/cg", "pids-max", "0", EX),
    TOKS(ST, "cgroup-name", "a", "cgroup-v2", "/cg", "pids-max", "4194305", EX),
    TOKS(ST, "cgroup-name", "a", "cgroup-v2", "/cg", "cpu-max", "999", "1000", EX),
    TOKS(ST, "cgroup-name", "a", "cgroup-v2", "/cg", "cpu-max", "1000", "999", EX),
    TOKS(ST, "cgroup-name", "a", "cgroup-v2", "/cg", "cpu-max", "1000", "1000001", EX),
    TOKS(ST, "cgroup-name", "a", "cgroup-v2", "/cg", "cpu-max", "1000000000001", "1000", EX),
    TOKS(ST, "memory-max", "4096", EX), /* limits need a cgroup */
    TOKS(ST, "pids-max", "1", EX),
    TOKS(ST, "cpu-max", "1000", "1000", EX),
    TOKS(ST, EX, "cpu-max", "1000"),
    /* host identity and budgets (ids.c, budget.c) */
    TOKS(ST, "host-ids", "0", "1", "1", EX),                 /* never host root */
    TOKS(ST, "host-ids", "1", "0", "1", EX),
    TOKS(ST, "host-ids", "1", "1", "0", EX),                 /* empty range */
    TOKS(ST, "host-ids", "4294967294", "1", "2", EX),        /* would reach (uid_t)-1 */
    TOKS(ST, "host-ids", "1", "4294967295", "1", EX),
    TOKS(ST, "host-ids", "1", "1", "1", "host-ids", "1", "1", "1", EX),
    TOKS(ST, "host-ids", "1", "1", "1", "uid", "1", EX),     /* no userns: replaces uid/gid */
    TOKS(ST, "unshare", "user", "host-ids", "1", "1", "1", EX), /* userns: needs uid and gid */
    TOKS(ST, "unshare", "user", "host-ids", "1", "1", "1", "uid", "1", "gid", "1", "uid-map", "1",
         "1", EX), /* the maps are the launcher's */
    TOKS(ST, EX, "host-ids", "1", "1"),
    /* idmap: try|required, once, with a user namespace and its maps; *-idmap mounts need it */
    TOKS(ST, NSM, "uid-map", "1", "1", "gid-map", "1", "1", "idmap", "always", EX),
    TOKS(ST, NSM, "uid-map", "1", "1", "gid-map", "1", "1", "idmap", "try", "idmap", "try", EX),
    TOKS(ST, "idmap", "try", EX),                                  /* needs unshare user */
    TOKS(ST, NSM, "idmap", "try", EX),                             /* needs maps or host-ids */
    TOKS(ST, NSM, "uid-map", "1", "1", "gid-map", "1", "1", "bind-idmap", "/a", "/b", EX),
    TOKS(ST, NSM, "uid-map", "1", "1", "gid-map", "1", "1", "overlay-idmap", "/a", "/b", "0", EX),
    TOKS(ST, NSM, "uid-map", "1", "1", "gid-map", "1", "1", "idmap", "try", "ro-bind-idmap", "a",
         "/b", EX),
    TOKS(ST, NSM, "uid-map", "1", "1", "gid-map", "1", "1", "idmap", "try", "overlay-keep-idmap",
         "/a", "/u", "/w/..", "/d", EX),
    TOKS(ST, EX, "idmap"),
    TOKS(ST, EX, "bind-idmap", "/a"),
    TOKS(ST, EX, "overlay-keep-idmap", "/a", "/u", "/w"),
    TOKS(ST, "userns-limit", "inotify_instances", "1", EX), /* needs unshare user */
    TOKS(ST, "unshare", "user", "userns-limit", "inotify", "1", EX),
    TOKS(ST, "unshare", "user", "userns-limit", "../../kernel/x", "1", EX),
    TOKS(ST, "unshare", "user", "userns-limit", "max_inotify_instances", "1", EX),
    TOKS(ST, "unshare", "user", "userns-limit", "inotify_instances", "2147483648", EX),
    TOKS(ST, "unshare", "user", "userns-limit", "inotify_instances", "-1", EX),
    TOKS(ST, "unshare", "user", "userns-limit", "inotify_watches", "1", "userns-limit",
         "inotify_watches", "2", EX),
    TOKS(ST, EX, "userns-limit", "inotify_watches"),
    TOKS(ST, "pty-max", "5", EX), /* needs a dev mount */
    TOKS(ST, NSM, "dev", "/dev", "pty-max", "0", EX),
    TOKS(ST, NSM, "dev", "/dev", "pty-max", "1048577", EX),
    TOKS(ST, NSM, "dev", "/dev", "pty-max", "1", "pty-max", "1", EX),
    TOKS(ST, EX, "pty-max"),
    TOKS(ST, "tty", "80", "24", EX), /* needs a dev mount: never a host terminal */
    TOKS(ST, NSM, "dev", "/dev", "tty", "0", "24", EX),
    TOKS(ST, NSM, "dev", "/dev", "tty", "80", "65536", EX),
    TOKS(ST, NSM, "dev", "/dev", "tty", "80", "-1", EX),
    TOKS(ST, NSM, "dev", "/dev", "tty", "80", "24", "tty", "80", "24", EX),
    TOKS(ST, NSM, "dev", "/dev", "tty-control", "/run/c", EX), /* needs tty */
    TOKS(ST, NSM, "dev", "/dev", "tty", "80", "24", "tty-control", "run/c", EX),
    TOKS(ST, NSM, "dev", "/dev", "tty", "80", "24", "tty-control", "/run/../c", EX),
    TOKS(ST, EX, "tty", "80"),
    /* egress: needs loopback (hence a network namespace); port 1..65535; an absolute socket path
     * that fits sockaddr_un */
    TOKS(ST, "egress", "3128", "/run/e", EX),
    TOKS(ST, "unshare", "net", "loopback", "egress", "0", "/run/e", EX),
    TOKS(ST, "unshare", "net", "loopback", "egress", "65536", "/run/e", EX),
    TOKS(ST, "unshare", "net", "loopback", "egress", "31x", "/run/e", EX),
    TOKS(ST, "unshare", "net", "loopback", "egress", "3128", "run/e", EX),
    TOKS(ST, "unshare", "net", "loopback", "egress", "3128", "/run/../e", EX),
    TOKS(ST, "unshare", "net", "loopback", "egress", "3128",
         "/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
         EX),
    TOKS(ST, "unshare", "net", "loopback", "egress", "1", "/a", "egress", "2", "/b", EX),
    TOKS(ST, EX, "egress", "3128"),
    TOKS(ST, EX, "stdio-fifos", "/run/x", "pipe"),  /* stdin mode: fifo or null */
    TOKS(ST, EX, "stdio-fifos", "run/x", "fifo"),   /* not absolute */
    TOKS(ST, EX, "stdio-fifos", "/run/../x", "fifo"),
    TOKS(ST, EX, "stdio-fifos", "/a", "fifo", "stdio-fifos", "/b", "null"),
    TOKS(ST, EX, "stdio-fifos", "/run/x"),
    NULL,
};

static void test_malformed(void) {
  char name[64];
  for (size_t i = 0; BAD[i]; i++) {
    snprintf(name, sizeof name, "malformed[%zu] %s %s", i, BAD[i][0], BAD[i][1] ? BAD[i][1] : "");
    begin(name);
    int rc = parse_list(BAD[i]);
    if (rc != -1) {
      printf("    accepted:");
      for (size_t k = 0; BAD[i][k]; k++) printf(" \"%s\"", BAD[i][k]);
      printf("\n");
    }
    CHECK(rc == -1);
    end();
  }
}

/* What report_err() prints for err, captured from fd 2 ("" when it cannot be captured). */
static const char *reported(const char *path) {
  static char out[512];
  out[0] = '\0';
  int mem = memfd_create("stderr", MFD_CLOEXEC), saved = dup(2);
  if (mem < 0 || saved < 0 || dup2(mem, 2) < 0) return out;
  report_err(&err, path);
  dup2(saved, 2);
  close(saved);
  ssize_t n = pread(mem, out, sizeof out - 1, 0);
  out[n > 0 ? n : 0] = '\0';
  close(mem);
  return out;
}

static void test_errors(void) {
  begin("errors: a refusal names the reason, the op and its index (one error convention)");
  CHECK(parse_list(TOKS(ST, "timeout", "5", "frobnicate", EX)) == -1);
  CHECK(err.step == STEP_PARSE && err.err == EINVAL && err.op == 2);
  CHECK_STR(err.path, "frobnicate");
  CHECK_STR(err.why, "unknown op");
  CHECK_STR(reported(NULL), "sandbox-launcher: unknown op: op \"frobnicate\" (op 2)\n");
  CHECK(parse_list(TOKS(ST)) == -1 && err.op == 1);
  CHECK_STR(reported(NULL), "sandbox-launcher: missing required op: op \"exec\" (op 1)\n");
  end();

  begin("errors: a frame refusal has a reason and no op");
  char **t;
  size_t count;
  int fd = memfd_create("frame", MFD_CLOEXEC);
  CHECK(fd >= 0 && write(fd, "XXXX\4\0\0\0abc", 11) == 11 && lseek(fd, 0, SEEK_SET) == 0);
  CHECK(frame_read(fd, &t, &count, &err) == -1 && err.step == STEP_PARSE && err.op == -1);
  CHECK(err.path == NULL);
  CHECK_STR(reported(NULL),
            "sandbox-launcher: malformed frame: expected magic \"SBX1\" and a length\n");
  close(fd);
  end();

  begin("errors: a syscall failure names the step, the path and errno");
  errno = ENOENT;
  CHECK(fail(&err, STEP_BIND, 3) == -1 && err.err == ENOENT && err.op == 3);
  CHECK(!err.path && !err.why);
  CHECK_STR(reported("/srv/data"), "sandbox-launcher: bind /srv/data: No such file or directory\n");
  CHECK(fail_path(&err, STEP_STATUS, "/run/s") == -1 && err.op == -1);
  CHECK_STR(err.path, "/run/s");
  CHECK(config_err_path(&cfg, &err) == err.path); /* the recorded path wins over the op's */
  CHECK_STR(reported(err.path), "sandbox-launcher: status /run/s: No such file or directory\n");
  end();
}

/* ---- valid token lists ---- */

static void test_minimal(void) {
  begin("valid: minimal status + exec, argv defaults to exec");
  CHECK(parse_list(TOKS("status", "/run/s", "exec", "/bin/true")) == 0);
  CHECK_STR(cfg.status_path, "/run/s");
  CHECK_STR(cfg.exec, "/bin/true");
  CHECK(cfg.exec == live.t[3]); /* points into the tokens, not a copy */
  CHECK(cfg.exec_op == 1);
  CHECK(cfg.argc == 1 && cfg.argv && cfg.argv[0] == cfg.exec && cfg.argv[1] == NULL);
  CHECK(cfg.envc == 0 && cfg.envp && cfg.envp[0] == NULL);
  CHECK(cfg.ns_flags == 0 && !cfg.newroot && !cfg.loopback && cfg.n_mounts == 0);
  CHECK(!cfg.uid_map_set && !cfg.gid_map_set && !cfg.run_uid_set && !cfg.run_gid_set);
  CHECK(cfg.hostname == NULL && cfg.cwd == NULL && cfg.timeout_ms == 0);
  CHECK(cfg.n_rlimits == 0 && cfg.bpf_len == 0);
  CHECK(config_op_path(&cfg, 1) == cfg.exec);
  CHECK(config_op_path(&cfg, 0) == NULL);
  end();

  begin("valid: exec before status, relative program name");
  CHECK(parse_list(TOKS("exec", "sh", "status", "/s")) == 0);
  CHECK_STR(cfg.exec, "sh");
  CHECK(cfg.exec_op == 0);
  end();
}

static const char SECCOMP2[] = "0600000000000000"
                               "06000000000000ff";

static void test_all_ops(void) {
  begin("valid: every op, fields as given");
  int rc = parse_list(TOKS(
      "status", "/tmp/status",                                              /* op 0 */
      "unshare", "user", "unshare", "pid", "unshare", "mount", "unshare", "uts", /* 1-4 */
      "unshare", "ipc", "unshare", "net", "unshare", "cgroup",              /* 5-7 */
      "uid-map", "0", "1000", "gid-map", "1", "1001",                       /* 8-9 */
      "uid", "2", "gid", "3", "hostname", "box", "loopback", "newroot",     /* 10-14 */
      "ro-bind", "/usr", "/usr",                                            /* 15 */
      "bind", "/tmp/work", "/work",                                         /* 16 */
      "ro-bind-try", "/lib64", "/lib64",                                    /* 17 */
      "tmpfs", "/tmp", "67108864", "1777",                                  /* 18 */
      "proc", "/proc", "dev", "/dev",                                       /* 19-20 */
      "symlink", "usr/lib", "/lib",                                         /* 21 */
      "dir", "/home", "0755",                                               /* 22 */
      "chdir", "/work", "timeout", "5000",                                  /* 23-24 */
      "rlimit", "nofile", "1024", "2048", "rlimit", "as", "inf", "inf",     /* 25-26 */
      "seccomp", SECCOMP2,                                                  /* 27 */
      "env", "PATH=/usr/bin", "env", "HOME=/work",                          /* 28-29 */
      "arg", "sh", "arg", "-c", "arg", "echo hi",                           /* 30-32 */
      "exec", "/bin/sh"));                                                  /* 33 */
  CHECK(rc == 0);
  CHECK_STR(cfg.status_path, "/tmp/status");
  CHECK(cfg.ns_flags == (CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC |
                         CLONE_NEWNET | CLONE_NEWCGROUP));
  CHECK(cfg.uid_map_set && cfg.uid_inside == 0 && cfg.uid_outside == 1000);
  CHECK(cfg.gid_map_set && cfg.gid_inside == 1 && cfg.gid_outside == 1001);
  CHECK(cfg.run_uid_set && cfg.run_uid == 2 && cfg.run_gid_set && cfg.run_gid == 3);
  CHECK_STR(cfg.hostname, "box");
  CHECK(cfg.loopback && cfg.newroot);
  CHECK(cfg.n_mounts == 8);
  const struct {
    enum mount_kind kind;
    int op;
    const char *src, *dst;
    uint64_t size;
    unsigned mode;
  } want[] = {
      {M_RO_BIND, 15, "/usr", "/usr", 0, 0},       {M_BIND, 16, "/tmp/work", "/work", 0, 0},
      {M_RO_BIND_TRY, 17, "/lib64", "/lib64", 0, 0}, {M_TMPFS, 18, NULL, "/tmp", 67108864, 01777},
      {M_PROC, 19, NULL, "/proc", 0, 0},           {M_DEV, 20, NULL, "/dev", 0, 0},
      {M_SYMLINK, 21, "usr/lib", "/lib", 0, 0},    {M_DIR, 22, NULL, "/home", 0, 0755},
  };
  for (size_t k = 0; k < 8 && k < cfg.n_mounts; k++) {
    const struct mount_op *m = &cfg.mounts[k];
    CHECK(m->kind == want[k].kind);
    CHECK(m->op == want[k].op);
    if (want[k].src) CHECK_STR(m->src, want[k].src);
    else CHECK(m->src == NULL);
    CHECK_STR(m->dst, want[k].dst);
    CHECK(m->size == want[k].size);
    CHECK(m->mode == want[k].mode);
    CHECK(config_op_path(&cfg, m->op) == m->dst);
  }
  CHECK_STR(cfg.cwd, "/work");
  CHECK(config_op_path(&cfg, 23) == cfg.cwd);
  CHECK(cfg.timeout_ms == 5000);
  CHECK(cfg.n_rlimits == 2);
  CHECK(cfg.rlimits[0].resource == RLIMIT_NOFILE && cfg.rlimits[0].soft == 1024 &&
        cfg.rlimits[0].hard == 2048);
  CHECK(cfg.rlimits[1].resource == RLIMIT_AS && cfg.rlimits[1].soft == UINT64_MAX &&
        cfg.rlimits[1].hard == UINT64_MAX);
  static const unsigned char bpf[16] = {6, 0, 0, 0, 0, 0, 0, 0, 6, 0, 0, 0, 0, 0, 0, 0xff};
  CHECK(cfg.bpf_len == 16 && memcmp(cfg.bpf, bpf, 16) == 0);
  CHECK(cfg.envc == 2 && cfg.envp[2] == NULL);
  if (cfg.envc == 2) {
    CHECK_STR(cfg.envp[0], "PATH=/usr/bin");
    CHECK_STR(cfg.envp[1], "HOME=/work");
  }
  CHECK(cfg.argc == 3 && cfg.argv[3] == NULL);
  if (cfg.argc == 3) {
    CHECK_STR(cfg.argv[0], "sh");
    CHECK_STR(cfg.argv[1], "-c");
    CHECK_STR(cfg.argv[2], "echo hi");
  }
  CHECK_STR(cfg.exec, "/bin/sh");
  CHECK(cfg.exec_op == 33);
  CHECK(config_op_path(&cfg, 33) == cfg.exec);
  /* ops without a path */
  CHECK(config_op_path(&cfg, 0) == NULL && config_op_path(&cfg, 10) == NULL);
  CHECK(config_op_path(&cfg, 28) == NULL && config_op_path(&cfg, 30) == NULL);
  CHECK(config_op_path(&cfg, -1) == NULL && config_op_path(&cfg, (int)TOKENS_MAX) == NULL);
  CHECK(config_op_path(&cfg, -1000) == NULL && config_op_path(&cfg, INT32_MAX) == NULL);
  end();
}

static void test_values(void) {
  begin("valid: each namespace name maps to its flag");
  static const struct {
    const char *name;
    unsigned long flag;
  } ns[] = {{"user", CLONE_NEWUSER}, {"pid", CLONE_NEWPID},  {"mount", CLONE_NEWNS},
            {"uts", CLONE_NEWUTS},   {"ipc", CLONE_NEWIPC},  {"net", CLONE_NEWNET},
            {"cgroup", CLONE_NEWCGROUP}};
  for (size_t k = 0; k < sizeof ns / sizeof ns[0]; k++) {
    CHECK(parse_list(TOKS(ST, "unshare", ns[k].name, EX)) == 0);
    CHECK(cfg.ns_flags == ns[k].flag);
  }
  end();

  begin("valid: id boundaries (0 and 4294967294)");
  CHECK(parse_list(TOKS(ST, "unshare", "user", "uid-map", "4294967294", "0", "gid-map", "0",
                        "4294967294", "uid", "4294967294", "gid", "0", EX)) == 0);
  CHECK(cfg.uid_inside == 4294967294u && cfg.uid_outside == 0);
  CHECK(cfg.gid_inside == 0 && cfg.gid_outside == 4294967294u);
  CHECK(cfg.run_uid == 4294967294u && cfg.run_gid == 0 && cfg.run_gid_set);
  CHECK(parse_list(TOKS(ST, "uid", "00000000000000000001", EX)) == 0); /* 20 digits */
  CHECK(cfg.run_uid == 1);
  end();

  begin("valid: hostname of 64 bytes");
  CHECK(parse_list(TOKS(ST, "unshare", "uts", "hostname",
                        "hhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhh", EX)) == 0);
  CHECK(cfg.hostname && strlen(cfg.hostname) == 64);
  end();

  begin("valid: tmpfs size/mode and dir mode boundaries");
  CHECK(parse_list(TOKS(ST, NSM, "tmpfs", "/a", "0", "0", "tmpfs", "/b", "18446744073709551615",
                        "7777", "dir", "/c", "7", "dir", "/d", "0000", EX)) == 0);
  CHECK(cfg.n_mounts == 4);
  CHECK(cfg.mounts[0].size == 0 && cfg.mounts[0].mode == 0);
  CHECK(cfg.mounts[1].size == UINT64_MAX && cfg.mounts[1].mode == 07777);
  CHECK(cfg.mounts[2].mode == 07 && cfg.mounts[3].mode == 0);
  end();

  begin("valid: paths with dot-names that are not . or ..");
  CHECK(parse_list(TOKS(ST, NSM, "bind", "/a/...b", "/x/.hidden", "ro-bind", "//etc//", "/e/..x/",
                        "ro-bind", "/", "/", "symlink", "../rel/./x", "/l", EX)) == 0);
  CHECK(cfg.n_mounts == 4);
  CHECK_STR(cfg.mounts[3].src, "../rel/./x"); /* symlink targets are not path-checked */
  end();

  begin("valid: timeout 1 and 31536000000 ms");
  CHECK(parse_list(TOKS(ST, "timeout", "1", EX)) == 0 && cfg.timeout_ms == 1);
  CHECK(parse_list(TOKS(ST, "timeout", "31536000000", EX)) == 0 &&
        cfg.timeout_ms == 31536000000ull);
  end();

  begin("valid: every rlimit name, soft == hard, inf");
  static const struct {
    const char *name;
    int res;
  } rl[] = {{"as", RLIMIT_AS},       {"core", RLIMIT_CORE},           {"cpu", RLIMIT_CPU},
            {"data", RLIMIT_DATA},   {"fsize", RLIMIT_FSIZE},         {"memlock", RLIMIT_MEMLOCK},
            {"nofile", RLIMIT_NOFILE}, {"nproc", RLIMIT_NPROC},       {"stack", RLIMIT_STACK},
            {"msgqueue", RLIMIT_MSGQUEUE}, {"sigpending", RLIMIT_SIGPENDING}};
  for (size_t k = 0; k < sizeof rl / sizeof rl[0]; k++) {
    CHECK(parse_list(TOKS(ST, "rlimit", rl[k].name, "18446744073709551614",
                          "18446744073709551614", EX)) == 0);
    CHECK(cfg.n_rlimits == 1 && cfg.rlimits[0].resource == rl[k].res &&
          cfg.rlimits[0].soft == UINT64_MAX - 1 && cfg.rlimits[0].hard == UINT64_MAX - 1);
  }
  CHECK(parse_list(TOKS(ST, "rlimit", "as", "0", "inf", "rlimit", "core", "0", "0", "rlimit",
                        "cpu", "1", "2", "rlimit", "data", "1", "inf", "rlimit", "fsize", "1",
                        "1", "rlimit", "memlock", "1", "1", "rlimit", "nofile", "1", "1",
                        "rlimit", "nproc", "1", "1", "rlimit", "stack", "1", "1", "rlimit",
                        "msgqueue", "1", "1", "rlimit", "sigpending", "1", "1", EX)) == 0);
  CHECK(cfg.n_rlimits == 11);
  CHECK(cfg.rlimits[0].soft == 0 && cfg.rlimits[0].hard == UINT64_MAX);
  end();

  begin("valid: env and arg keep order; empty arg allowed");
  CHECK(parse_list(TOKS(ST, "env", "A=1", "arg", "x", "env", "B==", "arg", "", "env", "C=",
                        "arg", "z", EX)) == 0);
  CHECK(cfg.envc == 3 && cfg.argc == 3);
  if (cfg.envc == 3 && cfg.argc == 3) {
    CHECK_STR(cfg.envp[0], "A=1");
    CHECK_STR(cfg.envp[1], "B==");
    CHECK_STR(cfg.envp[2], "C=");
    CHECK_STR(cfg.argv[0], "x");
    CHECK_STR(cfg.argv[1], "");
    CHECK_STR(cfg.argv[2], "z");
    CHECK(cfg.argv[3] == NULL && cfg.envp[3] == NULL);
  }
  end();
}

/* Builds "status /s unshare user unshare mount newroot" + n times "dir /dI 0755" + exec. */
static int parse_dirs(size_t n) {
  size_t count = 7 + 3 * n + 2;
  char **t = calloc(count + 1, sizeof *t);
  size_t i = 0;
  const char *head[] = {ST, NSM};
  for (size_t k = 0; k < 7; k++) t[i++] = strdup(head[k]);
  for (size_t k = 0; k < n; k++) {
    char d[32];
    snprintf(d, sizeof d, "/d%zu", k);
    t[i++] = strdup("dir");
    t[i++] = strdup(d);
    t[i++] = strdup("0755");
  }
  t[i++] = strdup("exec");
  t[i++] = strdup("/x");
  drop(&live);
  live.t = t;
  live.n = count;
  return config_parse(t, count, &cfg, &err);
}

static void test_limits(void) {
  begin("limits: 256 mounts accepted, 257 refused");
  CHECK(parse_dirs(MOUNTS_MAX) == 0 && cfg.n_mounts == MOUNTS_MAX);
  CHECK(parse_dirs(MOUNTS_MAX + 1) == -1);
  end();

  begin("limits: path of 4095 bytes accepted, 4096 refused");
  char *p = malloc(4097);
  p[0] = '/';
  memset(p + 1, 'a', 4095);
  p[4096] = '\0'; /* 4096 bytes */
  CHECK(parse_list(TOKS(ST, "chdir", p, EX)) == -1);
  p[4095] = '\0'; /* 4095 bytes */
  CHECK(parse_list(TOKS(ST, "chdir", p, EX)) == 0);
  CHECK(parse_list(TOKS(ST, NSM, "symlink", p, "/l", EX)) == 0);
  memset(p, 'a', 4096);
  p[4096] = '\0';
  CHECK(parse_list(TOKS(ST, NSM, "symlink", p, "/l", EX)) == -1); /* target of 4096 */
  free(p);
  end();

  begin("limits: seccomp of 4096 instructions accepted, 4097 refused");
  size_t max = BPF_MAX_INSNS * 16;
  char *h = malloc(max + 17);
  for (size_t k = 0; k < max + 16; k++) h[k] = "0123456789abcdef"[k % 16];
  h[max] = '\0';
  CHECK(parse_list(TOKS(ST, "seccomp", h, EX)) == 0);
  CHECK(cfg.bpf_len == BPF_MAX_INSNS * 8 && cfg.bpf[0] == 0x01 && cfg.bpf[7] == 0xef &&
        cfg.bpf[BPF_MAX_INSNS * 8 - 1] == 0xef);
  h[max] = '0';
  h[max + 16] = '\0';
  CHECK(parse_list(TOKS(ST, "seccomp", h, EX)) == -1);
  free(h);
  end();
}

static void test_newer_ops(void) {
  begin("valid: stdio-fifos, dir and stdin mode");
  CHECK(parse_list(TOKS(ST, "stdio-fifos", "/run/s.stdio", "fifo", EX)) == 0);
  CHECK_STR(cfg.stdio_dir, "/run/s.stdio");
  CHECK(cfg.stdin_fifo && cfg.stdio_op == 1 && config_op_path(&cfg, 1) == cfg.stdio_dir);
  CHECK(parse_list(TOKS(ST, "stdio-fifos", "/run/s.stdio", "null", EX)) == 0 && !cfg.stdin_fifo);
  CHECK(parse_list(TOKS(ST, EX)) == 0 && cfg.stdio_dir == NULL);
  end();

  begin("valid: overlay, overlay-keep, remount-ro, mask");
  CHECK(parse_list(TOKS(ST, NSM, "overlay", "/usr", "/u", "1048576",                /* op 4 */
                        "overlay-keep", "/opt", "/var/up", "/var/wk", "/o",         /* op 5 */
                        "remount-ro", "/etc", "mask", "/proc/kcore", EX)) == 0);   /* 6, 7 */
  CHECK(cfg.n_mounts == 4);
  if (cfg.n_mounts == 4) {
    const struct mount_op *m = cfg.mounts;
    CHECK(m[0].kind == M_OVERLAY && m[0].op == 4 && m[0].size == 1048576);
    CHECK_STR(m[0].src, "/usr");
    CHECK_STR(m[0].dst, "/u");
    CHECK(m[0].upper == NULL && m[0].work == NULL);
    CHECK(m[1].kind == M_OVERLAY && m[1].op == 5 && m[1].size == 0);
    CHECK_STR(m[1].src, "/opt");
    CHECK_STR(m[1].upper, "/var/up");
    CHECK_STR(m[1].work, "/var/wk");
    CHECK_STR(m[1].dst, "/o");
    CHECK(m[2].kind == M_REMOUNT_RO && m[2].src == NULL && m[2].op == 6);
    CHECK_STR(m[2].dst, "/etc");
    CHECK(m[3].kind == M_MASK && m[3].src == NULL && m[3].op == 7);
    CHECK_STR(m[3].dst, "/proc/kcore");
    for (size_t k = 0; k < 4; k++) CHECK(config_op_path(&cfg, m[k].op) == m[k].dst);
  }
  end();

  begin("valid: host-dir, kept apart from the mounts, repeatable");
  CHECK(parse_list(TOKS(ST, NSM, "host-dir", "/var/up", "700", "host-dir", "/var/wk", "0", /* 4, 5 */
                        "overlay-keep", "/opt", "/var/up", "/var/wk", "/o", EX)) == 0);  /* 6 */
  CHECK(cfg.n_mounts == 1 && cfg.n_host_dirs == 2);
  if (cfg.n_host_dirs == 2) {
    CHECK_STR(cfg.host_dirs[0].path, "/var/up");
    CHECK(cfg.host_dirs[0].mode == 0700 && cfg.host_dirs[0].op == 4);
    CHECK_STR(cfg.host_dirs[1].path, "/var/wk");
    CHECK(cfg.host_dirs[1].mode == 0 && cfg.host_dirs[1].op == 5);
    CHECK(config_op_path(&cfg, 4) == cfg.host_dirs[0].path);
  }
  end();

  begin("valid: seccomp-notify kill/errno");
  CHECK(parse_list(TOKS(ST, "seccomp", "0600000000000000", "seccomp-notify", "kill", EX)) == 0);
  CHECK(cfg.seccomp_notify == SECCOMP_NOTIFY_KILL);
  CHECK(parse_list(TOKS(ST, "seccomp-notify", "errno", "seccomp", "0600000000000000", EX)) == 0);
  CHECK(cfg.seccomp_notify == SECCOMP_NOTIFY_ERRNO);
  CHECK(parse_list(TOKS(ST, "seccomp", "0600000000000000", EX)) == 0);
  CHECK(cfg.seccomp_notify == SECCOMP_NOTIFY_NONE);
  end();

  begin("valid: landlock ruleset and path rules");
  CHECK(parse_list(TOKS(ST, "landlock", "8191", "3", "1",                 /* op 1 */
                        "landlock-path", "/usr", "4095",                /* op 2 */
                        "landlock-path-try", "/nope", "1", EX)) == 0);  /* op 3 */
  CHECK(cfg.landlock && cfg.landlock_fs == 8191 && cfg.landlock_net == 3 && cfg.landlock_scope == 1);
  CHECK(cfg.n_landlock_rules == 2);
  if (cfg.n_landlock_rules == 2) {
    CHECK_STR(cfg.landlock_rules[0].path, "/usr");
    CHECK(cfg.landlock_rules[0].rights == 4095 && !cfg.landlock_rules[0].optional);
    CHECK(cfg.landlock_rules[0].op == 2 && config_op_path(&cfg, 2) == cfg.landlock_rules[0].path);
    CHECK_STR(cfg.landlock_rules[1].path, "/nope");
    CHECK(cfg.landlock_rules[1].rights == 1 && cfg.landlock_rules[1].optional);
    CHECK(cfg.landlock_rules[1].op == 3);
  }
  CHECK(parse_list(TOKS(ST, "landlock", "0", "1", "0", EX)) == 0 && cfg.landlock);
  CHECK(parse_list(TOKS(ST, "landlock", "0", "0", "1", EX)) == 0 && cfg.landlock_scope == 1);
  end();

  begin("valid: cgroup v2 with limits, cgroup v1 with every controller");
  CHECK(parse_list(TOKS(ST, "cgroup-name", "sbx-1.a_B", "cgroup-v2", "/sys/fs/cgroup/sbx",
                        "memory-max", "4096", "pids-max", "4194304", "cpu-max", "1000", "1000000",
                        EX)) == 0);
  CHECK_STR(cfg.cgroup_name, "sbx-1.a_B");
  CHECK_STR(cfg.cgroup_v2_parent, "/sys/fs/cgroup/sbx");
  CHECK(cfg.cgroup_v2_op == 2 && config_op_path(&cfg, 2) == cfg.cgroup_v2_parent);
  CHECK(cfg.n_cgroup_v1 == 0);
  CHECK(cfg.limits.memory_max == 4096 && cfg.limits.memory_op == 3);
  CHECK(cfg.limits.pids_max == 4194304 && cfg.limits.pids_op == 4);
  CHECK(cfg.limits.cpu_quota == 1000 && cfg.limits.cpu_period == 1000000 && cfg.limits.cpu_op == 5);
  CHECK(parse_list(TOKS(ST, "cgroup-v1", "memory", "/m", "cgroup-v1", "pids", "/p", "cgroup-v1",
                        "cpu", "/c", "cgroup-v1", "cpuacct", "/ca", "cgroup-name", "x", "cpu-max",
                        "1000000000000", "1000", EX)) == 0);
  CHECK(cfg.n_cgroup_v1 == 4 && cfg.cgroup_v2_parent == NULL);
  if (cfg.n_cgroup_v1 == 4) {
    CHECK_STR(cfg.cgroup_v1[0].controller, "memory");
    CHECK_STR(cfg.cgroup_v1[0].parent, "/m");
    CHECK_STR(cfg.cgroup_v1[3].controller, "cpuacct");
    CHECK_STR(cfg.cgroup_v1[3].parent, "/ca");
    CHECK(cfg.cgroup_v1[2].op == 3 && config_op_path(&cfg, 3) == cfg.cgroup_v1[2].parent);
  }
  CHECK(cfg.limits.cpu_quota == 1000000000000ull && cfg.limits.cpu_period == 1000);
  end();

  begin("limits: 1024 landlock rules accepted, 1025 refused");
  for (size_t n = LANDLOCK_RULES_MAX; n <= LANDLOCK_RULES_MAX + 1; n++) {
    size_t count = 2 + 4 + 3 * n + 2;
    char **t = calloc(count + 1, sizeof *t);
    size_t i = 0;
    const char *head[] = {ST, "landlock", "1", "0", "0"};
    for (size_t k = 0; k < 6; k++) t[i++] = strdup(head[k]);
    for (size_t k = 0; k < n; k++) {
      char d[32];
      snprintf(d, sizeof d, "/l%zu", k);
      t[i++] = strdup("landlock-path");
      t[i++] = strdup(d);
      t[i++] = strdup("1");
    }
    t[i++] = strdup("exec");
    t[i++] = strdup("/x");
    drop(&live);
    live.t = t;
    live.n = count;
    int rc = config_parse(t, count, &cfg, &err);
    CHECK(rc == (n == LANDLOCK_RULES_MAX ? 0 : -1));
    if (rc == 0) CHECK(cfg.n_landlock_rules == LANDLOCK_RULES_MAX);
  }
  end();
}

/* ---- frame_read ---- */

static int memfd_with(const void *data, size_t len) {
  int fd = memfd_create("frame", MFD_CLOEXEC);
  if (fd < 0) return -1;
  if (len && write(fd, data, len) != (ssize_t)len) {
    close(fd);
    return -1;
  }
  lseek(fd, 0, SEEK_SET);
  return fd;
}

/* "SBX1" + u32 LE len + body (body_len bytes actually present) + extra */
static unsigned char *frame(uint32_t len, const void *body, size_t body_len, size_t *out_len) {
  unsigned char *f = malloc(8 + body_len);
  memcpy(f, "SBX1", 4);
  f[4] = (unsigned char)len;
  f[5] = (unsigned char)(len >> 8);
  f[6] = (unsigned char)(len >> 16);
  f[7] = (unsigned char)(len >> 24);
  if (body_len) memcpy(f + 8, body, body_len);
  *out_len = 8 + body_len;
  return f;
}

static int read_frame_bytes(const void *data, size_t len, char ***t, size_t *count) {
  int fd = memfd_with(data, len);
  if (fd < 0) return -2;
  int rc = frame_read(fd, t, count, &err);
  close(fd);
  return rc;
}

static void test_frame(void) {
  static const char body[] = "status\0/s\0exec\0/x\0arg\0\0arg\0y"; /* 8 tokens */
  size_t blen = sizeof body; /* 29: the final NUL ends "y" */
  size_t n;
  char **t;
  size_t count;

  begin("frame: valid frame gives its tokens, empty ones included");
  unsigned char *f = frame((uint32_t)blen, body, blen, &n);
  CHECK(read_frame_bytes(f, n, &t, &count) == 0);
  CHECK(count == 8 && t[8] == NULL);
  if (count == 8) {
    CHECK_STR(t[0], "status");
    CHECK_STR(t[3], "/x");
    CHECK_STR(t[5], "");
    CHECK_STR(t[7], "y");
    CHECK(config_parse(t, count, &cfg, &err) == 0);
    CHECK(cfg.argc == 2 && strcmp(cfg.argv[0], "") == 0 && strcmp(cfg.argv[1], "y") == 0);
  }
  free(f);
  end();

  begin("frame: only the frame is consumed, the rest of stdin stays");
  unsigned char *g = malloc(8 + blen + 5);
  f = frame((uint32_t)blen, body, blen, &n);
  memcpy(g, f, n);
  memcpy(g + n, "TAIL!", 5);
  int fd = memfd_with(g, n + 5);
  CHECK(frame_read(fd, &t, &count, &err) == 0 && count == 8);
  char rest[8] = {0};
  CHECK(read(fd, rest, sizeof rest) == 5 && memcmp(rest, "TAIL!", 5) == 0);
  close(fd);
  free(f);
  free(g);
  end();

  begin("frame: frame_save writes the frame read; frame_pread reads it at offset 0, offset untouched");
  f = frame((uint32_t)blen, body, blen, &n);
  CHECK(read_frame_bytes(f, n, &t, &count) == 0 && count == 8);
  int saved = memfd_create("saved", MFD_CLOEXEC);
  CHECK(saved >= 0 && frame_save(saved) == 0);
  CHECK(lseek(saved, 0, SEEK_CUR) == (off_t)n);
  unsigned char back[64] = {0};
  CHECK(pread(saved, back, sizeof back, 0) == (ssize_t)n && memcmp(back, f, n) == 0);
  /* The shared offset stays at the end: processes reading one description do not race. */
  CHECK(frame_pread(saved, &t, &count, &err) == 0 && count == 8 && strcmp(t[7], "y") == 0);
  CHECK(frame_pread(saved, &t, &count, &err) == 0 && count == 8);
  CHECK(lseek(saved, 0, SEEK_CUR) == (off_t)n);
  close(saved);
  saved = memfd_with(f, 5); /* truncated header */
  CHECK(frame_pread(saved, &t, &count, &err) == -1 && err.step == STEP_PARSE);
  close(saved);
  free(f);
  end();

  begin("frame: a one-byte frame is one empty token");
  f = frame(1, "", 1, &n);
  CHECK(read_frame_bytes(f, n, &t, &count) == 0 && count == 1 && t[0][0] == '\0' && !t[1]);
  free(f);
  end();

  begin("frame: malformed frames are refused");
  CHECK(read_frame_bytes("", 0, &t, &count) == -1);                 /* empty stdin */
  CHECK(read_frame_bytes("SBX", 3, &t, &count) == -1);              /* short magic */
  CHECK(read_frame_bytes("SBX1\x05\0\0", 7, &t, &count) == -1);     /* short length */
  f = frame((uint32_t)blen, body, blen, &n);
  f[3] = '2';
  CHECK(read_frame_bytes(f, n, &t, &count) == -1); /* bad magic */
  f[0] = 's';
  f[3] = '1';
  CHECK(read_frame_bytes(f, n, &t, &count) == -1); /* magic is case-sensitive */
  free(f);
  f = frame(0, NULL, 0, &n);
  CHECK(read_frame_bytes(f, n, &t, &count) == -1); /* length 0 */
  free(f);
  f = frame(UINT32_MAX, body, blen, &n);
  CHECK(read_frame_bytes(f, n, &t, &count) == -1); /* huge */
  free(f);
  f = frame(FRAME_MAX + 1, body, blen, &n);
  CHECK(read_frame_bytes(f, n, &t, &count) == -1); /* just over FRAME_MAX */
  free(f);
  f = frame(FRAME_MAX, body, blen, &n);
  CHECK(read_frame_bytes(f, n, &t, &count) == -1); /* FRAME_MAX, truncated */
  free(f);
  f = frame((uint32_t)blen + 1, body, blen, &n);
  CHECK(read_frame_bytes(f, n, &t, &count) == -1); /* one byte short */
  free(f);
  f = frame((uint32_t)blen - 1, body, blen - 1, &n);
  CHECK(read_frame_bytes(f, n, &t, &count) == -1); /* last token unterminated */
  free(f);
  f = frame(1, "x", 1, &n);
  CHECK(read_frame_bytes(f, n, &t, &count) == -1); /* single unterminated byte */
  free(f);
  end();

  begin("frame: FRAME_MAX bytes and TOKENS_MAX tokens accepted, one more refused");
  unsigned char *big = calloc(1, FRAME_MAX);
  f = frame(TOKENS_MAX, big, TOKENS_MAX, &n); /* TOKENS_MAX empty tokens */
  CHECK(read_frame_bytes(f, n, &t, &count) == 0 && count == TOKENS_MAX && t[TOKENS_MAX] == NULL);
  free(f);
  f = frame(TOKENS_MAX + 1, big, TOKENS_MAX + 1, &n);
  CHECK(read_frame_bytes(f, n, &t, &count) == -1);
  free(f);
  memset(big, 'a', FRAME_MAX - 1); /* one token of FRAME_MAX - 1 bytes */
  f = frame(FRAME_MAX, big, FRAME_MAX, &n);
  CHECK(read_frame_bytes(f, n, &t, &count) == 0 && count == 1 && strlen(t[0]) == FRAME_MAX - 1);
  free(f);
  free(big);
  end();
}

/* ---- the fuzz seed corpus is labelled right: ok-* parse, everything else is refused ---- */

static unsigned char *slurp(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  size_t cap = 1 << 16, n = 0;
  unsigned char *b = malloc(cap);
  size_t got;
  while ((got = fread(b + n, 1, cap - n, f)) > 0) {
    n += got;
    if (n == cap) b = realloc(b, cap *= 2);
  }
  fclose(f);
  *len = n;
  return b;
}

static void test_corpus(const char *root, const char *kind) {
  char title[128], dir[4096], path[8192];
  snprintf(title, sizeof title, "corpus/%s: ok-* seeds parse, all others are refused", kind);
  begin(title);
  snprintf(dir, sizeof dir, "%s/%s", root, kind);
  DIR *d = opendir(dir);
  CHECK(d != NULL);
  size_t seen = 0;
  struct dirent *de;
  while (d && (de = readdir(d))) {
    if (de->d_name[0] == '.') continue;
    snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
    size_t len;
    unsigned char *data = slurp(path, &len);
    if (!data) continue;
    seen++;
    int ok;
    char **t;
    size_t count;
    if (strcmp(kind, "frame") == 0) {
      ok = read_frame_bytes(data, len, &t, &count) == 0 && config_parse(t, count, &cfg, &err) == 0;
    } else {
      char *buf = malloc(len + 1);
      memcpy(buf, data, len);
      buf[len] = '\0';
      count = 0;
      for (size_t i = 0; i < len; i += strlen(buf + i) + 1) count++;
      t = calloc(count + 1, sizeof *t);
      count = 0;
      for (size_t i = 0; i < len; i += strlen(buf + i) + 1) t[count++] = buf + i;
      ok = config_parse(t, count, &cfg, &err) == 0;
      free(t);
      free(buf);
    }
    int want = strncmp(de->d_name, "ok-", 3) == 0;
    if (ok != want) {
      cur_fail++;
      printf("    %s: %s, expected %s\n", path, ok ? "accepted" : "refused",
             want ? "accepted" : "refused");
    }
    free(data);
  }
  if (d) closedir(d);
  CHECK(seen > 0);
  end();
}

/* ---- static state between calls (the parser keeps tables in static storage) ---- */

static void test_reentry(void) {
  begin("reentry: a failed parse does not poison the next one");
  CHECK(parse_list(TOKS(ST, "uid", "0", "uid", "0", EX)) == -1);
  CHECK(parse_list(TOKS(ST, "uid", "0", EX)) == 0 && cfg.run_uid_set);
  CHECK(parse_list(TOKS(ST, NSM, "proc", "/proc", "timeout", "0", EX)) == -1);
  CHECK(parse_list(TOKS(ST, EX)) == 0 && cfg.n_mounts == 0 && !cfg.newroot && cfg.ns_flags == 0);
  end();

  begin("reentry: argv/envp are reset (no args or env left from the last parse)");
  CHECK(parse_list(TOKS(ST, "arg", "a", "arg", "b", "env", "X=1", EX)) == 0 && cfg.argc == 2);
  CHECK(parse_list(TOKS(ST, EX)) == 0);
  CHECK(cfg.argc == 1 && cfg.argv[1] == NULL && cfg.envc == 0 && cfg.envp[0] == NULL);
  end();

  /* config_op_path() must answer for the config just parsed. op_paths[] is static and only
   * ever written, so an op index that held a path in an earlier parse still returns it. */
  begin("reentry: config_op_path has no path left from an earlier parse");
  CHECK(parse_list(TOKS(ST, "chdir", "/old-cwd", NSM, "proc", "/old-proc", EX)) == 0);
  CHECK(config_op_path(&cfg, 1) == cfg.cwd && config_op_path(&cfg, 5) != NULL);
  CHECK(parse_list(TOKS(ST, "env", "A=1", "arg", "x", "uid", "0", "gid", "0", EX)) == 0);
  const char *p1 = config_op_path(&cfg, 1); /* op 1 is now "env": no path */
  const char *p5 = config_op_path(&cfg, 5); /* op 5 is now "exec" */
  CHECK(p1 == NULL);
  CHECK(p5 == cfg.exec);
  const char *p6 = config_op_path(&cfg, 6); /* past the last op */
  CHECK(p6 == NULL);
  end();
}

/* More than TOKENS_MAX tokens only come in through argv (frame_read caps the count). Run in a
 * child: without a cap in config_parse the static argv_store overflows and the sanitizers
 * abort the process. */
static void test_too_many_tokens(void) {
  begin("limits: more than TOKENS_MAX tokens (argv path) refused, no overflow");
  fflush(stdout);
  pid_t pid = fork();
  if (pid == 0) {
    size_t args = TOKENS_MAX + 1; /* argc would be TOKENS_MAX + 1 */
    size_t count = 4 + 2 * args;
    char **t = calloc(count + 1, sizeof *t);
    char st[] = "status", sp[] = "/s", ex[] = "exec", ep[] = "/x", arg[] = "arg", empty[] = "";
    t[0] = st, t[1] = sp, t[2] = ex, t[3] = ep;
    for (size_t k = 0; k < args; k++) t[4 + 2 * k] = arg, t[5 + 2 * k] = empty;
    int rc = config_parse(t, count, &cfg, &err);
    free(t);
    _exit(rc == -1 ? 0 : 1);
  }
  int ws = 0;
  CHECK(pid > 0 && waitpid(pid, &ws, 0) == pid);
  if (!(WIFEXITED(ws) && WEXITSTATUS(ws) == 0))
    printf("    child: %s %d (0 = refused cleanly)\n", WIFEXITED(ws) ? "exit" : "signal",
           WIFEXITED(ws) ? WEXITSTATUS(ws) : WTERMSIG(ws));
  CHECK(WIFEXITED(ws) && WEXITSTATUS(ws) == 0);
  end();
}

/* argv[1]: the fuzz seed corpus (launcher/fuzz/corpus), checked when given. */
static void test_identity_ops(void) {
  begin("valid: host-ids with a user namespace: the maps are uid/gid -> allocated");
  CHECK(parse_list(TOKS(ST, "unshare", "user", "host-ids", "2130706432", "2130771968", "65536",
                        "uid", "1000", "gid", "1001", EX)) == 0);
  CHECK(cfg.host_uid_start == 2130706432u && cfg.host_gid_start == 2130771968u &&
        cfg.host_ids_count == 65536 && cfg.host_ids_op == 2);
  CHECK(cfg.uid_map_set && cfg.uid_inside == 1000 && cfg.gid_map_set && cfg.gid_inside == 1001);
  CHECK(cfg.uid_outside == 0 && cfg.gid_outside == 0); /* allocated by the monitor */
  end();

  begin("valid: idmap marks only the *-idmap mounts; every tree fd starts at -1");
  CHECK(parse_list(TOKS(ST, NSM, "host-ids", "5", "5", "1", "uid", "1000", "gid", "1000", "idmap",
                        "required", "ro-bind", "/usr", "/usr", "bind-idmap", "/a", "/b",
                        "ro-bind-idmap", "/c", "/d", "overlay-idmap", "/e", "/f", "0",
                        "overlay-keep-idmap", "/g", "/u", "/u.work", "/h", EX)) == 0);
  CHECK(cfg.idmap_set && cfg.idmap_required && cfg.n_mounts == 5);
  CHECK(!cfg.mounts[0].idmap && cfg.mounts[1].idmap && cfg.mounts[1].kind == M_BIND);
  CHECK(cfg.mounts[2].idmap && cfg.mounts[2].kind == M_RO_BIND);
  CHECK(cfg.mounts[3].idmap && cfg.mounts[3].kind == M_OVERLAY && !cfg.mounts[3].upper);
  CHECK(cfg.mounts[4].idmap && cfg.mounts[4].upper && strcmp(cfg.mounts[4].work, "/u.work") == 0);
  for (size_t i = 0; i < cfg.n_mounts; i++)
    CHECK(cfg.mounts[i].tree_fd == -1 && cfg.mounts[i].upper_tree_fd == -1);
  end();

  begin("valid: idmap try with an unprivileged caller's maps");
  CHECK(parse_list(TOKS(ST, NSM, "uid-map", "1000", "5", "gid-map", "1000", "5", "idmap", "try",
                        "bind-idmap", "/a", "/b", EX)) == 0);
  CHECK(cfg.idmap_set && !cfg.idmap_required && cfg.mounts[0].idmap);
  end();

  begin("valid: host-ids without a user namespace, range up to 4294967294");
  CHECK(parse_list(TOKS(ST, "host-ids", "4294967294", "1", "1", EX)) == 0);
  CHECK(!cfg.uid_map_set && !cfg.run_uid_set && cfg.host_uid_start == 4294967294u);
  end();

  begin("valid: userns-limit names and bounds, pty-max reaches the dev mount");
  CHECK(parse_list(TOKS(ST, NSM, "userns-limit", "inotify_instances", "0", "userns-limit",
                        "time_namespaces", "2147483647", "dev", "/dev", "pty-max", "64", EX)) == 0);
  CHECK(cfg.n_userns_limits == 2);
  CHECK_STR(cfg.userns_limits[0].name, "inotify_instances");
  CHECK(cfg.userns_limits[0].value == 0 && cfg.userns_limits[0].op == 4);
  CHECK_STR(cfg.userns_limits[1].name, "time_namespaces");
  CHECK(cfg.userns_limits[1].value == 2147483647u);
  CHECK(cfg.pty_max == 64 && cfg.n_mounts == 1 && cfg.mounts[0].pty_max == 64);
  end();

  begin("valid: tty takes the first dev mount's devpts, tty-control its FIFO");
  CHECK(parse_list(TOKS(ST, NSM, "dev", "/sbx/dev", "dev", "/dev", "tty", "132", "43",
                        "tty-control", "/run/s.tty", EX)) == 0);
  CHECK(cfg.tty && cfg.tty_cols == 132 && cfg.tty_rows == 43);
  CHECK_STR(cfg.tty_dev, "/sbx/dev");
  CHECK_STR(cfg.tty_control, "/run/s.tty");
  end();
}

static void test_egress(void) {
  begin("valid: egress with loopback: the port, the socket path, and the path for messages");
  CHECK(parse_list(TOKS(ST, "unshare", "net", "loopback", "egress", "65535", "/run/sandbox/e.sock",
                        EX)) == 0);
  CHECK(cfg.egress_port == 65535 && cfg.egress_op == 3);
  CHECK_STR(cfg.egress_path, "/run/sandbox/e.sock");
  CHECK_STR(config_op_path(&cfg, 3), "/run/sandbox/e.sock");
  end();
}

int main(int argc, char **argv) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  test_all_ops(); /* first: its "no path" checks need op_paths[] untouched by earlier parses */
  test_minimal();
  test_values();
  test_newer_ops();
  test_limits();
  test_identity_ops();
  test_egress();
  test_malformed();
  test_errors();
  test_frame();
  if (argc > 1) {
    test_corpus(argv[1], "frame");
    test_corpus(argv[1], "argv");
  }
  test_reentry();
  test_too_many_tokens();
  drop(&live);
  printf("config_test: %d passed, %d failed\n", passed, failed);
  return failed ? 1 : 0;
}
