/* walk.c — component-by-component path resolution under a symlink rule (see walk.h).
 *
 * Each component is opened with O_PATH|O_NOFOLLOW relative to the directory reached so far, so
 * what is checked is what is used. A symlink is read from its own fd (readlinkat "") and spliced
 * in front of the rest of the path; ".." and absolute links go back through walk_open_real(), a
 * lookup of the already resolved, symlink-free path that openat2() keeps inside the root (a
 * plain openat(fd, "..") could leave a bind mount's subtree when a directory is moved meanwhile).
 */
#include "walk.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

int walk_openat2(int dfd, const char *path, uint64_t flags, uint64_t resolve) {
  struct open_how how = {.flags = flags, .resolve = resolve};
  int fd = -1;
  for (int tries = 0; tries < 100; tries++) {
    fd = (int)syscall(SYS_openat2, dfd, path, &how, sizeof how);
    if (fd >= 0 || errno != EAGAIN) break;
  }
  return fd;
}

int walk_open_real(int root, const char *real, int flags) {
  return walk_openat2(root, real[0] ? real : "/", (uint64_t)flags | O_CLOEXEC,
                      RESOLVE_IN_ROOT | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS);
}

void walk_refuse(struct walk *w, const char *name) {
  if (snprintf(w->link, sizeof w->link, "%s/%s", w->real, name) >= (int)sizeof w->link)
    w->link[0] = '\0';
  w->refused = true;
  errno = ELOOP;
}

/* Moves *cur to w->real (after ".." or an absolute link). */
static int reopen(int root, struct walk *w, int *cur) {
  int fd = walk_open_real(root, w->real, O_PATH | O_DIRECTORY);
  if (fd < 0) return -1;
  if (fstat(fd, &w->st) < 0) {
    int saved = errno;
    close(fd);
    return errno = saved, -1;
  }
  close(*cur);
  *cur = fd;
  return 0;
}

/* rest becomes target "/" after (after may point into rest). */
static int prepend_link(char *rest, size_t cap, const char *target, size_t tlen, const char *after) {
  size_t alen = strlen(after);
  if (tlen + 1 + alen + 1 > cap) return errno = ENAMETOOLONG, -1;
  memmove(rest + tlen + 1, after, alen + 1);
  memcpy(rest, target, tlen);
  rest[tlen] = '/';
  return 0;
}

/* One step: cur is the directory reached, name the next component (`missing`: known not to be
 * there, so it is made at once). Returns the new fd (its stat in *st), or -1 with errno. */
static int step(int cur, const char *name, bool last, bool missing, const struct walk_rule *r, struct stat *st) {
  int fd = missing ? -1 : openat(cur, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
  if ((missing || (fd < 0 && errno == ENOENT)) && r->create) {
    if (r->create(r, cur, name, last) < 0 && errno != EEXIST) return -1;
    fd = openat(cur, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
  }
  if (fd < 0) return -1;
  if (fstat(fd, st) < 0) {
    int saved = errno;
    close(fd);
    return errno = saved, -1;
  }
  return fd;
}

/* Whether no component of p is "." or "..": without a symlink, p is then its own real path. */
bool walk_plain(const char *p) {
  for (const char *s = p; *s;) {
    while (*s == '/') s++;
    const char *e = strchrnul(s, '/');
    size_t n = (size_t)(e - s);
    if ((n == 1 && s[0] == '.') || (n == 2 && s[0] == '.' && s[1] == '.')) return false;
    s = e;
  }
  return true;
}

/* Two calls that make each other: the plain path p[0, len) below root (no symlink followed),
 * made where missing with r->create as the component walk makes it (`last`: whether its final
 * component is the path's). Each returns an O_PATH fd (its stat in *st), or -1 when the component
 * walk must decide: a symlink on the way, a non-directory, an error to report. Only the missing
 * part costs calls: the deepest existing directory is one lookup. */
static int quick_make_last(int root, const char *p, size_t len, bool last, const struct walk_rule *r,
                           struct stat *st);

static int quick_make(int root, const char *p, size_t len, const struct walk_rule *r, struct stat *st) {
  static char path[PATH_MAX]; /* used only before the recursion */
  memcpy(path, p, len);
  path[len] = '\0';
  int fd = walk_open_real(root, path, O_PATH | O_DIRECTORY);
  if (fd < 0) return errno == ENOENT ? quick_make_last(root, p, len, false, r, st) : -1;
  if (fstat(fd, st) < 0) {
    close(fd);
    return -1;
  }
  return fd;
}

/* The final component of p[0, len) is missing: made in its directory (root itself for a top-level
 * one). */
static int quick_make_last(int root, const char *p, size_t len, bool last, const struct walk_rule *r,
                           struct stat *st) {
  const char *slash = memrchr(p, '/', len);
  size_t plen = slash ? (size_t)(slash - p) : 0, n = len - (slash ? plen + 1 : 0);
  char name[NAME_MAX + 1];
  if (n == 0 || n > NAME_MAX) return -1;
  memcpy(name, slash ? slash + 1 : p, n);
  name[n] = '\0';
  int dir = plen ? quick_make(root, p, plen, r, st) : root;
  if (dir < 0) return -1;
  int fd = step(dir, name, last, true, r, st);
  if (dir != root) close(dir);
  if (fd >= 0 && (S_ISLNK(st->st_mode) || (!last && !S_ISDIR(st->st_mode)))) {
    close(fd);
    return -1;
  }
  return fd;
}

/* Most paths contain no symlink at all: one lookup that follows none settles them, and what is
 * missing of them is made the component walk's way (quick_make()). Returns 0 when done, 1 when
 * the component walk must decide (a symlink on the way), -1 with errno when the walk would fail
 * the same way. */
static int quick(int root, const char *path, unsigned flags, const struct walk_rule *r, struct walk *w) {
  size_t len = strlen(path);
  if (len >= sizeof w->real || !walk_plain(path)) return 1;
  char parent[PATH_MAX];
  const char *lookup = path;
  if (flags & WALK_PARENT) {
    const char *end = path + len, *leaf;
    while (end > path && end[-1] == '/') end--;
    for (leaf = end; leaf > path && leaf[-1] != '/';) leaf--;
    size_t n = (size_t)(end - leaf);
    if (n == 0 || n > NAME_MAX) return 1; /* the walk says what is wrong */
    memcpy(w->leaf, leaf, n);
    w->leaf[n] = '\0';
    size_t plen = (size_t)(leaf - path);
    while (plen > 0 && path[plen - 1] == '/') plen--; /* "/a/b" -> "/a", "/b" -> "" (the root) */
    memcpy(parent, path, plen);
    parent[plen] = '\0';
    lookup = parent;
  }
  int fd = walk_open_real(root, lookup, O_PATH);
  if (fd < 0 && r->create && errno == ENOENT) {
    fd = quick_make_last(root, lookup, strlen(lookup), !(flags & WALK_PARENT), r, &w->st);
    if (fd < 0) return 1;
    memcpy(w->real, lookup, strlen(lookup) + 1);
    w->fd = fd;
    return 0;
  }
  if (fd < 0) return errno == ELOOP ? 1 : -1;
  int err = fstat(fd, &w->st) < 0                                   ? errno
            : (flags & WALK_PARENT) && !S_ISDIR(w->st.st_mode) ? ENOTDIR
                                                               : 0;
  if (err) {
    close(fd);
    return errno = err, -1;
  }
  memcpy(w->real, lookup, strlen(lookup) + 1);
  w->fd = fd;
  return 0;
}

int walk(int root, const char *path, unsigned flags, const struct walk_rule *r, struct walk *w) {
  char rest[PATH_MAX], target[PATH_MAX], name[NAME_MAX + 1];
  size_t len = strlen(path);
  w->fd = -1;
  w->real[0] = w->leaf[0] = w->link[0] = '\0';
  w->refused = false;
  if (len >= sizeof rest) return errno = ENAMETOOLONG, -1;
  int q = quick(root, path, flags, r, w);
  if (q <= 0) return q;
  w->leaf[0] = '\0';
  memcpy(rest, path, len + 1);
  int cur = walk_open_real(root, "", O_PATH | O_DIRECTORY);
  if (cur < 0 || fstat(cur, &w->st) < 0) goto fail;
  int links = 0;
  for (char *s = rest;;) {
    while (*s == '/') s++;
    if (!*s) break;
    char *e = strchrnul(s, '/'), *next = e;
    while (*next == '/') next++;
    bool last = !*next;
    size_t n = (size_t)(e - s);
    if (n > NAME_MAX) {
      errno = ENAMETOOLONG;
      goto fail;
    }
    memcpy(name, s, n);
    name[n] = '\0';
    s = next;
    if (last && (flags & WALK_PARENT)) {
      memcpy(w->leaf, name, n + 1);
      break;
    }
    if (strcmp(name, ".") == 0) continue;
    if (strcmp(name, "..") == 0) {
      char *slash = strrchr(w->real, '/');
      if (slash) *slash = '\0'; /* the root's ".." is the root */
      if (reopen(root, w, &cur) < 0) goto fail;
      continue;
    }
    struct stat st;
    int fd = step(cur, name, last, false, r, &st);
    if (fd < 0) goto fail;
    if (S_ISLNK(st.st_mode)) {
      if (++links > WALK_MAX_LINKS) {
        close(fd);
        errno = ELOOP;
        goto fail;
      }
      if (!r->may_follow || !r->may_follow(r, cur, &w->st, fd)) {
        close(fd);
        walk_refuse(w, name);
        goto fail;
      }
      ssize_t tl = readlinkat(fd, "", target, sizeof target);
      int saved = errno;
      close(fd);
      errno = saved;
      if (tl < 0) goto fail;
      if (tl == 0) {
        errno = ENOENT;
        goto fail;
      }
      if ((size_t)tl >= sizeof target || prepend_link(rest, sizeof rest, target, (size_t)tl, s) < 0) {
        errno = ENAMETOOLONG;
        goto fail;
      }
      s = rest;
      if (target[0] == '/') {
        w->real[0] = '\0';
        if (reopen(root, w, &cur) < 0) goto fail;
      }
      continue;
    }
    size_t rl = strlen(w->real);
    if ((!last && !S_ISDIR(st.st_mode)) || rl + 1 + n >= sizeof w->real) {
      close(fd);
      errno = rl + 1 + n >= sizeof w->real ? ENAMETOOLONG : ENOTDIR;
      goto fail;
    }
    w->real[rl] = '/';
    memcpy(w->real + rl + 1, name, n + 1);
    close(cur);
    cur = fd;
    w->st = st;
  }
  if ((flags & WALK_PARENT) && (!w->leaf[0] || !strcmp(w->leaf, ".") || !strcmp(w->leaf, ".."))) {
    errno = EINVAL;
    goto fail;
  }
  w->fd = cur;
  return 0;
fail:;
  int saved = errno;
  if (cur >= 0) close(cur);
  return errno = saved, -1;
}
