/* session_port.c — relayed connections to ports inside the session (session_port.h). One chunk
 * from the host in flight per connection (acknowledged once written), so the agent buffers at
 * most one frame each; bytes from the port go out as they come. */
#include "session_port.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "session_wire.h"
#include "util.h"

struct conn {
  bool used, rd_eof, wr_shut, shut_after;
  uint32_t id;
  int fd;
  struct sbuf pending;
  size_t off;
};
static struct conn conns[SESSION_MAX_CONNS];
/* Which connection each pollfd of the last session_port_pollfds() was. */
static struct conn *polled[SESSION_MAX_CONNS];

static struct conn *conn_by_id(uint32_t id) {
  for (int i = 0; i < SESSION_MAX_CONNS; i++)
    if (conns[i].used && conns[i].id == id) return &conns[i];
  return NULL;
}

static void conn_drop(struct conn *c) {
  if (c->fd >= 0) close(c->fd);
  sbuf_free(&c->pending);
  *c = (struct conn){.fd = -1};
}

static void open_reply(uint32_t id, int err) {
  struct sbuf b = {0};
  sbuf_num(&b, err);
  session_send(SW_CONN_OPEN, id, b.p, b.len);
  sbuf_free(&b);
}

static void conn_open(uint32_t id, const char *port_s) {
  uint64_t port;
  if (!parse_u64(port_s, &port) || port == 0 || port > 65535 || conn_by_id(id)) return open_reply(id, EINVAL);
  struct conn *c = NULL;
  for (int i = 0; i < SESSION_MAX_CONNS && !c; i++)
    if (!conns[i].used) c = &conns[i];
  if (!c) return open_reply(id, EMFILE);
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return open_reply(id, errno);
  /* Loopback connects at once or is refused; a full backlog may not stall the agent for long. */
  struct timeval tv = {2, 0};
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                           .sin_addr = {htonl(INADDR_LOOPBACK)}};
  if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
    int err = errno;
    close(fd);
    return open_reply(id, err);
  }
  fcntl(fd, F_SETFL, O_NONBLOCK);
  *c = (struct conn){.used = true, .id = id, .fd = fd};
  open_reply(id, 0);
}

static void conn_flush(struct conn *c) {
  while (c->off < c->pending.len) {
    ssize_t n = write(c->fd, c->pending.p + c->off, c->pending.len - c->off);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) return;
    if (n < 0) break; /* reset by the port: what is left is dropped, the read side reports */
    c->off += (size_t)n;
  }
  c->pending.len = c->off = 0;
  session_send(SW_CONN_ACK, c->id, NULL, 0);
  if (c->shut_after && !c->wr_shut) {
    shutdown(c->fd, SHUT_WR);
    c->wr_shut = true;
  }
  if (c->rd_eof && c->wr_shut) conn_drop(c);
}

void session_port_request(uint8_t type, uint32_t id, char *payload, size_t len) {
  if (type == SW_CONNECT) {
    if (!len || payload[len - 1]) return open_reply(id, EINVAL);
    return conn_open(id, payload);
  }
  struct conn *c = conn_by_id(id);
  if (type == SW_CONN_DATA) {
    if (!c || c->wr_shut) return session_send(SW_CONN_ACK, id, NULL, 0);
    c->pending.len = c->off = 0;
    if (sbuf_put(&c->pending, payload, len) < 0) return session_send(SW_CONN_ACK, id, NULL, 0);
    return conn_flush(c);
  }
  /* CONN_CLOSE: "1" drops it now; else no more bytes from the host. */
  if (!c) return;
  if (len && payload[0] == '1') return conn_drop(c);
  if (c->pending.len) {
    c->shut_after = true;
    return;
  }
  shutdown(c->fd, SHUT_WR);
  c->wr_shut = true;
  if (c->rd_eof) conn_drop(c);
}

int session_port_pollfds(struct pollfd *p) {
  int n = 0;
  for (int i = 0; i < SESSION_MAX_CONNS; i++) {
    struct conn *c = &conns[i];
    if (!c->used) continue;
    short ev = (short)((c->rd_eof ? 0 : POLLIN) | (c->pending.len ? POLLOUT : 0));
    if (!ev) continue;
    polled[n] = c;
    p[n++] = (struct pollfd){.fd = c->fd, .events = ev};
  }
  return n;
}

void session_port_ready(const struct pollfd *p, size_t n) {
  for (size_t i = 0; i < n; i++) {
    struct conn *c = polled[i];
    if (!p[i].revents || !c->used || c->fd != p[i].fd) continue;
    if (p[i].revents & POLLOUT) conn_flush(c);
    if (!c->used || c->rd_eof || !(p[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
    char buf[65536];
    ssize_t got = read(c->fd, buf, sizeof buf);
    if (got < 0 && (errno == EAGAIN || errno == EINTR)) continue;
    if (got > 0) {
      session_send(SW_CONN_BYTES, c->id, buf, (size_t)got);
      continue;
    }
    /* EOF or reset: the port is done sending. */
    session_send(SW_CONN_EOF, c->id, NULL, 0);
    c->rd_eof = true;
    if (got < 0 || c->wr_shut) conn_drop(c);
  }
}
