/* hostpath.h — host paths (bind sources, overlay layers, rootfs entries) and the host dirs an
 * overlay keeps its changes in: resolved and made by the monitor before any sandbox process
 * exists, reopened by init without following a single symlink. The rule is in hostpath.c. */
#pragma once
#include <sys/stat.h>

#include "config.h"
#include "util.h"

/* Monitor, before clone: makes the host-dir directories (owned by the ids the sandbox maps to),
 * then resolves every host path of cfg->mounts. A failure names the host path (e->path); a
 * symlink a sandbox could have planted is STEP_HOST_LINK, ELOOP. */
int hostpath_prepare(const struct config *cfg, struct sbx_err *e);

/* After hostpath_prepare failed at STEP_HOST_LINK: the symlink it refused; else NULL. */
const char *hostpath_refused_link(void);

/* Init, after the pivot: opens the host path `path` of mount m (its src, upper or work string)
 * as hostpath_prepare resolved it, from the host root `root`, without following any symlink.
 * -1 with ENOENT for an absent *-try source, ESTALE when the object was swapped meanwhile. */
int hostpath_open(int root, const struct mount_op *m, const char *path, int flags);

/* hostpath_open(), and the stat it checked the object's identity with in *st. */
int hostpath_open_stat(int root, const struct mount_op *m, const char *path, int flags, struct stat *st);

/* Landlock-only mode (no mount namespace: rules name host paths): opens a rule's host path
 * O_PATH under the same symlink rule, so a link a sandbox planted in a writable directory cannot
 * widen a later run's Landlock rules. -1 with errno (ELOOP for a refused link). */
int hostpath_open_rule(const char *path);

/* Init: opens, relative to dirfd (a clone of the parent directory of `path`, which the monitor
 * made), the last component of `path` of mount m as hostpath_prepare resolved it, without
 * following a symlink; ESTALE when it is not the object resolved. */
int hostpath_openat_leaf(int dirfd, const struct mount_op *m, const char *path, int flags);

/* Monitor: the path `path` of mount m resolved (every symlink resolved, relative to the host
 * root), or NULL when it was not resolved or is absent. */
const char *hostpath_real(const struct mount_op *m, const char *path);
