/* landlock.h — the Landlock ruleset, applied by the target itself (after no_new_privs, before
 * seccomp). Mechanism only: which rights each path gets is decided by TypeScript. */
#pragma once
#include "config.h"
#include "util.h"

/* Opens a rule's path as an O_PATH fd, or -1 with errno. */
typedef int (*landlock_opener)(const char *path);

/* Creates the ruleset cfg asks for, adds its path rules (each opened with open_path, or plain
 * open() when it is NULL) and restricts the calling thread. Does nothing without a `landlock`
 * op. */
int landlock_apply(const struct config *cfg, landlock_opener open_path, struct sbx_err *e);
