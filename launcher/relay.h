/* relay.h — a generic, bounded byte relay: pairs of connected stream sockets pumped both ways
 * from one poll loop (the monitor's). Mechanism only: the relay knows fds, not what they carry.
 * Each direction has one fixed buffer (RELAY_BUF bytes): a side is read only while its buffer is
 * empty, so a slow reader throttles its writer instead of growing memory. Half-close is passed
 * on: end of file read from one side becomes shutdown(SHUT_WR) on the other, and the pair is
 * closed once both directions are done (or a side fails). Every fd must be O_NONBLOCK. */
#pragma once
#include <poll.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RELAY_BUF 16384u

struct relay_dir { /* bytes read from fd[d], written to fd[1 - d] */
  char buf[RELAY_BUF];
  size_t off, len;
  bool rd_eof;  /* fd[d] will give no more (end of file, error, or the other side failed) */
  bool wr_dead; /* fd[1 - d] cannot take more (a write failed): buffered bytes are dropped */
  bool shut;    /* fd[1 - d] got shutdown(SHUT_WR) */
};

struct relay_pair {
  int fd[2];
  struct relay_dir dir[2];
};

/* At most 64 slots: which are in use is a bit mask, so that the slots' storage (32 KiB each) is
 * written only when a pair takes it: every monitor has a relay, and a page written in a fresh
 * process is a page fault. */
#define RELAY_CAP_MAX 64u

struct relay {
  struct relay_pair *pairs; /* the caller's storage: cap slots */
  size_t cap, active;
  uint64_t used; /* bit i: pairs[i] is a pair */
};

/* Two pollfds per active pair. */
#define RELAY_POLLFDS(cap) ((cap) * 2u)

/* cap <= RELAY_CAP_MAX. */
void relay_init(struct relay *r, struct relay_pair *pairs, size_t cap);
/* Takes ownership of a and b (closed when the pair ends, or here when the relay is full):
 * 0, or -1 when every slot is taken. */
int relay_add(struct relay *r, int a, int b);
bool relay_full(const struct relay *r);
/* Fills pfd (room for RELAY_POLLFDS(cap)) with what each active pair waits for; returns the
 * count. An fd with nothing to wait for is -1 (poll ignores it, so a hang-up cannot spin). */
size_t relay_poll_fill(const struct relay *r, struct pollfd *pfd);
/* Moves bytes for the revents poll() returned on what relay_poll_fill() filled (nothing may be
 * added in between), and closes the pairs that are done. */
void relay_poll_done(struct relay *r, const struct pollfd *pfd, size_t n);
/* Closes every pair. */
void relay_close_all(struct relay *r);
