/* ids.h — the host identity of a run (parent side, before clone): no supplementary groups from
 * the caller, and for a root caller a host uid/gid pair of its own, allocated from a range
 * (`host-ids`) and held for the monitor's life. */
#pragma once
#include <stdbool.h>
#include <sys/types.h>

#include "config.h"
#include "util.h"

/* Where the allocation locks live: root-owned, mode 0700, created when missing. */
#ifndef SBX_STATE_DIR
#define SBX_STATE_DIR "/run/sandbox-ts"
#endif
#define SBX_HOST_IDS_LOCK "host-ids.lock"

struct host_ids {
  int lock_fd;    /* holds this run's locks until the monitor exits (or dies), else -1 */
  bool allocated; /* cfg->uid_outside/gid_outside hold the allocated pair */
  pid_t ppid;     /* the monitor's parent, while the monitor runs as the namespace owner */
};
#define HOST_IDS_NONE {.lock_fd = -1, .allocated = false, .ppid = 0}

/* Parent, before clone. Drops the caller's supplementary groups when the launcher may (a root
 * caller), then with `host-ids` allocates a free uid/gid pair (random start, one byte-range lock
 * each in SBX_STATE_DIR/SBX_HOST_IDS_LOCK) and stores it in cfg: the outside ids of the maps with
 * a user namespace, the ids the target runs as without one (cfg->uid_outside/gid_outside hold it
 * either way). EUSERS: every id of the range is in use. */
int ids_prepare(struct config *cfg, struct host_ids *ids, struct sbx_err *e);

/* After hostpath_prepare (which made missing overlay upper/work dirs, owned by the pair): kept
 * overlay upper/work dirs become the run's, so it can write there; what earlier runs wrote keeps
 * their ids (readable, not writable, by this one). Each is opened as hostpath_prepare resolved it
 * (no link a sandbox could have planted redirects this chown), and only one owned by root or by
 * an id of the range (an earlier run) is changed: else EPERM. A failure names the dir (e->path).
 * Does nothing without an allocated pair. */
int ids_own_kept_dirs(const struct config *cfg, const struct host_ids *ids, struct sbx_err *e);

/* Around clone: with an allocated pair and a new user namespace, the monitor's effective uid is
 * that uid while clone runs (its filesystem uid stays 0), so the namespace is owned by it and
 * the run's per-user kernel budgets are charged to it rather than to host root. leave makes the
 * monitor root again and re-arms its parent-death signal (changing the effective uid cleared
 * it); -1 when the parent died meanwhile. Both do nothing without an allocated pair. */
int ids_owner_enter(const struct config *cfg, struct host_ids *ids, struct sbx_err *e);
int ids_owner_leave(struct host_ids *ids, struct sbx_err *e);
