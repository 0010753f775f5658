/* mount.c — private root: fresh tmpfs, binds via the new mount API (recursive read-only in one
 * call), proc, a minimal /dev, pivot_root, old root detached. Host paths are reached under
 * /oldroot after the first pivot (bubblewrap's layout), so even binds of host /tmp work. */
#include "mount.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/mount.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

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

static char pbuf[2][4160]; /* config caps paths at 4095 bytes */

/* "/newroot" + dst, or "/oldroot" + src; paths were validated (absolute, no ..) by config. */
static const char *join(int slot, const char *prefix, const char *path) {
  snprintf(pbuf[slot], sizeof pbuf[slot], "%s%s", prefix, path);
  return pbuf[slot];
}

/* mkdir -p, refusing to follow symlinks on the way: the new root is ours, so every component
 * we create is a plain directory; an existing symlink component is an error (ELOOP). */
static int mkdir_p(char *path, unsigned mode) {
  for (char *p = path + 1;; p++) {
    if (*p == '/' || *p == '\0') {
      char saved = *p;
      *p = '\0';
      struct stat st;
      if (lstat(path, &st) < 0) {
        if (errno != ENOENT || mkdir(path, saved ? 0755 : mode) < 0) return -1;
      } else if (!S_ISDIR(st.st_mode)) {
        errno = S_ISLNK(st.st_mode) ? ELOOP : ENOTDIR;
        return -1;
      }
      *p = saved;
      if (!saved) return 0;
    }
  }
}

/* Creates the mount point for dst: a directory, or an empty file when the source is not one. */
static int make_mountpoint(const char *dst, bool dir) {
  static char tmp[8192];
  snprintf(tmp, sizeof tmp, "%s", dst);
  if (dir) return mkdir_p(tmp, 0755);
  char *slash = strrchr(tmp, '/');
  if (slash && slash != tmp) {
    *slash = '\0';
    if (mkdir_p(tmp, 0755) < 0) return -1;
  }
  int fd = open(dst, O_CREAT | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0444);
  if (fd < 0 && errno != EEXIST) return -1;
  if (fd >= 0) close(fd);
  return 0;
}

/* Recursive bind of src at dst with attributes set on the whole tree in one call. */
static int bind_tree(const char *src, const char *dst, uint64_t attrs) {
  int fd cleanup_fd = sys_open_tree(AT_FDCWD, src, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE);
  if (fd < 0) return -1;
  struct mount_attr attr = {.attr_set = attrs};
  if (attrs && sys_mount_setattr(fd, "", AT_EMPTY_PATH | AT_RECURSIVE, &attr) < 0) return -1;
  return sys_move_mount(fd, "", AT_FDCWD, dst, MOVE_MOUNT_F_EMPTY_PATH);
}

static int mount_bind(const struct mount_op *m, struct sbx_err *e) {
  const char *src = join(0, OLDROOT, m->src);
  const char *dst = join(1, NEWROOT, m->dst);
  struct stat st;
  if (stat(src, &st) < 0) {
    if (m->kind == M_RO_BIND_TRY && (errno == ENOENT || errno == ENOTDIR)) return 0;
    return fail(e, STEP_BIND, m->op);
  }
  if (make_mountpoint(dst, S_ISDIR(st.st_mode)) < 0) return fail(e, STEP_MKDIR, m->op);
  uint64_t attrs = MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV;
  if (m->kind != M_BIND) attrs |= MOUNT_ATTR_RDONLY;
  if (bind_tree(src, dst, attrs) < 0) return fail(e, STEP_BIND, m->op);
  return 0;
}

static int mount_tmpfs(const char *dst, uint64_t size, unsigned mode, unsigned long flags) {
  char opts[64];
  if (size)
    snprintf(opts, sizeof opts, "mode=%04o,size=%llu", mode, (unsigned long long)size);
  else
    snprintf(opts, sizeof opts, "mode=%04o", mode);
  return mount("tmpfs", dst, "tmpfs", MS_NOSUID | MS_NODEV | flags, opts);
}

/* A minimal /dev: tmpfs with binds of the harmless host character devices (mknod is not
 * allowed in a user namespace), the fd links, a private devpts and shm. */
static int mount_dev(const struct mount_op *m, struct sbx_err *e) {
  static const char *const nodes[] = {"null", "zero", "full", "random", "urandom", "tty"};
  static const char *const links[][2] = {
      {"/proc/self/fd", "fd"},     {"/proc/self/fd/0", "stdin"}, {"/proc/self/fd/1", "stdout"},
      {"/proc/self/fd/2", "stderr"}, {"pts/ptmx", "ptmx"},
  };
  static char d[4352], s[4352];
  const char *dst = join(1, NEWROOT, m->dst);
  snprintf(d, sizeof d, "%s", dst);
  if (mkdir_p(d, 0755) < 0) return fail(e, STEP_MKDIR, m->op);
  if (mount_tmpfs(dst, 1 << 20, 0755, MS_NOEXEC) < 0) return fail(e, STEP_DEV, m->op);
  for (size_t i = 0; i < sizeof nodes / sizeof nodes[0]; i++) {
    snprintf(d, sizeof d, "%s/%s", dst, nodes[i]);
    snprintf(s, sizeof s, OLDROOT "/dev/%s", nodes[i]);
    if (make_mountpoint(d, false) < 0) return fail(e, STEP_DEV, m->op);
    if (bind_tree(s, d, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOEXEC) < 0) return fail(e, STEP_DEV, m->op);
  }
  for (size_t i = 0; i < sizeof links / sizeof links[0]; i++) {
    snprintf(d, sizeof d, "%s/%s", dst, links[i][1]);
    if (symlink(links[i][0], d) < 0) return fail(e, STEP_DEV, m->op);
  }
  snprintf(d, sizeof d, "%s/pts", dst);
  if (mkdir(d, 0755) < 0) return fail(e, STEP_DEV, m->op);
  if (mount("devpts", d, "devpts", MS_NOSUID | MS_NOEXEC, "newinstance,ptmxmode=0666,mode=620") < 0)
    return fail(e, STEP_DEV, m->op);
  snprintf(d, sizeof d, "%s/shm", dst);
  if (mkdir(d, 0755) < 0) return fail(e, STEP_DEV, m->op);
  if (mount_tmpfs(d, 64 << 20, 01777, 0) < 0) return fail(e, STEP_DEV, m->op);
  /* The /dev tmpfs itself is read-only: no device nodes or files can be added. */
  if (mount(NULL, dst, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
    return fail(e, STEP_DEV, m->op);
  return 0;
}

static int apply_one(const struct mount_op *m, struct sbx_err *e) {
  static char d[8192];
  switch (m->kind) {
  case M_RO_BIND:
  case M_BIND:
  case M_RO_BIND_TRY: return mount_bind(m, e);
  case M_TMPFS:
    snprintf(d, sizeof d, "%s", join(1, NEWROOT, m->dst));
    if (mkdir_p(d, 0755) < 0) return fail(e, STEP_MKDIR, m->op);
    if (mount_tmpfs(d, m->size, m->mode, 0) < 0) return fail(e, STEP_TMPFS, m->op);
    return 0;
  case M_PROC:
    snprintf(d, sizeof d, "%s", join(1, NEWROOT, m->dst));
    if (mkdir_p(d, 0555) < 0) return fail(e, STEP_MKDIR, m->op);
    /* A fresh proc for the new pid namespace: only the sandbox's processes are visible. */
    if (mount("proc", d, "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
      return fail(e, STEP_PROC, m->op);
    return 0;
  case M_DEV: return mount_dev(m, e);
  case M_SYMLINK: {
    snprintf(d, sizeof d, "%s", join(1, NEWROOT, m->dst));
    char *slash = strrchr(d, '/');
    *slash = '\0';
    if (slash != d && mkdir_p(d, 0755) < 0) return fail(e, STEP_MKDIR, m->op);
    *slash = '/';
    if (symlink(m->src, d) < 0) return fail(e, STEP_SYMLINK, m->op);
    return 0;
  }
  case M_DIR:
    snprintf(d, sizeof d, "%s", join(1, NEWROOT, m->dst));
    if (mkdir_p(d, m->mode) < 0 || chmod(d, m->mode) < 0) return fail(e, STEP_MKDIR, m->op);
    return 0;
  }
  return 0;
}

int mount_apply(const struct config *cfg, struct sbx_err *e) {
  /* Nothing we mount may propagate back to the host. */
  if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0) return fail(e, STEP_MOUNT_PRIVATE, -1);
  /* A scratch tmpfs becomes the root for a moment; the host root moves to /oldroot. */
  if (mount_tmpfs(BASE, 1 << 20, 0755, 0) < 0) return fail(e, STEP_MOUNT_BASE, -1);
  if (chdir(BASE) < 0) return fail(e, STEP_MOUNT_BASE, -1);
  if (mkdir("newroot", 0755) < 0 || mkdir("oldroot", 0755) < 0) return fail(e, STEP_MOUNT_BASE, -1);
  if (sys_pivot_root(".", "oldroot") < 0) return fail(e, STEP_PIVOT, -1);
  if (chdir("/") < 0) return fail(e, STEP_PIVOT, -1);
  if (mount_tmpfs(NEWROOT, 1 << 20, 0755, 0) < 0) return fail(e, STEP_MOUNT_BASE, -1);
  for (size_t i = 0; i < cfg->n_mounts; i++)
    if (apply_one(&cfg->mounts[i], e) < 0) return -1;
  /* The root itself is read-only: nothing can be created beside the mounts. */
  if (mount(NULL, NEWROOT, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV, NULL) < 0)
    return fail(e, STEP_REMOUNT, -1);
  /* Detach the host root, then make /newroot the root (pivot_root(".", ".") + detach). */
  if (umount2(OLDROOT, MNT_DETACH) < 0) return fail(e, STEP_PIVOT, -1);
  if (chdir(NEWROOT) < 0) return fail(e, STEP_PIVOT, -1);
  if (sys_pivot_root(".", ".") < 0) return fail(e, STEP_PIVOT, -1);
  if (umount2(".", MNT_DETACH) < 0) return fail(e, STEP_PIVOT, -1);
  if (chdir("/") < 0) return fail(e, STEP_PIVOT, -1);
  return 0;
}
