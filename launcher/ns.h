/* ns.h — namespace mechanics: id maps (from the parent), hostname and loopback (inside). */
#pragma once
#include <sys/types.h>

#include "config.h"
#include "util.h"

/* Parent, before releasing the child: write uid_map, setgroups=deny, gid_map. */
int ns_prepare(const struct config *cfg, pid_t child, struct sbx_err *e);
/* Child (init), after the mount tree: hostname and loopback up. */
int ns_apply(const struct config *cfg, struct sbx_err *e);
