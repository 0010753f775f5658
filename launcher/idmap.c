/* idmap.c — bind sources and overlay layers, cloned by the monitor and, where asked, id-mapped.
 *
 * Why the monitor. It runs as the caller, before any process of the sandbox exists: a root
 * caller's source under /root or a 0700 directory opens whatever the run's own uid could
 * traverse. And only it can id-map: mount_setattr(MOUNT_ATTR_IDMAP) needs CAP_SYS_ADMIN over the
 * filesystem's user namespace (the host's, for ext4 and every other disk filesystem), which init
 * in the sandbox's user namespace never has. open_tree(OPEN_TREE_CLONE) makes a detached copy
 * (its own anonymous mount namespace); init, which inherits the fd across clone, attaches it
 * with move_mount (mount.c). An overlay cannot use a layer of another mount namespace that init
 * does not own (clone_private_mount: EPERM), so init attaches the layers on its scratch root
 * first.
 *
 * The mapping. A user namespace of its own, made for the run by a helper child, maps exactly one
 * uid and one gid: the caller's euid/egid (what files carry on disk) to the host ids the sandbox's
 * uid/gid map to. Through the mount, a file of the caller's is the sandbox user's inside, and one
 * the sandbox makes is the caller's on disk; files of anyone else show as the overflow id and
 * cannot be changed or made (EOVERFLOW). Host root gains nothing inside: the sandbox still runs as
 * its own host uid with no capability outside its namespace; only what the files on this mount
 * say about their owner is translated.
 *
 * Hostile targets (SECURITY.md, "Id-mapped mounts"): the policy asks for id-mapping for a root
 * caller only under a seccomp filter, which refuses set-id modes and every way to a nested user
 * namespace (whose root could write security.capability); binds stay nosuid,nodev; hard links
 * never cross a mount (EXDEV); the source is the object hostpath.c resolved (identity checked). */
#include "idmap.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/mount.h>
#include <linux/sched.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "hostpath.h"
#include "status.h"
#include "walk.h"

static int sys_open_tree(int dfd, const char *path, unsigned flags) {
  return (int)syscall(SYS_open_tree, dfd, path, flags);
}
static int sys_mount_setattr(int dfd, unsigned flags, struct mount_attr *a) {
  return (int)syscall(SYS_mount_setattr, dfd, "", flags | AT_EMPTY_PATH, a, sizeof *a);
}

/* The helper child that made the mapping, reaped by idmap_close. */
static pid_t helper;

/* A user namespace mapping the caller's euid/egid to the sandbox's host ids: a helper child gets
 * it at clone, the monitor (root outside) writes its maps and keeps an fd, then lets it go. The
 * namespace exists once clone3 returns, so the monitor never waits for the helper to run (on a
 * busy host that wait is milliseconds); the helper exits when it sees the pipe's end of file. */
static int mapping_userns(const struct config *cfg) {
  int go[2];
  if (pipe2(go, O_CLOEXEC) < 0) return -1;
  struct clone_args args = {.flags = CLONE_NEWUSER, .exit_signal = SIGCHLD};
  long pid = syscall(SYS_clone3, &args, sizeof args);
  if (pid == 0) {
    char c;
    /* Nothing of the monitor's stays open here but the pipe (the host-ids lock among them). */
    if (go[0] > 3) (void)close_fds(3, (unsigned)go[0] - 1, false);
    (void)close_fds((unsigned)go[0] + 1, ~0U, false);
    /* End of file: the monitor is done (or died). */
    _exit(read(go[0], &c, 1) < 0);
  }
  int saved = errno, fd = -1;
  close(go[0]);
  if (pid > 0) {
    char path[64], map[64];
    snprintf(map, sizeof map, "%u %u 1", (unsigned)geteuid(), cfg->uid_outside);
    snprintf(path, sizeof path, "/proc/%ld/uid_map", pid);
    if (write_file(path, map) == 0) {
      snprintf(map, sizeof map, "%u %u 1", (unsigned)getegid(), cfg->gid_outside);
      snprintf(path, sizeof path, "/proc/%ld/gid_map", pid);
      if (write_file(path, map) == 0) {
        snprintf(path, sizeof path, "/proc/%ld/ns/user", pid);
        fd = open(path, O_RDONLY | O_CLOEXEC);
      }
    }
    saved = errno;
  }
  close(go[1]);
  if (pid > 0) helper = (pid_t)pid;
  errno = saved;
  return fd;
}

struct idmap_state {
  struct config *cfg;
  int status_fd;
  int root;     /* the host root */
  int userns;   /* the mapping, made on first use; -1 */
  int userns_err;
  bool cloning; /* false once open_tree was refused: init opens the sources */
};

/* The attributes of a detached tree, id-mapped when idmap: 0, or -1 with errno. Always private: a
 * clone of a shared host mount is its peer, and mounts made on it inside (a tmpfs below a bind)
 * would appear on the host, and the host's inside. (init makes its own mount namespace private
 * before it mounts anything; these trees come from the monitor's, the host's.) */
static int set_attrs(struct idmap_state *s, int tree, uint64_t attrs, bool idmap, bool recursive) {
  struct mount_attr a = {.attr_set = attrs, .propagation = MS_PRIVATE};
  if (idmap) {
    if (s->userns < 0 && !s->userns_err) {
      s->userns = mapping_userns(s->cfg);
      if (s->userns < 0) s->userns_err = errno ? errno : EPERM;
    }
    if (s->userns < 0) return errno = s->userns_err, -1;
    a.attr_set |= MOUNT_ATTR_IDMAP;
    a.userns_fd = (uint64_t)s->userns;
  }
  return sys_mount_setattr(tree, recursive ? AT_RECURSIVE : 0, &a);
}

/* Refusals met before there was a status file (a warm launcher's prepared run): recorded once the
 * request names it (idmap_replay_status()). One at most per mount op. */
static struct unrecorded {
  int op, err;
} unrecorded[MOUNTS_MAX];
static size_t n_unrecorded;

/* A failed id-mapping of mount m: the run fails (required), or it is recorded and the mount goes
 * on as it would without (m->idmap cleared). */
static int refused(struct idmap_state *s, struct mount_op *m, int err, struct sbx_err *e) {
  if (s->cfg->idmap_required) {
    fail_errno(e, STEP_IDMAP, m->op, err);
    e->path = m->src;
    return -1;
  }
  if (s->status_fd >= 0) status_idmap(s->status_fd, m->op, err);
  else if (n_unrecorded < MOUNTS_MAX) unrecorded[n_unrecorded++] = (struct unrecorded){m->op, err};
  m->idmap = false;
  return 0;
}

void idmap_replay_status(int status_fd) {
  for (size_t i = 0; i < n_unrecorded; i++) status_idmap(status_fd, unrecorded[i].op, unrecorded[i].err);
}

/* A detached clone of the tree at fd with attrs (and the mapping, when m->idmap and the
 * filesystem takes it): the fd, -2 when this caller cannot clone mounts, or -1 with *e set. */
static int clone_source(struct idmap_state *s, struct mount_op *m, int fd, uint64_t attrs, bool recursive,
                        int step, struct sbx_err *e) {
  int tree = sys_open_tree(fd, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH | (recursive ? AT_RECURSIVE : 0));
  if (tree < 0 && errno == EPERM) return -2;
  if (tree < 0) return fail(e, step, m->op);
  if (m->idmap && set_attrs(s, tree, attrs, true, recursive) == 0) return tree;
  int err = errno;
  if (m->idmap && refused(s, m, err, e) < 0) {
    close(tree);
    return -1;
  }
  if (set_attrs(s, tree, attrs, false, recursive) < 0) {
    fail(e, step, m->op);
    close(tree);
    return -1;
  }
  return tree;
}

/* The parent directory of an overlay's upper and work dirs (which overlayfs wants on one mount),
 * cloned and id-mapped; -1 with errno when they do not share a parent or it cannot be mapped. */
static int upper_tree(struct idmap_state *s, const struct mount_op *m) {
  const char *upper = hostpath_real(m, m->upper), *work = hostpath_real(m, m->work);
  if (!upper || !work) return errno = EINVAL, -1;
  const char *us = strrchr(upper, '/'), *ws = strrchr(work, '/');
  size_t n = us ? (size_t)(us - upper) : 0;
  if ((ws ? (size_t)(ws - work) : 0) != n || strncmp(upper, work, n) != 0) return errno = EXDEV, -1;
  char parent[PATH_MAX];
  snprintf(parent, sizeof parent, "%.*s", (int)n, upper);
  int dir cleanup_fd = walk_open_real(s->root, parent, O_PATH | O_DIRECTORY);
  if (dir < 0) return -1;
  int tree = sys_open_tree(dir, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH);
  if (tree < 0) return -1;
  if (set_attrs(s, tree, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV, true, false) < 0) {
    int err = errno;
    close(tree);
    return errno = err, -1;
  }
  return tree;
}

/* An id-mapped overlay's kept dirs become the caller's again: the launcher made them for the
 * run's ids (hostpath.c), or an earlier run without id-mapping was given them (ids.c). Dirs of
 * anyone else are left as they are. */
static int own_upper(struct idmap_state *s, struct mount_op *m, struct sbx_err *e) {
  const struct config *cfg = s->cfg;
  const char *dirs[2] = {m->upper, m->work};
  for (int k = 0; k < 2; k++) {
    int fd cleanup_fd = hostpath_open(s->root, m, dirs[k], O_PATH | O_DIRECTORY);
    struct stat st;
    bool runs = false;
    if (fd >= 0 && fstat(fd, &st) == 0)
      runs = st.st_uid == cfg->uid_outside ||
             (cfg->host_ids_count && st.st_uid - cfg->host_uid_start < cfg->host_ids_count);
    if (fd < 0 || (runs && fchownat(fd, "", geteuid(), getegid(), AT_EMPTY_PATH) < 0)) {
      fail(e, STEP_IDMAP, m->op);
      e->path = dirs[k];
      return -1;
    }
  }
  return 0;
}

static int prepare_overlay(struct idmap_state *s, struct mount_op *m, struct sbx_err *e) {
  /* The upper first: an overlay is id-mapped whole or not at all. */
  if (m->idmap && m->upper) {
    m->upper_tree_fd = s->cloning ? upper_tree(s, m) : (errno = EPERM, -1);
    if (m->upper_tree_fd < 0 && refused(s, m, errno, e) < 0) return -1;
    if (m->upper_tree_fd >= 0 && own_upper(s, m, e) < 0) return -1;
  }
  if (!s->cloning) return m->idmap ? refused(s, m, EPERM, e) : 0;
  int lower cleanup_fd = hostpath_open(s->root, m, m->src, O_PATH | O_DIRECTORY);
  if (lower < 0) {
    fail(e, STEP_OVERLAY, m->op);
    e->path = m->src;
    return -1;
  }
  int tree = clone_source(s, m, lower, MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV, true,
                          STEP_OVERLAY, e);
  if (tree == -2) s->cloning = false;
  if (tree == -2) return m->idmap ? refused(s, m, EPERM, e) : 0;
  if (tree < 0) return -1;
  m->tree_fd = tree;
  if (!m->idmap && m->upper_tree_fd >= 0) {
    /* The lower layer refused: the kept dirs go to the run's ids again (ids.c). */
    close(m->upper_tree_fd);
    m->upper_tree_fd = -1;
  }
  return 0;
}

static int prepare_bind(struct idmap_state *s, struct mount_op *m, struct sbx_err *e) {
  if (!s->cloning) return m->idmap ? refused(s, m, EPERM, e) : 0;
  int src cleanup_fd = hostpath_open(s->root, m, m->src, O_PATH);
  if (src < 0 && m->kind == M_RO_BIND_TRY && errno == ENOENT) return 0;
  if (src < 0) {
    fail(e, STEP_BIND, m->op);
    e->path = m->src;
    return -1;
  }
  uint64_t attrs = MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | (m->kind == M_BIND ? 0 : MOUNT_ATTR_RDONLY);
  int tree = clone_source(s, m, src, attrs, true, STEP_BIND, e);
  if (tree == -2) s->cloning = false;
  if (tree == -2) return m->idmap ? refused(s, m, EPERM, e) : 0;
  if (tree < 0) return -1;
  m->tree_fd = tree;
  return 0;
}

int idmap_prepare(struct config *cfg, int status_fd, struct sbx_err *e) {
  if (!cfg->newroot || !cfg->n_mounts) return 0;
  struct idmap_state s = {.cfg = cfg, .status_fd = status_fd, .userns = -1, .cloning = true};
  s.root = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (s.root < 0) return fail(e, STEP_MOUNT_BASE, -1);
  int rc = 0;
  for (size_t i = 0; i < cfg->n_mounts && rc == 0; i++) {
    struct mount_op *m = &cfg->mounts[i];
    switch (m->kind) {
    case M_RO_BIND:
    case M_BIND:
    case M_RO_BIND_TRY: rc = prepare_bind(&s, m, e); break;
    case M_OVERLAY: rc = prepare_overlay(&s, m, e); break;
    default: break;
    }
  }
  close(s.root);
  if (s.userns >= 0) close(s.userns); /* each mount holds its own reference */
  if (rc < 0) idmap_close(cfg);
  return rc;
}

size_t idmap_fds(const struct config *cfg, int *fds, size_t cap) {
  size_t n = 0;
  for (size_t i = 0; i < cfg->n_mounts; i++) {
    const struct mount_op *m = &cfg->mounts[i];
    if (m->tree_fd >= 0 && n < cap) fds[n++] = m->tree_fd;
    if (m->upper_tree_fd >= 0 && n < cap) fds[n++] = m->upper_tree_fd;
  }
  return n;
}

void idmap_close(struct config *cfg) {
  /* Reaped if it is done; else a zombie until the monitor exits (it holds nothing). */
  if (helper > 0) (void)waitpid(helper, NULL, WNOHANG);
  helper = 0;
  for (size_t i = 0; i < cfg->n_mounts; i++) {
    struct mount_op *m = &cfg->mounts[i];
    if (m->tree_fd >= 0) close(m->tree_fd);
    if (m->upper_tree_fd >= 0) close(m->upper_tree_fd);
    m->tree_fd = m->upper_tree_fd = -1;
  }
}
