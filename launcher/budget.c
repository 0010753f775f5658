/* budget.c — per-sandbox kernel budgets. The kernel counts inotify instances, fanotify groups,
 * namespaces and the like per user and per user namespace, and charges a count at every level up
 * to the host: a sandbox's use is bounded by its own namespace's max_* (written here) and by its
 * owner's host budget (the run's own host uid for a root caller, see ids.c; the caller's for an
 * unprivileged one). The values are read-only to the target: changing them needs
 * CAP_SYS_RESOURCE in the namespace, which it never has.
 *
 * /proc/sys shows the sysctls of the reader's user namespace whichever procfs it is read through,
 * so init writes through the host's /proc, before its own root (with a read-only /proc/sys)
 * exists. Where the host's /proc/sys is read-only (a container), a fresh procfs could not be
 * mounted either (the kernel refuses one while the existing one is partly hidden), and the
 * sandbox's own /proc would fail the same way. */
#include "budget.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int budget_apply(const struct config *cfg, struct sbx_err *e) {
  if (!cfg->n_userns_limits) return 0;
  int dir cleanup_fd = open("/proc/sys/user", O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (dir < 0) return fail(e, STEP_USERNS_LIMIT, cfg->userns_limits[0].op);
  for (size_t i = 0; i < cfg->n_userns_limits; i++) {
    const struct userns_limit *l = &cfg->userns_limits[i];
    char name[64], value[24];
    snprintf(name, sizeof name, "max_%s", l->name);
    snprintf(value, sizeof value, "%llu\n", (unsigned long long)l->value);
    int fd cleanup_fd = openat(dir, name, O_WRONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0 || write_full(fd, value, strlen(value)) < 0) return fail(e, STEP_USERNS_LIMIT, l->op);
  }
  return 0;
}
