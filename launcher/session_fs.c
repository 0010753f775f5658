/* session_fs.c — file operations inside a session (session_fs.h). Nothing here blocks on a file
 * the sandboxed code controls: files are opened O_NONBLOCK and must be regular files, so a FIFO
 * or a device planted at the path is refused instead of stalling the agent. Recursive removal
 * walks with directory fds and O_NOFOLLOW: a directory swapped for a link mid-walk is not
 * followed. */
#include "session_fs.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util.h"

#define REMOVE_DEPTH 256

static int reply_errno(struct sbuf *out, int err) {
  out->len = 0;
  sbuf_num(out, err);
  return -1;
}

static bool parse_flag(const char *s) {
  return s && strcmp(s, "1") == 0;
}

/* A regular file opened without following anything unusual: no blocking open of a FIFO. */
static int open_regular(const char *path, int flags, unsigned mode) {
  int fd = open(path, flags | O_CLOEXEC | O_NOCTTY | O_NONBLOCK, mode);
  if (fd < 0) return -1;
  struct stat st;
  if (fstat(fd, &st) < 0) {
    int err = errno;
    close(fd);
    return errno = err, -1;
  }
  if (!S_ISREG(st.st_mode)) {
    close(fd);
    return errno = S_ISDIR(st.st_mode) ? EISDIR : EINVAL, -1;
  }
  /* Back to blocking reads and writes: a regular file never blocks for long. */
  fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
  return fd;
}

/* At most `len` bytes from `offset`, after the file's size: the library reads a big file in
 * chunks and bounds the total itself. */
static void op_read(const char *path, const char *off_s, const char *len_s, struct sbuf *out) {
  uint64_t off, len;
  if (!parse_u64(off_s, &off) || !parse_u64(len_s, &len) || off > INT64_MAX) return (void)reply_errno(out, EINVAL);
  if (len > SW_MAX_PAYLOAD - 64) len = SW_MAX_PAYLOAD - 64;
  int fd cleanup_fd = open_regular(path, O_RDONLY, 0);
  struct stat st;
  if (fd < 0 || fstat(fd, &st) < 0) return (void)reply_errno(out, errno);
  sbuf_num(out, 0);
  sbuf_num(out, st.st_size);
  char buf[65536];
  while (len) {
    ssize_t n = pread(fd, buf, len < sizeof buf ? len : sizeof buf, (off_t)off);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return (void)reply_errno(out, errno);
    if (n == 0) break;
    if (sbuf_put(out, buf, (size_t)n) < 0) return (void)reply_errno(out, errno);
    off += (uint64_t)n;
    len -= (uint64_t)n;
  }
}

static void op_write(const char *path, const char *mode_s, const char *how, const char *data, size_t len,
                     struct sbuf *out) {
  unsigned mode;
  if (!parse_octal(mode_s, &mode) || mode > 07777) return (void)reply_errno(out, EINVAL);
  int flags = O_WRONLY | O_CREAT;
  if (strcmp(how, "trunc") == 0) flags |= O_TRUNC;
  else if (strcmp(how, "append") == 0) flags |= O_APPEND;
  else if (strcmp(how, "new") == 0) flags |= O_EXCL;
  else return (void)reply_errno(out, EINVAL);
  int fd cleanup_fd = open_regular(path, flags, mode);
  if (fd < 0) return (void)reply_errno(out, errno);
  if (write_full(fd, data, len) < 0) return (void)reply_errno(out, errno);
  sbuf_num(out, 0);
}

static const char *type_word(mode_t m) {
  return S_ISREG(m) ? "file" : S_ISDIR(m) ? "dir" : S_ISLNK(m) ? "symlink" : "other";
}

static void op_stat(const char *path, const char *follow, struct sbuf *out) {
  struct stat st;
  if ((parse_flag(follow) ? stat(path, &st) : lstat(path, &st)) < 0) return (void)reply_errno(out, errno);
  sbuf_num(out, 0);
  sbuf_tok(out, type_word(st.st_mode));
  sbuf_num(out, st.st_size);
  sbuf_num(out, st.st_mode & 07777);
  sbuf_num(out, (long long)st.st_mtim.tv_sec * 1000 + st.st_mtim.tv_nsec / 1000000);
  sbuf_num(out, st.st_uid);
  sbuf_num(out, st.st_gid);
}

static void op_readdir(const char *path, struct sbuf *out) {
  int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) return (void)reply_errno(out, errno);
  DIR *d = fdopendir(fd);
  if (!d) {
    close(fd);
    return (void)reply_errno(out, errno);
  }
  sbuf_num(out, 0);
  for (struct dirent *de; (errno = 0, de = readdir(d));) {
    if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0) continue;
    struct stat st;
    const char *type = fstatat(fd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 ? type_word(st.st_mode) : "other";
    if (sbuf_tok(out, de->d_name) < 0 || sbuf_tok(out, type) < 0) {
      closedir(d);
      return (void)reply_errno(out, E2BIG);
    }
  }
  int err = errno;
  closedir(d);
  if (err) reply_errno(out, err);
}

static void op_mkdir(char *path, const char *mode_s, const char *recursive, struct sbuf *out) {
  unsigned mode;
  if (!parse_octal(mode_s, &mode) || mode > 07777) return (void)reply_errno(out, EINVAL);
  if (!parse_flag(recursive)) {
    if (mkdir(path, mode) < 0) return (void)reply_errno(out, errno);
    return (void)sbuf_num(out, 0);
  }
  /* Each parent in turn, as `mkdir -p`: an existing directory is fine, anything else is not. */
  for (char *s = path + 1;; s++) {
    if (*s != '/' && *s) continue;
    char c = *s;
    *s = 0;
    struct stat st;
    if (mkdir(path, mode) < 0 && (errno != EEXIST || stat(path, &st) < 0 || !S_ISDIR(st.st_mode))) {
      int err = errno == EEXIST ? ENOTDIR : errno;
      *s = c;
      return (void)reply_errno(out, err);
    }
    *s = c;
    if (!c) break;
  }
  sbuf_num(out, 0);
}

/* Removes everything under the directory `dir` (an fd of our own, never reopened by name). */
static int empty_dir(int dir, int depth) {
  if (depth > REMOVE_DEPTH) return errno = ELOOP, -1;
  int fd = dup(dir);
  DIR *d = fd < 0 ? NULL : fdopendir(fd);
  if (!d) {
    if (fd >= 0) close(fd);
    return -1;
  }
  int rc = 0;
  for (struct dirent *de; (errno = 0, de = readdir(d));) {
    if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0) continue;
    if (unlinkat(dir, de->d_name, 0) == 0) continue;
    if (errno != EISDIR && errno != EPERM) {
      rc = -1;
      break;
    }
    /* A directory: opened without following a link swapped in meanwhile. */
    int sub cleanup_fd = openat(dir, de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
    if (sub < 0 || empty_dir(sub, depth + 1) < 0 || unlinkat(dir, de->d_name, AT_REMOVEDIR) < 0) {
      rc = -1;
      break;
    }
    rewinddir(d);
  }
  int err = errno;
  closedir(d);
  return rc < 0 ? (errno = err, -1) : 0;
}

static void op_remove(const char *path, const char *recursive, struct sbuf *out) {
  if (unlink(path) == 0 || (errno == EISDIR && rmdir(path) == 0)) return (void)sbuf_num(out, 0);
  if (errno != EISDIR && errno != ENOTEMPTY && errno != EEXIST) return (void)reply_errno(out, errno);
  if (!parse_flag(recursive)) return (void)reply_errno(out, errno == EISDIR ? ENOTEMPTY : errno);
  int dir cleanup_fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
  if (dir < 0 || empty_dir(dir, 0) < 0 || rmdir(path) < 0) return (void)reply_errno(out, errno);
  sbuf_num(out, 0);
}

void session_fs(char **tok, int ntok, const char *data, size_t len, struct sbuf *out) {
  const char *op = ntok > 0 ? tok[0] : "";
  if (ntok < 2 || tok[1][0] != '/') return (void)reply_errno(out, EINVAL);
  if (strcmp(op, "read") == 0 && ntok == 4) return op_read(tok[1], tok[2], tok[3], out);
  if (strcmp(op, "write") == 0 && ntok == 4) return op_write(tok[1], tok[2], tok[3], data, len, out);
  if (strcmp(op, "stat") == 0 && ntok == 3) return op_stat(tok[1], tok[2], out);
  if (strcmp(op, "readdir") == 0 && ntok == 2) return op_readdir(tok[1], out);
  if (strcmp(op, "mkdir") == 0 && ntok == 4) return op_mkdir(tok[1], tok[2], tok[3], out);
  if (strcmp(op, "remove") == 0 && ntok == 3) return op_remove(tok[1], tok[2], out);
  reply_errno(out, EINVAL);
}
