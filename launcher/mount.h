/* mount.h — the private root filesystem, built inside the child (init). */
#pragma once
#include "config.h"
#include "util.h"

/* Builds a fresh tmpfs root from cfg->mounts (already sorted by destination depth by the
 * caller), pivots into it and detaches the host root. */
int mount_apply(const struct config *cfg, struct sbx_err *e);
