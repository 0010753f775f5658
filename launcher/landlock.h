/* landlock.h — the Landlock ruleset, applied by the target itself (after no_new_privs, before
 * seccomp). Mechanism only: which rights each path gets is decided by TypeScript. */
#pragma once
#include "config.h"
#include "util.h"

/* Opens a rule's path as an O_PATH fd, or -1 with errno. */
typedef int (*landlock_opener)(const char *path);

/* Creates the ruleset cfg asks for, adds its path rules (each opened with open_path, or plain
 * open() when it is NULL), read/write rules on fds stdio_from..2 (the run's stdio FIFOs, so that
 * /dev/stdout reopens; 3: none) and restricts the calling thread. Does nothing without a
 * `landlock` op. */
int landlock_apply(const struct config *cfg, landlock_opener open_path, int stdio_from, struct sbx_err *e);
