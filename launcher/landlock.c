/* landlock.c — a Landlock domain from the config's ops. The handled rights come from TypeScript,
 * already cut to what the kernel's ABI knows (an unknown bit makes the kernel refuse the ruleset:
 * fail closed). Rules on a file get only the rights that apply to files, so single-file rules
 * (/etc/passwd, /dev/null) work: the kernel refuses directory rights on a file with EINVAL. */
#include "landlock.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/landlock.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

/* Our own copies of the ABI structs and bits: the build host's headers may predate them. */
struct ll_ruleset_attr {
  uint64_t handled_access_fs;
  uint64_t handled_access_net; /* ABI 4 */
  uint64_t scoped;             /* ABI 6 */
};

struct ll_path_beneath_attr {
  uint64_t allowed_access;
  int32_t parent_fd;
} __attribute__((packed));

#define LL_RULE_PATH_BENEATH 1
/* EXECUTE, WRITE_FILE, READ_FILE, TRUNCATE (ABI 3), IOCTL_DEV (ABI 5). */
#define LL_FILE_RIGHTS ((1ull << 0) | (1ull << 1) | (1ull << 2) | (1ull << 14) | (1ull << 15))

static int add_rule(int ruleset, const struct landlock_rule *r, landlock_opener open_path,
                    struct sbx_err *e) {
  int fd cleanup_fd = open_path ? open_path(r->path) : open(r->path, O_PATH | O_CLOEXEC);
  if (fd < 0) {
    if (r->optional && (errno == ENOENT || errno == ENOTDIR)) return 0;
    return fail(e, STEP_LANDLOCK, r->op);
  }
  struct stat st;
  if (fstat(fd, &st) < 0) return fail(e, STEP_LANDLOCK, r->op);
  struct ll_path_beneath_attr pb = {r->rights, fd};
  if (!S_ISDIR(st.st_mode)) pb.allowed_access &= LL_FILE_RIGHTS;
  if (!pb.allowed_access) return 0;
  if (syscall(SYS_landlock_add_rule, ruleset, LL_RULE_PATH_BENEATH, &pb, 0) < 0)
    return fail(e, STEP_LANDLOCK, r->op);
  return 0;
}

/* stdio-fifos: the target may reopen its own stdio FIFOs (/dev/stdout is /proc/self/fd/1, a path
 * walk to the FIFO in the host's state dir, which no path rule covers): a rule on each of fds 0-2
 * itself, read and write, and nothing beneath (a FIFO is not a directory). An empty stdin is an
 * anonymous pipe, which Landlock does not govern. */
static int add_stdio_rules(int ruleset, const struct config *cfg, int stdio_from, struct sbx_err *e) {
  uint64_t rw = ((1ull << 1) | (1ull << 2)) & cfg->landlock_fs;
  for (int fd = stdio_from; rw && fd <= 2; fd++) {
    struct ll_path_beneath_attr pb = {rw, fd};
    if (syscall(SYS_landlock_add_rule, ruleset, LL_RULE_PATH_BENEATH, &pb, 0) < 0)
      return fail(e, STEP_LANDLOCK, cfg->stdio_op);
  }
  return 0;
}

int landlock_build(const struct config *cfg, landlock_opener open_path, struct sbx_err *e) {
  if (!cfg->landlock) return -1;
  struct ll_ruleset_attr attr = {cfg->landlock_fs, cfg->landlock_net, cfg->landlock_scope};
  /* The smallest struct that carries what is asked: older kernels refuse bigger ones only when
   * the extra fields are non-zero, but a smaller size keeps the error E2BIG-free and obvious. */
  size_t size = cfg->landlock_scope ? sizeof attr
                : cfg->landlock_net ? offsetof(struct ll_ruleset_attr, scoped)
                                    : offsetof(struct ll_ruleset_attr, handled_access_net);
  int ruleset = (int)syscall(SYS_landlock_create_ruleset, &attr, size, 0);
  if (ruleset < 0) return fail(e, STEP_LANDLOCK, -1);
  for (size_t i = 0; i < cfg->n_landlock_rules; i++)
    if (add_rule(ruleset, &cfg->landlock_rules[i], open_path, e) < 0) {
      close(ruleset);
      return -1;
    }
  return ruleset;
}

int landlock_restrict(int ruleset, const struct config *cfg, int stdio_from, struct sbx_err *e) {
  if (!cfg->landlock) return 0;
  if (ruleset < 0) return e->step ? -1 : fail_errno(e, STEP_LANDLOCK, -1, EBADF);
  if (add_stdio_rules(ruleset, cfg, stdio_from, e) < 0) return -1;
  /* Needs no_new_privs (set just before) or CAP_SYS_ADMIN. */
  if (syscall(SYS_landlock_restrict_self, ruleset, 0) < 0) return fail(e, STEP_LANDLOCK, -1);
  return 0;
}
