/* landlock.h — the Landlock ruleset, applied by the target itself (after no_new_privs, before
 * seccomp). Mechanism only: which rights each path gets is decided by TypeScript. */
#pragma once
#include "config.h"
#include "util.h"

/* Opens a rule's path as an O_PATH fd, or -1 with errno. */
typedef int (*landlock_opener)(const char *path);

/* Creates the ruleset cfg asks for and adds its path rules, each opened with open_path (or plain
 * open() when it is NULL); returns its fd, or -1 (with e filled, or without a `landlock` op).
 * Init builds it before the run's request (a warm launcher's prepared run has it ready), the
 * target inherits it. */
int landlock_build(const struct config *cfg, landlock_opener open_path, struct sbx_err *e);

/* Adds read/write rules on fds stdio_from..2 (the run's stdio FIFOs, so that /dev/stdout
 * reopens; 3: none) to the ruleset init built and restricts the calling thread. Does nothing
 * without a `landlock` op; fails (EBADF) where init could not build one. */
int landlock_restrict(int ruleset, const struct config *cfg, int stdio_from, struct sbx_err *e);
