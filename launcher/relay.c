/* relay.c — the bounded two-way byte relay (see relay.h). */
#include "relay.h"

#include <errno.h>
#include <sys/socket.h>
#include <unistd.h>

void relay_init(struct relay *r, struct relay_pair *pairs, size_t cap) {
  r->pairs = pairs;
  r->cap = cap;
  r->active = 0;
  r->used = 0;
}

static bool in_use(const struct relay *r, size_t i) { return r->used & (UINT64_C(1) << i); }

bool relay_full(const struct relay *r) { return r->active == r->cap; }

int relay_add(struct relay *r, int a, int b) {
  for (size_t i = 0; i < r->cap; i++) {
    if (in_use(r, i)) continue;
    struct relay_pair *p = &r->pairs[i];
    r->used |= UINT64_C(1) << i;
    p->fd[0] = a;
    p->fd[1] = b;
    for (int d = 0; d < 2; d++) {
      struct relay_dir *x = &p->dir[d];
      x->off = x->len = 0;
      x->rd_eof = x->wr_dead = x->shut = false;
    }
    r->active++;
    return 0;
  }
  close(a);
  close(b);
  return -1;
}

static void pair_close(struct relay *r, size_t i) {
  close(r->pairs[i].fd[0]);
  close(r->pairs[i].fd[1]);
  r->used &= ~(UINT64_C(1) << i);
  r->active--;
}

/* What fd[i] waits for: input while its direction's buffer is empty, output while the other
 * direction has bytes for it. */
static short wanted(const struct relay_pair *p, int i) {
  short ev = 0;
  if (!p->dir[i].rd_eof && p->dir[i].len == 0) ev |= POLLIN;
  if (p->dir[1 - i].len > 0 && !p->dir[1 - i].wr_dead) ev |= POLLOUT;
  return ev;
}

size_t relay_poll_fill(const struct relay *r, struct pollfd *pfd) {
  size_t n = 0;
  for (size_t i = 0; i < r->cap; i++) {
    if (!in_use(r, i)) continue;
    const struct relay_pair *p = &r->pairs[i];
    for (int s = 0; s < 2; s++) {
      short ev = wanted(p, s);
      pfd[n++] = (struct pollfd){ev ? p->fd[s] : -1, ev, 0};
    }
  }
  return n;
}

/* Writes direction d's buffer to fd[1 - d] as far as it goes. A failed write ends the direction,
 * and reading its source with it (nobody would get those bytes). */
static void flush(struct relay_pair *p, int d) {
  struct relay_dir *x = &p->dir[d];
  while (x->len > 0 && !x->wr_dead) {
    ssize_t w = send(p->fd[1 - d], x->buf + x->off, x->len, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (w < 0 && errno == EINTR) continue;
    if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
    if (w <= 0) {
      x->wr_dead = x->rd_eof = true;
      x->len = 0;
      return;
    }
    x->off += (size_t)w;
    x->len -= (size_t)w;
  }
  x->off = 0;
}

static void pump_in(struct relay_pair *p, int d) {
  struct relay_dir *x = &p->dir[d];
  ssize_t n;
  do n = read(p->fd[d], x->buf, sizeof x->buf);
  while (n < 0 && errno == EINTR);
  if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
  if (n <= 0) {
    x->rd_eof = true; /* end of file, or a reset: nothing more comes from this side */
    return;
  }
  x->off = 0;
  x->len = (size_t)n;
  flush(p, d);
}

/* Half-close passed on; true when both directions are over. */
static bool settle(struct relay_pair *p) {
  for (int d = 0; d < 2; d++) {
    struct relay_dir *x = &p->dir[d];
    if (x->rd_eof && x->len == 0 && !x->shut) {
      x->shut = true;
      if (!x->wr_dead) shutdown(p->fd[1 - d], SHUT_WR);
    }
  }
  return p->dir[0].shut && p->dir[1].shut;
}

void relay_poll_done(struct relay *r, const struct pollfd *pfd, size_t n) {
  size_t k = 0;
  for (size_t i = 0; i < r->cap && k < n; i++) {
    if (!in_use(r, i)) continue;
    struct relay_pair *p = &r->pairs[i];
    for (int s = 0; s < 2; s++, k++) {
      short re = pfd[k].revents;
      if (pfd[k].fd < 0 || !re) continue;
      /* An error or hang-up is found by the read or write it makes fail. */
      if ((pfd[k].events & POLLIN) && (re & (POLLIN | POLLHUP | POLLERR))) pump_in(p, s);
      if ((pfd[k].events & POLLOUT) && (re & (POLLOUT | POLLHUP | POLLERR))) flush(p, 1 - s);
    }
    if (settle(p)) pair_close(r, i);
  }
}

void relay_close_all(struct relay *r) {
  for (size_t i = 0; i < r->cap; i++)
    if (in_use(r, i)) pair_close(r, i);
}
