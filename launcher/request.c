/* request.c — the per-run request channel (see request.h). */
#include "request.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"

#define REQUEST_MAGIC 0x31515253u /* "SRQ1" */
#define REQUEST_CHUNK (32u << 10) /* below any SOCK_SEQPACKET send buffer */
#define REQUEST_TOKENS_MAX TOKENS_MAX

struct request_header {
  uint32_t magic, len;
  int32_t exec_op, stdio_from;
};

static const char *const FIFO_NAMES[3] = {"stdin", "stdout", "stderr"};

/* Makes DIR/name as a new FIFO, readable and writable by anyone: the target (another uid) must be
 * able to reopen its own stdio through /proc/self/fd (/dev/stdout), as it can a pipe. Only the
 * holder of an fd reaches it that way; the path is inside the caller's private 0700 dir. */
static int make_fifo(int dirfd, int i) {
  if (mkfifoat(dirfd, FIFO_NAMES[i], 0600) < 0) return -1;
  return fchmodat(dirfd, FIFO_NAMES[i], 0666, 0);
}

/* make_fifo(), or a FIFO made ahead (request_make_fifos: the host opens those before "ready");
 * open_fifo() checks that the name is one. */
static int have_fifo(int dirfd, int i) {
  return make_fifo(dirfd, i) < 0 && errno != EEXIST ? -1 : 0;
}

/* Opens DIR/name relative to the dir fd (no link is followed); it must be a FIFO. */
static int open_fifo(int dirfd, const char *dir, int i, int flags, struct sbx_err *e) {
  int fd;
  do fd = openat(dirfd, FIFO_NAMES[i], flags | O_NOFOLLOW | O_CLOEXEC);
  while (fd < 0 && errno == EINTR);
  if (fd < 0) return fail_path(e, STEP_STDIO, dir);
  struct stat st;
  int err = fstat(fd, &st) < 0 ? errno : S_ISFIFO(st.st_mode) ? 0 : EINVAL;
  if (err == 0) return fd;
  close(fd);
  fail_errno(e, STEP_STDIO, -1, err);
  e->path = dir;
  return -1;
}

int request_make_fifos(const char *dir, struct sbx_err *e) {
  int dirfd cleanup_fd = open(dir, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (dirfd < 0) return fail_path(e, STEP_STDIO, dir);
  for (int i = 0; i < 3; i++)
    if (make_fifo(dirfd, i) < 0) return fail_path(e, STEP_STDIO, dir);
  return 0;
}

int request_open_stdio(const char *dir, bool stdin_fifo, int ready_fd, int fds[3], struct sbx_err *e) {
  return request_open_stdio_line(dir, stdin_fifo, ready_fd, "ready\n", fds, e);
}

int request_open_stdio_line(const char *dir, bool stdin_fifo, int ready_fd, const char *line, int fds[3],
                            struct sbx_err *e) {
  fds[0] = fds[1] = fds[2] = -1;
  int dirfd cleanup_fd = open(dir, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (dirfd < 0) return fail_path(e, STEP_STDIO, dir);
  if (stdin_fifo) {
    /* Non-blocking: a read open needs no writer then. Blocking again for the target. */
    if (have_fifo(dirfd, 0) < 0) {
      fail_path(e, STEP_STDIO, dir);
      goto fail;
    }
    if ((fds[0] = open_fifo(dirfd, dir, 0, O_RDONLY | O_NONBLOCK, e)) < 0) goto fail;
    int fl = fcntl(fds[0], F_GETFL);
    if (fl < 0 || fcntl(fds[0], F_SETFL, fl & ~O_NONBLOCK) < 0) {
      fail_path(e, STEP_STDIO, dir);
      goto fail;
    }
  } else {
    int p[2];
    if (pipe2(p, O_CLOEXEC) < 0) {
      fail_path(e, STEP_STDIO, dir);
      goto fail;
    }
    close(p[1]);
    fds[0] = p[0];
  }
  /* stdout and stderr are made before "ready": the host opens all of its ends at once. */
  if (have_fifo(dirfd, 1) < 0 || have_fifo(dirfd, 2) < 0) {
    fail_path(e, STEP_STDIO, dir);
    goto fail;
  }
  if (write_full(ready_fd, line, strlen(line)) < 0) {
    fail_path(e, STEP_STDIO, dir);
    goto fail;
  }
  /* Blocks until the host opened its read end: the host never waits on us for it. */
  for (int i = 1; i <= 2; i++)
    if ((fds[i] = open_fifo(dirfd, dir, i, O_WRONLY, e)) < 0) goto fail;
  return 0;
fail:
  close_three(fds);
  return -1;
}

/* The length of "name\0value\0". */
static size_t pair_len(const char *name, const char *value) { return strlen(name) + strlen(value) + 2; }

/* Appends "name\0value\0" to buf, which has room (pair_len). */
static void put(char *buf, size_t *len, const char *name, const char *value) {
  size_t a = strlen(name) + 1, b = strlen(value) + 1;
  memcpy(buf + *len, name, a);
  memcpy(buf + *len + a, value, b);
  *len += a + b;
}

/* On the heap, sized to the request (buf.h says why). */
static char *send_buf;
static size_t send_cap;

int request_send(int sock, const struct run_request *r, const int fds[3], struct sbx_err *e) {
  const char *cwd = r->cwd ? r->cwd : "/";
  size_t len = pair_len("exec", r->exec) + pair_len("chdir", cwd);
  for (char **p = r->argv; *p; p++) len += pair_len("arg", *p);
  for (char **p = r->envp; *p; p++) len += pair_len("env", *p);
  if (len > REQUEST_MAX) return fail_errno(e, STEP_REQUEST, r->exec_op, E2BIG);
  if (buf_reserve(&send_buf, &send_cap, len, 1) < 0) return fail(e, STEP_REQUEST, r->exec_op);
  len = 0;
  put(send_buf, &len, "exec", r->exec);
  put(send_buf, &len, "chdir", cwd);
  for (char **p = r->argv; *p; p++) put(send_buf, &len, "arg", *p);
  for (char **p = r->envp; *p; p++) put(send_buf, &len, "env", *p);
  struct request_header h = {REQUEST_MAGIC, (uint32_t)len, r->exec_op, r->stdio_from};
  ssize_t n = send_fds(sock, &h, sizeof h, fds, 3);
  if (n != (ssize_t)sizeof h) return fail(e, STEP_REQUEST, -1);
  for (size_t off = 0; off < len;) {
    size_t chunk = len - off < REQUEST_CHUNK ? len - off : REQUEST_CHUNK;
    do n = send(sock, send_buf + off, chunk, MSG_NOSIGNAL);
    while (n < 0 && errno == EINTR);
    if (n != (ssize_t)chunk) return fail(e, STEP_REQUEST, -1);
    off += chunk;
  }
  return 0;
}

static char *recv_buf;
static char **recv_argv, **recv_envp;
static size_t recv_cap, recv_argv_cap, recv_envp_cap;

/* Closes what SCM_RIGHTS delivered when the request is refused. */
static int refuse(int fds[3], struct sbx_err *e, int err) {
  close_three(fds);
  return fail_errno(e, STEP_REQUEST, -1, err);
}

int request_recv(int sock, struct run_request *r, int fds[3], struct sbx_err *e) {
  struct request_header h;
  struct iovec iov = {&h, sizeof h};
  union {
    char buf[CMSG_SPACE(3 * sizeof(int))];
    struct cmsghdr align;
  } u;
  struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof u.buf};
  fds[0] = fds[1] = fds[2] = -1;
  ssize_t n;
  do n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
  while (n < 0 && errno == EINTR);
  if (n < 0) return fail(e, STEP_REQUEST, -1);
  for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c))
    if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS && c->cmsg_len == CMSG_LEN(3 * sizeof(int)))
      memcpy(fds, CMSG_DATA(c), 3 * sizeof(int));
  /* The monitor is gone (0), or the message is not a request: nothing is run. */
  if (n == 0) return refuse(fds, e, EPIPE);
  if (n != (ssize_t)sizeof h || h.magic != REQUEST_MAGIC || h.len == 0 || h.len > REQUEST_MAX ||
      (msg.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) || fds[0] < 0 || fds[1] < 0 || fds[2] < 0 ||
      h.stdio_from < 0 || h.stdio_from > 3)
    return refuse(fds, e, EPROTO);
  /* A pair takes at least 5 bytes ("arg\0" and an empty value), so h.len / 4 + 2 entries hold
   * every arg or env, the exec's name in place of an empty argv, and the NULL; so do
   * REQUEST_TOKENS_MAX + 1, the most taken below. */
  size_t most = h.len / 4 + 2 < REQUEST_TOKENS_MAX + 1 ? h.len / 4 + 2 : REQUEST_TOKENS_MAX + 1;
  if (buf_reserve(&recv_buf, &recv_cap, (size_t)h.len + 1, 1) < 0 ||
      buf_reserve(&recv_argv, &recv_argv_cap, most, sizeof(char *)) < 0 ||
      buf_reserve(&recv_envp, &recv_envp_cap, most, sizeof(char *)) < 0)
    return refuse(fds, e, ENOMEM);
  for (size_t off = 0; off < h.len;) {
    do n = recv(sock, recv_buf + off, h.len - off, 0);
    while (n < 0 && errno == EINTR);
    if (n <= 0) return refuse(fds, e, n == 0 ? EPIPE : errno);
    off += (size_t)n;
  }
  recv_buf[h.len] = '\0';
  if (recv_buf[h.len - 1] != '\0') return refuse(fds, e, EPROTO);
  memset(r, 0, sizeof *r);
  r->exec_op = h.exec_op;
  r->stdio_from = h.stdio_from;
  size_t argc = 0, envc = 0;
  for (size_t i = 0; i < h.len;) {
    char *name = recv_buf + i;
    i += strlen(name) + 1;
    if (i >= h.len) return refuse(fds, e, EPROTO);
    char *value = recv_buf + i;
    i += strlen(value) + 1;
    if (strcmp(name, "exec") == 0 && !r->exec && value[0]) r->exec = value;
    else if (strcmp(name, "chdir") == 0 && !r->cwd && value[0] == '/') r->cwd = value;
    else if (strcmp(name, "arg") == 0 && argc < REQUEST_TOKENS_MAX) recv_argv[argc++] = value;
    else if (strcmp(name, "env") == 0 && envc < REQUEST_TOKENS_MAX && strchr(value, '=') && value[0] != '=')
      recv_envp[envc++] = value;
    else return refuse(fds, e, EPROTO); /* unknown, repeated or malformed: fail closed */
  }
  if (!r->exec) return refuse(fds, e, EPROTO);
  if (argc == 0) recv_argv[argc++] = (char *)r->exec;
  recv_argv[argc] = NULL;
  recv_envp[envc] = NULL;
  r->argv = recv_argv;
  r->envp = recv_envp;
  return 0;
}

void request_from_config(const struct config *cfg, struct run_request *r) {
  *r = (struct run_request){cfg->exec, cfg->argv, cfg->envp, cfg->cwd, cfg->exec_op,
                            !cfg->stdio_dir ? 3 : cfg->stdin_fifo ? 0 : 1};
}
