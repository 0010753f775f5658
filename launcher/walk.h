/* walk.h — resolving a path one component at a time (O_PATH|O_NOFOLLOW), following a symlink
 * only when a rule says nobody untrusted can have planted it. Used for host paths (hostpath.c:
 * the rule looks at the directory holding the link) and for destinations in the new root
 * (mount.c: the rule looks at the mount holding the link). */
#pragma once
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>

#define WALK_MAX_LINKS 40 /* the kernel's MAXSYMLINKS */

struct walk_rule {
  /* Whether the symlink `link` (an O_PATH fd of the link itself), found in the directory `dir`
   * (whose stat is *dir_st), may be followed. */
  bool (*may_follow)(const struct walk_rule *r, int dir, const struct stat *dir_st, int link);
  /* Makes the missing component `name` in `dir` (`last`: the final one of the path); NULL: a
   * missing component is ENOENT. EEXIST (made meanwhile) is not an error. */
  int (*create)(const struct walk_rule *r, int dir, const char *name, bool last);
  const void *ctx;
};

enum walk_flags {
  WALK_PARENT = 1, /* stop before the final component: fd is its directory, leaf its name */
};

struct walk {
  int fd;                  /* O_PATH fd of what was reached; the caller closes it */
  struct stat st;          /* its stat */
  char real[PATH_MAX];     /* its path below the root, every symlink resolved ("" = the root) */
  char leaf[NAME_MAX + 1]; /* WALK_PARENT: the final component, left to the caller */
  bool refused;            /* failed (ELOOP) because the rule refused a link ... */
  char link[PATH_MAX];     /* ... this one, as a path below the root */
};

/* Resolves path (absolute or not: either way from root; ".." never leaves root). Returns 0 with
 * w->fd set, or -1 with errno (ELOOP with w->refused when the rule refused a link). */
int walk(int root, const char *path, unsigned flags, const struct walk_rule *rule, struct walk *w);

/* Records that the symlink `name` in the directory reached (w->real) is refused: w->link,
 * w->refused, errno ELOOP. */
void walk_refuse(struct walk *w, const char *name);

/* openat2() with RESOLVE_IN_ROOT-style flags, retried on EAGAIN (a mount or rename anywhere on
 * the system raced the lookup: other sandboxes starting at the same time do exactly that). */
int walk_openat2(int dfd, const char *path, uint64_t flags, uint64_t resolve);

/* Whether path has no "." or ".." component (its text alone says where it leads, symlinks
 * aside). */
bool walk_plain(const char *p);

/* Opens a path that contains no symlink at all, from root (for paths a walk resolved). */
int walk_open_real(int root, const char *real, int flags);
