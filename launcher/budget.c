/* budget.c — per-sandbox kernel budgets. The kernel counts inotify instances, fanotify groups,
 * namespaces and the like per user and per user namespace, and charges a count at every level up
 * to the host: a sandbox's use is bounded by its own namespace's max_* (written here) and by its
 * owner's host budget (the run's own host uid for a root caller, see ids.c; the caller's for an
 * unprivileged one). The values are read-only to the target: changing them needs
 * CAP_SYS_RESOURCE in the namespace, which it never has. */
#include "budget.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/mount.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

/* A private procfs instance, never attached anywhere: for hosts whose /proc/sys is read-only
 * (containers). The sysctls it shows are the caller's user namespace's, like any procfs. */
static int fresh_proc_user_dir(void) {
  int fs cleanup_fd = (int)syscall(SYS_fsopen, "proc", FSOPEN_CLOEXEC);
  if (fs < 0 || syscall(SYS_fsconfig, fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0) return -1;
  int mnt cleanup_fd = (int)syscall(SYS_fsmount, fs, FSMOUNT_CLOEXEC, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOEXEC);
  if (mnt < 0) return -1;
  return openat(mnt, "sys/user", O_PATH | O_DIRECTORY | O_CLOEXEC);
}

static int write_at(int dir, const char *name, const char *value) {
  int fd cleanup_fd = openat(dir, name, O_WRONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return -1;
  return write_full(fd, value, strlen(value));
}

int budget_apply(const struct config *cfg, struct sbx_err *e) {
  if (!cfg->n_userns_limits) return 0;
  int dir cleanup_fd = open("/proc/sys/user", O_PATH | O_DIRECTORY | O_CLOEXEC);
  bool fresh = false;
  for (size_t i = 0; i < cfg->n_userns_limits; i++) {
    const struct userns_limit *l = &cfg->userns_limits[i];
    char name[64], value[24];
    snprintf(name, sizeof name, "max_%s", l->name);
    snprintf(value, sizeof value, "%llu\n", (unsigned long long)l->value);
    int rc = dir < 0 ? -1 : write_at(dir, name, value);
    if (rc < 0 && !fresh && (dir < 0 || errno == EROFS)) {
      close_fdp(&dir);
      dir = fresh_proc_user_dir();
      fresh = true;
      rc = dir < 0 ? -1 : write_at(dir, name, value);
    }
    if (rc < 0) return fail(e, STEP_USERNS_LIMIT, l->op);
  }
  return 0;
}
