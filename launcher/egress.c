/* egress.c — the listener inside the sandbox's network namespace and the monitor's connections
 * to the host-side proxy (see egress.h). */
#include "egress.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

int egress_apply(const struct config *cfg, struct sbx_err *e) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return fail(e, STEP_EGRESS, cfg->egress_op);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(cfg->egress_port)};
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  int one = 1;
  if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0 ||
      bind(fd, (struct sockaddr *)&a, sizeof a) < 0 || listen(fd, 128) < 0) {
    fail(e, STEP_EGRESS, cfg->egress_op);
    close(fd);
    return -1;
  }
  return fd;
}

/* The host side, or -1: nonblocking, so a proxy whose backlog is full costs one refused
 * connection, never a stalled monitor. */
static int connect_host(const char *path) {
  struct sockaddr_un a = {.sun_family = AF_UNIX};
  size_t len = strlen(path);
  if (len >= sizeof a.sun_path) return -1; /* config.c checks: unreachable */
  memcpy(a.sun_path, path, len + 1);
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return -1;
  if (connect(fd, (struct sockaddr *)&a, sizeof a) < 0 && errno != EINPROGRESS) {
    close(fd);
    return -1;
  }
  return fd;
}

void egress_accept(const struct config *cfg, int listener, struct relay *r) {
  while (!relay_full(r)) {
    int in = accept4(listener, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (in < 0) return; /* EAGAIN: none left; anything else: retried on the next wake-up */
    int out = connect_host(cfg->egress_path);
    if (out < 0) {
      close(in);
      continue;
    }
    relay_add(r, in, out);
  }
}
