/* mount.c — private root: fresh tmpfs, binds, tmpfs, overlay, proc, a minimal /dev, pivot_root,
 * old root detached. Host paths are reached under /oldroot after the first pivot (bubblewrap's
 * layout), so even binds of host /tmp work.
 *
 * No path is followed through a symlink that a sandbox could have planted:
 *  - Host paths (bind sources, overlay layers, rootfs entries) were resolved by the monitor
 *    before clone under the host rule (hostpath.c: a link is followed only in a directory that
 *    is root's — or the non-root caller's — and not group/other-writable). Here they are
 *    reopened without following any symlink, checked to be the same object, and handed to the
 *    kernel by fd: open_tree() for binds, fsconfig(FSCONFIG_SET_FD) for overlay layers. For a root
 *    caller the monitor already cloned them (detached, attributes set, id-mapped where asked:
 *    idmap.c) and init only attaches the trees.
 *  - Destinations are walked inside the new root one component at a time (walk.c). A symlink
 *    on the way is followed only on the launcher's own root tmpfs (the links it copied from the
 *    host, like /lib -> usr/lib) or on a read-only mount; one inside a writable bind or overlay
 *    is refused (STEP_DEST_LINK): another run sharing that directory could have planted it.
 *    Every mount is attached to the resulting fd (move_mount to an fd), and ".." never leaves
 *    the new root.
 * Filesystems are created with the new mount API (fsopen/fsconfig), one option per call. */
#include "mount.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/mount.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "hostpath.h"
#include "walk.h"

#define BASE "/tmp"
#define NEWROOT "/newroot"
#define OLDROOT "/oldroot"

static int sys_open_tree(int dfd, const char *path, unsigned flags) {
  return (int)syscall(SYS_open_tree, dfd, path, flags);
}
static int sys_mount_setattr(int dfd, const char *path, unsigned flags, struct mount_attr *a) {
  return (int)syscall(SYS_mount_setattr, dfd, path, flags, a, sizeof *a);
}
static int sys_move_mount(int from, const char *fp, int to, const char *tp, unsigned flags) {
  return (int)syscall(SYS_move_mount, from, fp, to, tp, flags);
}
static int sys_pivot_root(const char *new_root, const char *put_old) {
  return (int)syscall(SYS_pivot_root, new_root, put_old);
}
static int sys_fsopen(const char *type) { return (int)syscall(SYS_fsopen, type, FSOPEN_CLOEXEC); }
static int sys_fsconfig(int fd, unsigned cmd, const char *key, const char *value) {
  return (int)syscall(SYS_fsconfig, fd, cmd, key, value, 0);
}
static int sys_fsconfig_fd(int fd, const char *key, int value_fd) {
  return (int)syscall(SYS_fsconfig, fd, FSCONFIG_SET_FD, key, NULL, value_fd);
}
static int sys_fsmount(int fd, unsigned attrs) {
  return (int)syscall(SYS_fsmount, fd, FSMOUNT_CLOEXEC, attrs);
}

/* fds of the two roots while the tree is built (the scratch root is "/") and of the host's
 * /dev/null once a mask needed it, and the device of the new root's tmpfs: symlinks on it are
 * the launcher's own. */
static int newroot_fd = -1, oldroot_fd = -1, null_fd = -1;
static dev_t newroot_dev;

/* A fixed host path of the launcher's own (/dev/null …): no symlink is followed at all. */
static int open_fixed(const char *path) { return walk_open_real(oldroot_fd, path, O_PATH); }

/* A symlink on a destination's way is followed only where no sandbox can have planted it. */
static bool dst_may_follow(const struct walk_rule *r, int dir, const struct stat *dir_st, int link) {
  (void)r, (void)dir;
  if (dir_st->st_dev == newroot_dev) return true;
  struct statvfs sv;
  return fstatvfs(link, &sv) == 0 && (sv.f_flag & ST_RDONLY);
}

enum dst_kind { DST_DIR, DST_FILE, DST_PARENT, DST_EXISTING };

struct dst_make {
  enum dst_kind kind;
  unsigned mode;
};

/* Makes a missing component: parents as 0755 directories, the last one as a directory (mode)
 * or an empty file. */
static int dst_create(const struct walk_rule *r, int dir, const char *name, bool last) {
  const struct dst_make *d = r->ctx;
  if (!last || d->kind == DST_DIR) return mkdirat(dir, name, last ? d->mode : 0755);
  int fd = openat(dir, name, O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0444);
  return fd < 0 ? -1 : close(fd);
}

static struct walk dst_walk; /* 12 KiB: static, not on the stack */

/* The directory the last file, symlink or copy was made in (dst_parent()): its path as the op
 * named it (key) and as it resolved (real, normalized: no leading, trailing or double "/"). */
static struct {
  int fd;
  bool plain;
  char key[PATH_MAX];
  char real[PATH_MAX];
} parent_cache = {.fd = -1};

static void parent_cache_drop(void) {
  if (parent_cache.fd >= 0) close(parent_cache.fd);
  parent_cache.fd = -1;
}

/* in without leading, trailing or repeated slashes, into out (PATH_MAX). */
static void norm_path(char *out, const char *in) {
  size_t n = 0;
  for (const char *s = in; *s && n < PATH_MAX - 1; s++)
    if (*s != '/' || (n > 0 && out[n - 1] != '/')) out[n++] = *s;
  if (n > 0 && out[n - 1] == '/') n--;
  out[n] = '\0';
}

/* Something is mounted at `real` (as a walk resolved it): the cached parent goes if it is there
 * or below (what its path names is now the mount's). */
static void parent_cache_check(const char *real) {
  if (parent_cache.fd < 0) return;
  char t[PATH_MAX];
  norm_path(t, real);
  size_t n = strlen(t);
  if (n == 0 || (strncmp(parent_cache.real, t, n) == 0 && (parent_cache.real[n] == '\0' || parent_cache.real[n] == '/')))
    parent_cache_drop();
}

#define DST_ABSENT (-2) /* DST_EXISTING: there is nothing at dst */

/* Opens m->dst inside the new root, creating what is missing (DST_DIR, DST_FILE), or only if it
 * exists (DST_EXISTING, else DST_ABSENT). With DST_PARENT, returns the parent directory and
 * leaves the last component (*leaf) to the caller. The fd's stat is in *st when st is not NULL.
 * On failure, -1 and *e says why. */
static int open_dst(const struct mount_op *m, enum dst_kind kind, unsigned mode, const char **leaf,
                    struct stat *st, struct sbx_err *e) {
  const struct dst_make make = {kind, mode};
  const struct walk_rule rule = {dst_may_follow, kind == DST_EXISTING ? NULL : dst_create, &make};
  struct walk *w = &dst_walk;
  if (walk(newroot_fd, m->dst, kind == DST_PARENT ? WALK_PARENT : 0, &rule, w) < 0) {
    if (kind == DST_EXISTING && errno == ENOENT) return DST_ABSENT;
    return fail(e, w->refused ? STEP_DEST_LINK : STEP_MKDIR, m->op);
  }
  if (kind == DST_DIR && !S_ISDIR(w->st.st_mode)) {
    close(w->fd);
    return fail_errno(e, STEP_MKDIR, m->op, ENOTDIR);
  }
  /* Every other kind is a mount's target (or a directory's mode): a cached parent at or below
   * it may no longer be what its path names. */
  if (kind != DST_PARENT) parent_cache_check(w->real);
  if (leaf) *leaf = w->leaf;
  if (st) *st = w->st;
  return w->fd;
}

/* open_dst(DST_PARENT) through the cache: consecutive files, symlinks and copies in one directory
 * (the /etc copies, the root's symlinks) look it up once. The fd is the cache's: not closed by
 * the caller. Only an absolute walk_plain() path without a trailing "/" is a key. */
static int dst_parent(const struct mount_op *m, const char **leaf, struct sbx_err *e) {
  const char *p = m->dst, *slash = strrchr(p, '/');
  size_t plen = slash ? (size_t)(slash - p) : 0;
  bool plain = p[0] == '/' && slash[1] && strlen(slash + 1) <= NAME_MAX && plen < sizeof parent_cache.key &&
               walk_plain(p);
  if (plain && parent_cache.fd >= 0 && parent_cache.plain && strlen(parent_cache.key) == plen &&
      memcmp(parent_cache.key, p, plen) == 0) {
    *leaf = slash + 1;
    return parent_cache.fd;
  }
  int fd = open_dst(m, DST_PARENT, 0755, leaf, NULL, e);
  if (fd < 0) return -1;
  parent_cache_drop();
  parent_cache.fd = fd;
  parent_cache.plain = plain;
  if (plain) memcpy(parent_cache.key, p, plen);
  parent_cache.key[plain ? plen : 0] = '\0';
  norm_path(parent_cache.real, dst_walk.real);
  return fd;
}

/* Attaches a detached mount (from open_tree or fsmount) on top of the path behind target_fd. */
static int attach(int mnt_fd, int target_fd) {
  return sys_move_mount(mnt_fd, "", target_fd, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH);
}

/* A detached recursive clone of the tree at src_fd, with attrs set on all of it in one call. */
static int clone_tree(int src_fd, uint64_t attrs) {
  int fd = sys_open_tree(src_fd, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE | AT_EMPTY_PATH);
  if (fd < 0) return -1;
  struct mount_attr attr = {.attr_set = attrs};
  if (attrs && sys_mount_setattr(fd, "", AT_EMPTY_PATH | AT_RECURSIVE, &attr) < 0) {
    int saved = errno;
    close(fd);
    return errno = saved, -1;
  }
  return fd;
}

/* A new detached tmpfs. */
static int new_tmpfs(uint64_t size, unsigned mode, unsigned attrs) {
  int fs cleanup_fd = sys_fsopen("tmpfs");
  if (fs < 0) return -1;
  char v[32];
  snprintf(v, sizeof v, "%04o", mode);
  if (sys_fsconfig(fs, FSCONFIG_SET_STRING, "mode", v) < 0) return -1;
  if (size) {
    snprintf(v, sizeof v, "%llu", (unsigned long long)size);
    if (sys_fsconfig(fs, FSCONFIG_SET_STRING, "size", v) < 0) return -1;
  }
  if (sys_fsconfig(fs, FSCONFIG_CMD_CREATE, NULL, NULL) < 0) return -1;
  return sys_fsmount(fs, attrs | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV);
}

/* A bind whose source the monitor cloned (idmap.c): attributes already set, only attached. */
static int attach_cloned(const struct mount_op *m, struct sbx_err *e) {
  struct stat st;
  if (fstat(m->tree_fd, &st) < 0) return fail(e, STEP_BIND, m->op);
  int dst cleanup_fd = open_dst(m, S_ISDIR(st.st_mode) ? DST_DIR : DST_FILE, 0755, NULL, NULL, e);
  if (dst < 0) return -1;
  if (attach(m->tree_fd, dst) < 0) return fail(e, STEP_BIND, m->op);
  return 0;
}

static int mount_bind(const struct mount_op *m, struct sbx_err *e) {
  if (m->tree_fd >= 0) return attach_cloned(m, e);
  int src cleanup_fd = hostpath_open(oldroot_fd, m, m->src, O_PATH);
  if (src < 0) {
    if (m->kind == M_RO_BIND_TRY && (errno == ENOENT || errno == ENOTDIR)) return 0;
    return fail(e, STEP_BIND, m->op);
  }
  struct stat st;
  if (fstat(src, &st) < 0) return fail(e, STEP_BIND, m->op);
  int dst cleanup_fd = open_dst(m, S_ISDIR(st.st_mode) ? DST_DIR : DST_FILE, 0755, NULL, NULL, e);
  if (dst < 0) return -1;
  uint64_t attrs = MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV;
  if (m->kind != M_BIND) attrs |= MOUNT_ATTR_RDONLY;
  int tree cleanup_fd = clone_tree(src, attrs);
  if (tree < 0 || attach(tree, dst) < 0) return fail(e, STEP_BIND, m->op);
  return 0;
}

static int mount_tmpfs(const struct mount_op *m, struct sbx_err *e) {
  int dst cleanup_fd = open_dst(m, DST_DIR, 0755, NULL, NULL, e);
  if (dst < 0) return -1;
  int mnt cleanup_fd = new_tmpfs(m->size, m->mode, 0);
  if (mnt < 0 || attach(mnt, dst) < 0) return fail(e, STEP_TMPFS, m->op);
  return 0;
}

/* One overlay layer, by fd (6.13; O_PATH fds since 6.15). Older kernels get the fd's
 * /proc/self/fd path (with the single-layer "lowerdir" key), which the kernel resolves to exactly
 * that directory: no path of ours is looked up again. */
static int ovl_layer(int fs, const char *key, int fd) {
  if (sys_fsconfig_fd(fs, key, fd) == 0) return 0;
  char path[64];
  snprintf(path, sizeof path, OLDROOT "/proc/self/fd/%d", fd);
  return sys_fsconfig(fs, FSCONFIG_SET_STRING, strcmp(key, "lowerdir+") == 0 ? "lowerdir" : key, path);
}

static int ovl_dirs = 0;

/* Copy-on-write over a host directory. Without an upper dir, changes go to a private tmpfs that
 * vanishes with the run; with one (a host path, made by the monitor), they are kept there. */
/* A tree the monitor cloned (idmap.c), attached at a new directory of the scratch root: overlayfs
 * takes layers only from init's own mount namespace. The fd of the attached tree's root. */
static int attach_layer(int tree, const char *name) {
  int d cleanup_fd = -1;
  if (mkdir(name, 0700) < 0 || (d = open(name, O_PATH | O_DIRECTORY | O_CLOEXEC)) < 0 || attach(tree, d) < 0)
    return -1;
  return open(name, O_PATH | O_DIRECTORY | O_CLOEXEC);
}

static int mount_overlay(const struct mount_op *m, struct sbx_err *e) {
  int n = ovl_dirs++; /* this overlay's names on the scratch root */
  char name[64];
  int lower cleanup_fd = -1;
  if (m->tree_fd >= 0) {
    snprintf(name, sizeof name, "/ovl%d.lower", n);
    lower = attach_layer(m->tree_fd, name);
  } else {
    lower = hostpath_open(oldroot_fd, m, m->src, O_PATH | O_DIRECTORY);
  }
  if (lower < 0) return fail(e, STEP_OVERLAY, m->op);
  int upper cleanup_fd = -1, work cleanup_fd = -1;
  if (m->upper && m->upper_tree_fd >= 0) {
    /* The id-mapped parent of both dirs; each is checked to be what the monitor resolved. */
    snprintf(name, sizeof name, "/ovl%d.upper", n);
    int parent cleanup_fd = attach_layer(m->upper_tree_fd, name);
    upper = parent < 0 ? -1 : hostpath_openat_leaf(parent, m, m->upper, O_PATH | O_DIRECTORY);
    work = upper < 0 ? -1 : hostpath_openat_leaf(parent, m, m->work, O_PATH | O_DIRECTORY);
  } else if (m->upper) {
    upper = hostpath_open(oldroot_fd, m, m->upper, O_PATH | O_DIRECTORY);
    work = upper < 0 ? -1 : hostpath_open(oldroot_fd, m, m->work, O_PATH | O_DIRECTORY);
  } else {
    /* The private upper: a tmpfs on the scratch root, detached with it after the pivot (the
     * overlay keeps its own reference). */
    char dir[64];
    snprintf(dir, sizeof dir, "/ovl%d", n);
    if (mkdir(dir, 0700) < 0) return fail(e, STEP_OVERLAY, m->op);
    int t cleanup_fd = new_tmpfs(m->size, 0755, 0);
    int d cleanup_fd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (t < 0 || d < 0 || attach(t, d) < 0) return fail(e, STEP_OVERLAY, m->op);
    /* t is now the root of the attached tmpfs. */
    if (mkdirat(t, "upper", 0755) < 0 || mkdirat(t, "work", 0700) < 0) return fail(e, STEP_OVERLAY, m->op);
    upper = openat(t, "upper", O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    work = openat(t, "work", O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  }
  if (upper < 0 || work < 0) return fail(e, STEP_OVERLAY, m->op);
  int fs cleanup_fd = sys_fsopen("overlay");
  if (fs < 0 || ovl_layer(fs, "lowerdir+", lower) < 0 || ovl_layer(fs, "upperdir", upper) < 0 ||
      ovl_layer(fs, "workdir", work) < 0)
    return fail(e, STEP_OVERLAY, m->op);
  /* Inside a user namespace only user.* xattrs can be written (unprivileged overlay, 5.11). */
  if (sys_fsconfig(fs, FSCONFIG_SET_FLAG, "userxattr", NULL) < 0) return fail(e, STEP_OVERLAY, m->op);
  if (sys_fsconfig(fs, FSCONFIG_CMD_CREATE, NULL, NULL) < 0) return fail(e, STEP_OVERLAY, m->op);
  int mnt cleanup_fd = sys_fsmount(fs, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV);
  if (mnt < 0) return fail(e, STEP_OVERLAY, m->op);
  int dst cleanup_fd = open_dst(m, DST_DIR, 0755, NULL, NULL, e);
  if (dst < 0) return -1;
  if (attach(mnt, dst) < 0) return fail(e, STEP_OVERLAY, m->op);
  return 0;
}

static int mount_proc(const struct mount_op *m, struct sbx_err *e) {
  int dst cleanup_fd = open_dst(m, DST_DIR, 0555, NULL, NULL, e);
  if (dst < 0) return -1;
  /* A fresh proc for the new pid namespace: only the sandbox's processes are visible. */
  int fs cleanup_fd = sys_fsopen("proc");
  if (fs < 0 || sys_fsconfig(fs, FSCONFIG_CMD_CREATE, NULL, NULL) < 0) return fail(e, STEP_PROC, m->op);
  int mnt cleanup_fd = sys_fsmount(fs, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC);
  if (mnt < 0 || attach(mnt, dst) < 0) return fail(e, STEP_PROC, m->op);
  return 0;
}

/* Binds a path of the new root onto itself, read-only (bubblewrap's --remount-ro). A path that
 * does not exist has nothing to protect and is left. */
static int remount_ro(const struct mount_op *m, struct sbx_err *e) {
  int dst cleanup_fd = open_dst(m, DST_EXISTING, 0, NULL, NULL, e);
  if (dst == DST_ABSENT) return 0;
  if (dst < 0) return -1;
  int tree cleanup_fd = clone_tree(dst, MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV);
  if (tree < 0 || attach(tree, dst) < 0) return fail(e, STEP_REMOUNT, m->op);
  return 0;
}

/* Hides a path of the new root: an empty read-only tmpfs over a directory, the host's /dev/null
 * with nodev over a file (opening it fails with EACCES). A path that does not exist is left. */
static int mask(const struct mount_op *m, struct sbx_err *e) {
  struct stat st;
  int dst cleanup_fd = open_dst(m, DST_EXISTING, 0, NULL, &st, e);
  if (dst == DST_ABSENT) return 0;
  if (dst < 0) return -1;
  int mnt cleanup_fd = -1;
  if (S_ISDIR(st.st_mode)) {
    mnt = new_tmpfs(4096, 0555, MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOEXEC);
  } else {
    if (null_fd < 0) null_fd = open_fixed("/dev/null"); /* one for all the masks */
    mnt = null_fd < 0 ? -1 : clone_tree(null_fd, MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC);
  }
  if (mnt < 0 || attach(mnt, dst) < 0) return fail(e, STEP_MASK, m->op);
  return 0;
}

/* A minimal /dev: tmpfs with binds of the harmless host character devices (mknod is not
 * allowed in a user namespace), the fd links, a private devpts and shm; then read-only. */
static int mount_dev(const struct mount_op *m, struct sbx_err *e) {
  static const char *const nodes[] = {"null", "zero", "full", "random", "urandom", "tty"};
  static const char *const links[][2] = {
      {"/proc/self/fd", "fd"},     {"/proc/self/fd/0", "stdin"}, {"/proc/self/fd/1", "stdout"},
      {"/proc/self/fd/2", "stderr"}, {"pts/ptmx", "ptmx"},
  };
  static char s[64];
  int dst cleanup_fd = open_dst(m, DST_DIR, 0755, NULL, NULL, e);
  if (dst < 0) return -1;
  int dev cleanup_fd = new_tmpfs(1 << 20, 0755, MOUNT_ATTR_NOEXEC);
  if (dev < 0 || attach(dev, dst) < 0) return fail(e, STEP_DEV, m->op);
  /* dev is the root of the attached tmpfs: create and mount relative to it. */
  for (size_t i = 0; i < sizeof nodes / sizeof nodes[0]; i++) {
    snprintf(s, sizeof s, "/dev/%s", nodes[i]);
    int node cleanup_fd = openat(dev, nodes[i], O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0444);
    int src cleanup_fd = open_fixed(s);
    int tree cleanup_fd = src < 0 ? -1 : clone_tree(src, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOEXEC);
    if (node < 0 || tree < 0 || attach(tree, node) < 0) return fail(e, STEP_DEV, m->op);
  }
  for (size_t i = 0; i < sizeof links / sizeof links[0]; i++)
    if (symlinkat(links[i][0], dev, links[i][1]) < 0) return fail(e, STEP_DEV, m->op);
  if (mkdirat(dev, "pts", 0755) < 0 || mkdirat(dev, "shm", 0755) < 0) return fail(e, STEP_DEV, m->op);
  int pts_dir cleanup_fd = openat(dev, "pts", O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  int shm_dir cleanup_fd = openat(dev, "shm", O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (pts_dir < 0 || shm_dir < 0) return fail(e, STEP_DEV, m->op);
  int fs cleanup_fd = sys_fsopen("devpts");
  /* pty-max: this sandbox's own pty budget (the host's kernel.pty.max is shared by all). */
  snprintf(s, sizeof s, "%llu", (unsigned long long)m->pty_max);
  if (fs >= 0 && m->pty_max && sys_fsconfig(fs, FSCONFIG_SET_STRING, "max", s) < 0)
    return fail(e, STEP_DEV, m->op);
  if (fs < 0 || sys_fsconfig(fs, FSCONFIG_SET_FLAG, "newinstance", NULL) < 0 ||
      sys_fsconfig(fs, FSCONFIG_SET_STRING, "ptmxmode", "0666") < 0 ||
      sys_fsconfig(fs, FSCONFIG_SET_STRING, "mode", "620") < 0 ||
      sys_fsconfig(fs, FSCONFIG_CMD_CREATE, NULL, NULL) < 0)
    return fail(e, STEP_DEV, m->op);
  int pts cleanup_fd = sys_fsmount(fs, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOEXEC);
  if (pts < 0 || attach(pts, pts_dir) < 0) return fail(e, STEP_DEV, m->op);
  int shm cleanup_fd = new_tmpfs(64 << 20, 01777, 0);
  if (shm < 0 || attach(shm, shm_dir) < 0) return fail(e, STEP_DEV, m->op);
  /* The /dev tmpfs itself is read-only: no device nodes or files can be added. */
  struct mount_attr ro = {.attr_set = MOUNT_ATTR_RDONLY};
  if (sys_mount_setattr(dev, "", AT_EMPTY_PATH, &ro) < 0) return fail(e, STEP_DEV, m->op);
  return 0;
}

/* A small regular host file is copied into the (soon read-only) root tmpfs: a few cheap
 * syscalls instead of three mount operations under the namespace lock (~24 us each). Anything
 * else — a directory, a large or special file — is bound read-only, so the target sees the
 * same content either way. A missing source is skipped. */
#define COPY_MAX (256u << 10)
static int copy_file(const struct mount_op *m, struct sbx_err *e) {
  struct stat st;
  int src cleanup_fd = hostpath_open_stat(oldroot_fd, m, m->src, O_RDONLY | O_NOCTTY | O_NONBLOCK, &st);
  if (src < 0) {
    if (errno == ENOENT || errno == ENOTDIR) return 0;
    return fail(e, STEP_BIND, m->op);
  }
  if (!S_ISREG(st.st_mode) || (uint64_t)st.st_size > COPY_MAX) {
    struct mount_op bind = *m;
    bind.kind = M_RO_BIND_TRY;
    return mount_bind(&bind, e);
  }
  const char *leaf;
  int parent = dst_parent(m, &leaf, e);
  if (parent < 0) return -1;
  int out cleanup_fd = openat(parent, leaf, O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC,
                              (st.st_mode & 0555) | 0444);
  if (out < 0) return fail(e, STEP_BIND, m->op);
  for (off_t left = st.st_size; left > 0;) {
    ssize_t n = sendfile(out, src, NULL, (size_t)left);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return n < 0 ? fail(e, STEP_BIND, m->op) : 0; /* shrank meanwhile: keep what is there */
    left -= n;
  }
  return 0;
}

/* A file the caller wrote (the synthesized passwd, group, hosts): mode 0444 on the root tmpfs,
 * which turns read-only before the target runs. */
static int make_file(const struct mount_op *m, struct sbx_err *e) {
  const char *leaf;
  int parent = dst_parent(m, &leaf, e);
  if (parent < 0) return -1;
  int out cleanup_fd = openat(parent, leaf, O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0444);
  if (out < 0) return fail(e, STEP_BIND, m->op);
  size_t len = strlen(m->src);
  if (write_full(out, m->src, len) < 0) return fail(e, STEP_BIND, m->op);
  return 0;
}

static int make_symlink(const struct mount_op *m, struct sbx_err *e) {
  const char *leaf;
  int parent = dst_parent(m, &leaf, e);
  if (parent < 0) return -1;
  if (symlinkat(m->src, parent, leaf) < 0) return fail(e, STEP_SYMLINK, m->op);
  return 0;
}

static int make_dir(const struct mount_op *m, struct sbx_err *e) {
  int dst cleanup_fd = open_dst(m, DST_DIR, m->mode, NULL, NULL, e);
  if (dst < 0) return -1;
  /* An O_PATH fd cannot be chmod'ed; "." below it is the same directory, opened for real. */
  int dir cleanup_fd = openat(dst, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir < 0 || fchmod(dir, m->mode) < 0) return fail(e, STEP_MKDIR, m->op);
  return 0;
}

/* A detached read-only cgroup mount: cgroup2, or the v1 hierarchy of these controllers. Its root
 * is the cgroup namespace's, which init created at the run's own cgroup. */
static int new_cgroupfs(const char *controllers) {
  int fs cleanup_fd = sys_fsopen(controllers ? "cgroup" : "cgroup2");
  if (fs < 0) return -1;
  char list[128];
  if (controllers && snprintf(list, sizeof list, "%s", controllers) >= (int)sizeof list) return errno = E2BIG, -1;
  for (char *save = NULL, *c = controllers ? strtok_r(list, ",", &save) : NULL; c; c = strtok_r(NULL, ",", &save))
    if (sys_fsconfig(fs, FSCONFIG_SET_FLAG, c, NULL) < 0) return -1;
  if (sys_fsconfig(fs, FSCONFIG_CMD_CREATE, NULL, NULL) < 0) return -1;
  return sys_fsmount(fs, MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC);
}

/* The run's cgroup, read-only, where runtimes look for their limits (the JVM, Go, .NET, Node).
 * v2: one cgroup2 mount. v1: a small tmpfs with one mount per hierarchy that has a controller
 * the run is limited by (memory, pids, cpu, cpuacct) and cpuset (the JVM insists on it), named
 * as the hierarchy is (cpu,cpuacct);
 * the hierarchies come from /proc/self/cgroup. */
static int mount_cgroupfs(const struct mount_op *m, struct sbx_err *e) {
  int dst cleanup_fd = open_dst(m, DST_DIR, 0755, NULL, NULL, e);
  if (dst < 0) return -1;
  int self cleanup_fd = openat(oldroot_fd, "proc/self/cgroup", O_RDONLY | O_CLOEXEC);
  static char buf[4096];
  ssize_t n = self < 0 ? -1 : read_full(self, buf, sizeof buf - 1);
  if (n < 0) return fail(e, STEP_CGROUPFS, m->op);
  buf[n] = 0;
  bool v1 = false;
  for (char *line = buf; *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : line + strlen(line))
    if (strncmp(line, "0::", 3) != 0) v1 = true;
  if (!v1) {
    int mnt cleanup_fd = new_cgroupfs(NULL);
    if (mnt < 0 || attach(mnt, dst) < 0) return fail(e, STEP_CGROUPFS, m->op);
    return 0;
  }
  int top cleanup_fd = new_tmpfs(65536, 0755, MOUNT_ATTR_NOEXEC);
  if (top < 0 || attach(top, dst) < 0) return fail(e, STEP_CGROUPFS, m->op);
  for (char *save = NULL, *line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
    /* "ID:CONTROLLERS:PATH" */
    char *ctls = strchr(line, ':'), *end = ctls ? strchr(ctls + 1, ':') : NULL;
    if (!end || end == ctls + 1) continue;
    *end = 0;
    ctls++;
    bool wanted = false;
    static const char *const limited[] = {"memory", "pids", "cpu", "cpuacct", "cpuset"};
    char copy[128];
    snprintf(copy, sizeof copy, "%s", ctls);
    for (char *s2 = NULL, *c = strtok_r(copy, ",", &s2); c; c = strtok_r(NULL, ",", &s2))
      for (size_t k = 0; k < sizeof limited / sizeof limited[0]; k++) wanted |= strcmp(c, limited[k]) == 0;
    if (!wanted) continue;
    if (mkdirat(top, ctls, 0755) < 0) return fail(e, STEP_CGROUPFS, m->op);
    int at cleanup_fd = openat(top, ctls, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    int mnt cleanup_fd = at < 0 ? -1 : new_cgroupfs(ctls);
    if (mnt < 0 || attach(mnt, at) < 0) return fail(e, STEP_CGROUPFS, m->op);
  }
  struct mount_attr ro = {.attr_set = MOUNT_ATTR_RDONLY};
  if (sys_mount_setattr(top, "", AT_EMPTY_PATH, &ro) < 0) return fail(e, STEP_CGROUPFS, m->op);
  return 0;
}

static int apply_one(const struct mount_op *m, struct sbx_err *e) {
  switch (m->kind) {
  case M_RO_BIND:
  case M_BIND:
  case M_RO_BIND_TRY: return mount_bind(m, e);
  case M_TMPFS: return mount_tmpfs(m, e);
  case M_OVERLAY: return mount_overlay(m, e);
  case M_PROC: return mount_proc(m, e);
  case M_DEV: return mount_dev(m, e);
  case M_REMOUNT_RO: return remount_ro(m, e);
  case M_MASK: return mask(m, e);
  case M_SYMLINK: return make_symlink(m, e);
  case M_COPY_TRY: return copy_file(m, e);
  case M_DIR: return make_dir(m, e);
  case M_FILE: return make_file(m, e);
  case M_CGROUPFS: return mount_cgroupfs(m, e);
  }
  return 0;
}

int mount_apply(const struct config *cfg, struct sbx_err *e) {
  /* Nothing we mount may propagate back to the host. */
  if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0) return fail(e, STEP_MOUNT_PRIVATE, -1);
  /* A scratch tmpfs becomes the root for a moment; the host root moves to /oldroot. */
  if (mount("tmpfs", BASE, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755,size=1048576") < 0)
    return fail(e, STEP_MOUNT_BASE, -1);
  if (chdir(BASE) < 0) return fail(e, STEP_MOUNT_BASE, -1);
  if (mkdir("newroot", 0755) < 0 || mkdir("oldroot", 0755) < 0) return fail(e, STEP_MOUNT_BASE, -1);
  if (sys_pivot_root(".", "oldroot") < 0) return fail(e, STEP_PIVOT, -1);
  if (chdir("/") < 0) return fail(e, STEP_PIVOT, -1);
  /* Mount points and the small copied files (copy-try) live here; pages are used only when
   * written, and the tmpfs turns read-only before the target runs. */
  if (mount("tmpfs", NEWROOT, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755,size=4194304") < 0)
    return fail(e, STEP_MOUNT_BASE, -1);
  newroot_fd = open(NEWROOT, O_PATH | O_DIRECTORY | O_CLOEXEC);
  oldroot_fd = open(OLDROOT, O_PATH | O_DIRECTORY | O_CLOEXEC);
  struct stat st;
  if (newroot_fd < 0 || oldroot_fd < 0 || fstat(newroot_fd, &st) < 0) return fail(e, STEP_MOUNT_BASE, -1);
  newroot_dev = st.st_dev;
  /* Modes below are exact: the caller's umask must not change them. */
  mode_t saved_umask = umask(0);
  for (size_t i = 0; i < cfg->n_mounts; i++)
    if (apply_one(&cfg->mounts[i], e) < 0) {
      parent_cache_drop();
      return -1;
    }
  parent_cache_drop();
  umask(saved_umask);
  /* The trees the monitor cloned (idmap.c) are attached now: init keeps no handle on them. */
  for (size_t i = 0; i < cfg->n_mounts; i++) {
    if (cfg->mounts[i].tree_fd >= 0) close(cfg->mounts[i].tree_fd);
    if (cfg->mounts[i].upper_tree_fd >= 0) close(cfg->mounts[i].upper_tree_fd);
  }
  close(newroot_fd);
  close(oldroot_fd);
  if (null_fd >= 0) close(null_fd);
  null_fd = -1;
  /* The root itself is read-only: nothing can be created beside the mounts. */
  if (mount(NULL, NEWROOT, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV, NULL) < 0)
    return fail(e, STEP_REMOUNT, -1);
  /* Make /newroot the root: pivot_root(".", ".") stacks the scratch root, with the host root
   * at /oldroot below it, on the new one, and one detach takes both away (one unmount, so one
   * RCU grace period the kernel waits for, not two). */
  if (chdir(NEWROOT) < 0) return fail(e, STEP_PIVOT, -1);
  if (sys_pivot_root(".", ".") < 0) return fail(e, STEP_PIVOT, -1);
  if (umount2(".", MNT_DETACH) < 0) return fail(e, STEP_PIVOT, -1);
  if (chdir("/") < 0) return fail(e, STEP_PIVOT, -1);
  return 0;
}
