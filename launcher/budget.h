/* budget.h — the new user namespace's own per-user budgets (/proc/sys/user/max_*): inotify
 * instances and watches, fanotify groups and marks, nested namespaces. Set by init (child), while
 * it still holds CAP_SYS_RESOURCE in the namespace; the target never can change them. */
#pragma once
#include "config.h"
#include "util.h"

/* Child (init), before the mount tree (the sandbox's /proc/sys is read-only later). */
int budget_apply(const struct config *cfg, struct sbx_err *e);
