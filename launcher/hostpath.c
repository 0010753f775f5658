/* hostpath.c — the host side never follows a path a sandbox could have changed.
 *
 * The rule. A host path is walked from the host root one component at a time (walk.c,
 * O_PATH|O_NOFOLLOW). A symlink on the way is followed only when the directory holding it cannot
 * be written by any sandbox: it is owned by root — or, for a caller that is not root, by the
 * caller, whose sandboxes run as the caller anyway — and is neither group- nor other-writable (a
 * sticky bit alone does not make /tmp safe). Any other symlink fails the run, naming the path and
 * the link: the caller names the real path instead. At most 40 links; ".." is the parent of what
 * was actually reached. The result is the path with every symlink resolved, plus the identity
 * (st_dev, st_ino) of what it named.
 *
 * Where. The monitor does this before clone, with the host's real owners in view (inside the user
 * namespace every unmapped owner reads as the overflow uid, so root could not be told from another
 * run's uid). Init cannot use the monitor's plain fds — open_tree() and overlayfs only take mounts
 * of the caller's own mount namespace — so either the monitor clones the resolved object into a
 * detached mount init can attach (a root caller: idmap.c), or init reopens the resolved path with
 * RESOLVE_NO_SYMLINKS; both refuse anything whose identity changed. Everything is then handed to
 * the kernel by fd.
 *
 * Host dirs (an overlay's upper and work dir) are made here too, with mkdirat() in the walked
 * parent and chowned by fd to the ids the sandbox maps to. An existing one is used only if it is
 * a real directory; a symlink at its name is refused like any other. */
#include "hostpath.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "walk.h"

struct resolved {
  int op;           /* the mount's op index ... */
  const char *path; /* ... and which of its strings (src, upper, work): the key */
  char *real;       /* every symlink resolved */
  dev_t dev;
  ino_t ino;
  bool absent; /* a *-try source that does not exist */
};

static struct resolved table[MOUNTS_MAX * 3];
static size_t n_table;
static struct walk w; /* 12 KiB: static, not on the stack */
static uid_t caller;
static const char *refused_link;

static bool host_may_follow(const struct walk_rule *r, int dir, const struct stat *d, int link) {
  (void)r, (void)dir, (void)link;
  if (d->st_mode & (S_IWGRP | S_IWOTH)) return false;
  return d->st_uid == 0 || d->st_uid == caller;
}

static const struct walk_rule HOST_RULE = {.may_follow = host_may_follow};

/* Records a failure about `path` (errno is still the one that failed). */
static int failed(struct sbx_err *e, int step, int op, const char *path) {
  refused_link = w.refused ? w.link : NULL;
  if (w.refused) fail_errno(e, STEP_HOST_LINK, op, ELOOP);
  else fail(e, step, op);
  e->path = path;
  return -1;
}

const char *hostpath_refused_link(void) { return refused_link; }

static int resolve(int root, const struct mount_op *m, const char *path, bool dir, int step,
                   struct sbx_err *e) {
  bool optional = m->kind == M_RO_BIND_TRY || m->kind == M_COPY_TRY;
  struct resolved *r = &table[n_table];
  *r = (struct resolved){.op = m->op, .path = path};
  if (walk(root, path, 0, &HOST_RULE, &w) < 0) {
    if (!optional || w.refused || (errno != ENOENT && errno != ENOTDIR)) return failed(e, step, m->op, path);
    r->absent = true;
    n_table++;
    return 0;
  }
  close(w.fd);
  if (dir && !S_ISDIR(w.st.st_mode)) {
    errno = ENOTDIR;
    return failed(e, step, m->op, path);
  }
  if (!(r->real = strdup(w.real))) return failed(e, step, m->op, path);
  r->dev = w.st.st_dev;
  r->ino = w.st.st_ino;
  n_table++;
  return 0;
}

/* Whether the directory fd has no entry but "." and "..". */
static bool is_empty(int fd) {
  char buf[1024];
  long n;
  while ((n = syscall(SYS_getdents64, fd, buf, sizeof buf)) > 0)
    for (long off = 0; off < n;) {
      struct dirent64 *d = (struct dirent64 *)(buf + off);
      if (strcmp(d->d_name, ".") != 0 && strcmp(d->d_name, "..") != 0) return false;
      off += d->d_reclen;
    }
  return n == 0;
}

static int make_dir(int root, const struct config *cfg, const struct host_dir *d, struct sbx_err *e) {
  if (walk(root, d->path, WALK_PARENT, &HOST_RULE, &w) < 0) return failed(e, STEP_MKDIR, d->op, d->path);
  int parent cleanup_fd = w.fd;
  mode_t umask_was = umask(0); /* the mode is checked exactly below */
  bool made = mkdirat(parent, w.leaf, 0700) == 0;
  int saved = errno;
  umask(umask_was);
  errno = saved;
  if (!made && errno != EEXIST) return failed(e, STEP_MKDIR, d->op, d->path);
  int fd cleanup_fd = openat(parent, w.leaf, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  struct stat st;
  if (fd < 0) {
    /* A symlink in its place: whoever can write the parent may have planted it, so it is
     * never used, whatever the parent. */
    saved = errno;
    bool link = fstatat(parent, w.leaf, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode);
    errno = saved;
    if (link) walk_refuse(&w, w.leaf);
    return failed(e, STEP_MKDIR, d->op, d->path);
  }
  if (fstat(fd, &st) < 0) return failed(e, STEP_MKDIR, d->op, d->path);
  if (!made) return 0; /* an existing directory is used as it is */
  /* Still the one made above? A sandbox that can write the parent could have swapped in another
   * directory; one that is still ours, 0700 and empty is as good as a fresh one. */
  if (st.st_uid != caller || (st.st_mode & 07777) != 0700 || !is_empty(fd)) {
    errno = ESTALE;
    return failed(e, STEP_MKDIR, d->op, d->path);
  }
  uid_t uid = cfg->uid_map_set ? cfg->uid_outside : caller;
  gid_t gid = cfg->gid_map_set ? cfg->gid_outside : st.st_gid;
  if ((uid != st.st_uid || gid != st.st_gid) && fchown(fd, uid, gid) < 0)
    return failed(e, STEP_MKDIR, d->op, d->path);
  if (fchmod(fd, d->mode) < 0) return failed(e, STEP_MKDIR, d->op, d->path);
  return 0;
}

int hostpath_prepare(const struct config *cfg, struct sbx_err *e) {
  n_table = 0;
  w.refused = false;
  caller = geteuid();
  if (!cfg->n_mounts && !cfg->n_host_dirs) return 0;
  int root cleanup_fd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (root < 0) return fail(e, STEP_MOUNT_BASE, -1);
  /* Made first: an overlay below resolves them like any other host path. */
  for (size_t i = 0; i < cfg->n_host_dirs; i++)
    if (make_dir(root, cfg, &cfg->host_dirs[i], e) < 0) return -1;
  for (size_t i = 0; i < cfg->n_mounts; i++) {
    const struct mount_op *m = &cfg->mounts[i];
    int rc = 0;
    switch (m->kind) {
    case M_RO_BIND:
    case M_BIND:
    case M_RO_BIND_TRY:
    case M_COPY_TRY: rc = resolve(root, m, m->src, false, STEP_BIND, e); break;
    case M_OVERLAY:
      rc = resolve(root, m, m->src, true, STEP_OVERLAY, e);
      if (rc == 0 && m->upper) rc = resolve(root, m, m->upper, true, STEP_OVERLAY, e);
      if (rc == 0 && m->upper) rc = resolve(root, m, m->work, true, STEP_OVERLAY, e);
      break;
    default: break;
    }
    if (rc < 0) return -1;
  }
  return 0;
}

static const struct resolved *lookup(const struct mount_op *m, const char *path) {
  for (size_t i = 0; i < n_table; i++)
    if (table[i].op == m->op && table[i].path == path) return &table[i];
  return NULL;
}

/* fd (its stat in *st), or -1 with ESTALE when it is not the object r resolved. */
static int same_object(int fd, const struct resolved *r, struct stat *st) {
  struct stat own;
  if (!st) st = &own;
  if (fd >= 0 && (fstat(fd, st) < 0 || st->st_dev != r->dev || st->st_ino != r->ino)) {
    close(fd);
    return errno = ESTALE, -1;
  }
  return fd;
}

int hostpath_open_stat(int root, const struct mount_op *m, const char *path, int flags, struct stat *st) {
  const struct resolved *r = lookup(m, path);
  if (!r) return errno = EINVAL, -1; /* never resolved: refuse rather than guess */
  if (r->absent) return errno = ENOENT, -1;
  return same_object(walk_open_real(root, r->real, flags), r, st);
}

int hostpath_open(int root, const struct mount_op *m, const char *path, int flags) {
  return hostpath_open_stat(root, m, path, flags, NULL);
}

int hostpath_openat_leaf(int dirfd, const struct mount_op *m, const char *path, int flags) {
  const struct resolved *r = lookup(m, path);
  if (!r || r->absent || !r->real) return errno = EINVAL, -1;
  const char *slash = strrchr(r->real, '/');
  const char *leaf = slash ? slash + 1 : r->real;
  if (!*leaf) return errno = EINVAL, -1;
  return same_object(openat(dirfd, leaf, flags | O_NOFOLLOW | O_CLOEXEC), r, NULL);
}

const char *hostpath_real(const struct mount_op *m, const char *path) {
  const struct resolved *r = lookup(m, path);
  return r && !r->absent ? r->real : NULL;
}

int hostpath_open_rule(const char *path) {
  int root cleanup_fd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (root < 0) return -1;
  w.refused = false;
  if (walk(root, path, 0, &HOST_RULE, &w) < 0) return -1;
  return w.fd;
}
