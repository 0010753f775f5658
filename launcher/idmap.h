/* idmap.h — bind sources and overlay layers cloned by the monitor, as the caller, before the
 * sandbox exists; id-mapped where the config asks (the *-idmap ops). */
#pragma once
#include <stddef.h>

#include "config.h"
#include "util.h"

/* Monitor, after hostpath_prepare, before clone: for a caller that may clone mounts (root),
 * every bind source and overlay lower layer becomes a detached mount (m->tree_fd) with its
 * attributes set (nosuid, nodev, read-only), and the *-idmap ones also id-mapped: the caller's
 * euid/egid on the host are the ids the sandbox's uid/gid map to. A filesystem that refuses
 * id-mapping is recorded in the status file (an "idmap" record: op, errno) and the mount goes
 * on without (m->idmap cleared), or, with "idmap required", fails the run (STEP_IDMAP). A caller
 * that cannot clone mounts leaves every source to init (tree_fd -1) and its *-idmap mounts fall
 * back the same way. */
int idmap_prepare(struct config *cfg, int status_fd, struct sbx_err *e);

/* The fds idmap_prepare left open, for init to keep (at most cap; returns how many). */
size_t idmap_fds(const struct config *cfg, int *fds, size_t cap);

/* Monitor, after clone: closes its copies. */
void idmap_close(struct config *cfg);

/* Writes the refusals idmap_prepare() met without a status file (a warm launcher's prepared run,
 * whose status file comes with its request) into status_fd, as a cold run records them. */
void idmap_replay_status(int status_fd);
