/* landlock.h — the Landlock ruleset, applied by the target itself (after no_new_privs, before
 * seccomp). Mechanism only: which rights each path gets is decided by TypeScript. */
#pragma once
#include "config.h"
#include "util.h"

/* Creates the ruleset cfg asks for, adds its path rules and restricts the calling thread. Does
 * nothing without a `landlock` op. */
int landlock_apply(const struct config *cfg, struct sbx_err *e);
