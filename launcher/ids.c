/* ids.c — the host identity of a run, set up by the monitor before clone.
 *
 * Groups: a root caller's supplementary groups (gid 0 among them) would stay with the sandbox,
 * so a file readable by group root would be readable inside. The monitor drops them all.
 *
 * Host ids: every run of a root caller gets its own host uid/gid pair, so no two sandboxes (and
 * no local user running a setuid-nobody program) share an identity: no signals or ptrace between
 * them, no shared per-user budgets (pipe buffers, epoll watches, inotify, RLIMIT_NPROC). A pair
 * is taken with two OFD byte-range locks (offset = uid, and 2^32 + gid) on one file in a
 * root-owned 0700 directory: exclusive among concurrent launchers, released by the kernel when
 * the monitor exits or dies, and nothing accumulates on disk. The search starts at a random
 * index, so consecutive runs rarely reuse an id. */
#include "ids.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <sched.h>
#include <signal.h>
#include <sys/fsuid.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include "hostpath.h"

/* The state dir, created when missing; refused unless it is a real root-owned directory that
 * no one else can enter (someone who could would control the lock file). */
static int open_state_dir(struct sbx_err *e, int op) {
  if (mkdir(SBX_STATE_DIR, 0700) < 0 && errno != EEXIST) return fail(e, STEP_HOST_IDS, op);
  int dir = open(SBX_STATE_DIR, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (dir < 0) return fail(e, STEP_HOST_IDS, op);
  struct stat st;
  int err = fstat(dir, &st) < 0 ? errno : st.st_uid != 0 || (st.st_mode & 077) != 0 ? EPERM : 0;
  if (err) {
    close(dir);
    return fail_errno(e, STEP_HOST_IDS, op, err);
  }
  return dir;
}

static int open_lock_file(struct sbx_err *e, int op) {
  int dir cleanup_fd = open_state_dir(e, op);
  if (dir < 0) return -1;
  int fd = openat(dir, SBX_HOST_IDS_LOCK, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) return fail(e, STEP_HOST_IDS, op);
  struct stat st;
  if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_uid != 0 || (st.st_mode & 077) != 0) {
    close(fd);
    return fail_errno(e, STEP_HOST_IDS, op, EPERM);
  }
  return fd;
}

/* Lock offsets: uid u at u, gid g at GID_LOCKS + g. */
#define GID_LOCKS (1ull << 32)

/* One byte of the lock file, locked or unlocked; 0, or -1 when another run holds it. */
static int lock_byte(int fd, uint64_t offset, short type) {
  struct flock fl = {.l_type = type, .l_whence = SEEK_SET, .l_start = (off_t)offset, .l_len = 1};
  return fcntl(fd, F_OFD_SETLK, &fl);
}

int ids_own_kept_dirs(const struct config *cfg, const struct host_ids *ids, struct sbx_err *e) {
  if (!ids->allocated) return 0;
  int root cleanup_fd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (root < 0) return fail(e, STEP_HOST_IDS, cfg->host_ids_op);
  for (size_t i = 0; i < cfg->n_mounts; i++) {
    const struct mount_op *m = &cfg->mounts[i];
    const char *dirs[2] = {m->upper, m->work};
    /* An id-mapped overlay's dirs stay the caller's (idmap.c). */
    for (int k = 0; k < 2 && m->kind == M_OVERLAY && m->upper && !m->idmap; k++) {
      int fd cleanup_fd = hostpath_open(root, m, dirs[k], O_PATH | O_DIRECTORY);
      struct stat st;
      int err = fd < 0 || fstat(fd, &st) < 0 ? errno
                : st.st_uid != 0 && st.st_uid - cfg->host_uid_start >= cfg->host_ids_count ? EPERM
                : fchownat(fd, "", cfg->uid_outside, cfg->gid_outside, AT_EMPTY_PATH) < 0 ? errno
                : 0;
      if (err) {
        fail_errno(e, STEP_HOST_IDS, m->op, err);
        e->path = dirs[k];
        return -1;
      }
    }
  }
  return 0;
}

static uint32_t random_index(uint32_t count) {
  uint32_t r;
  if (getrandom(&r, sizeof r, GRND_NONBLOCK) != (ssize_t)sizeof r)
    r = (uint32_t)getpid() ^ (uint32_t)time(NULL) * 2654435761u;
  return r % count;
}

static int allocate(struct config *cfg, struct host_ids *ids, struct sbx_err *e) {
  int fd = open_lock_file(e, cfg->host_ids_op);
  if (fd < 0) return -1;
  uint32_t first = random_index(cfg->host_ids_count);
  for (uint32_t i = 0; i < cfg->host_ids_count; i++) {
    uint32_t k = (first + i) % cfg->host_ids_count;
    uint32_t uid = cfg->host_uid_start + k, gid = cfg->host_gid_start + k;
    if (lock_byte(fd, uid, F_WRLCK) < 0) {
      if (errno == EAGAIN || errno == EACCES) continue;
      break;
    }
    if (lock_byte(fd, GID_LOCKS + gid, F_WRLCK) < 0) {
      int err = errno;
      (void)lock_byte(fd, uid, F_UNLCK);
      if (err == EAGAIN || err == EACCES) continue;
      errno = err;
      break;
    }
    ids->lock_fd = fd;
    ids->allocated = true;
    cfg->uid_outside = uid;
    cfg->gid_outside = gid;
    if (!(cfg->ns_flags & CLONE_NEWUSER)) {
      /* No user namespace: the target itself runs as the pair (child.c drop_privileges). */
      cfg->run_uid_set = cfg->run_gid_set = true;
      cfg->run_uid = uid;
      cfg->run_gid = gid;
    }
    return 0;
  }
  int err = errno;
  close(fd);
  /* The whole range was tried: every pair is held by a running sandbox. */
  return fail_errno(e, STEP_HOST_IDS, cfg->host_ids_op, err == EAGAIN || err == EACCES ? EUSERS : err);
}

/* After setgroups() was refused: whether root would hand the sandbox groups besides its own gid
 * (root without CAP_SETGID, e.g. in a container that denies setgroups). Then fail closed rather
 * than let them through silently; errno stays EPERM for the report. */
static bool root_keeps_groups(void) {
  if (geteuid() != 0) return false;
  gid_t list[64];
  int n = getgroups(64, list);
  for (int i = 0; i < n; i++)
    if (list[i] != getegid()) return errno = EPERM, true;
  return n < 0 ? (errno = EPERM, true) : false;
}

int ids_prepare(struct config *cfg, struct host_ids *ids, struct sbx_err *e) {
  /* A root caller's groups never reach the sandbox. An unprivileged caller cannot drop its own
   * (EPERM, and in the user namespace it maps itself setgroups must be denied): they stay, shown
   * inside as the overflow gid, confined like every other access by the mounts and Landlock. */
  if (setgroups(0, NULL) < 0 && (errno != EPERM || root_keeps_groups()))
    return fail(e, STEP_SETGID, -1);
  return cfg->host_ids_count ? allocate(cfg, ids, e) : 0;
}

int ids_owner_enter(const struct config *cfg, struct host_ids *ids, struct sbx_err *e) {
  if (!ids->allocated || !(cfg->ns_flags & CLONE_NEWUSER)) return 0;
  ids->ppid = getppid();
  /* Effective uid only: the real and saved uids stay 0, so leave can switch back. The
   * filesystem uid stays 0 for clone's own checks (CLONE_INTO_CGROUP writes cgroup.procs). */
  if (setresuid((uid_t)-1, cfg->uid_outside, (uid_t)-1) < 0) return fail(e, STEP_SETUID, -1);
  (void)setfsuid(0);
  if ((uid_t)setfsuid((uid_t)-1) != 0) {
    struct sbx_err ignored;
    (void)ids_owner_leave(ids, &ignored);
    return fail_errno(e, STEP_SETUID, -1, EPERM);
  }
  return 0;
}

int ids_owner_leave(struct host_ids *ids, struct sbx_err *e) {
  if (!ids->ppid) return 0;
  pid_t ppid = ids->ppid;
  ids->ppid = 0;
  if (setresuid((uid_t)-1, 0, (uid_t)-1) < 0) return fail(e, STEP_SETUID, -1);
  /* Die with the parent again; a parent that died meanwhile sent nothing we would have seen. */
  if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0) return fail(e, STEP_SIGNALS, -1);
  if (getppid() != ppid) return fail_errno(e, STEP_SIGNALS, -1, ESRCH);
  return 0;
}
