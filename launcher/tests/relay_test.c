/* relay_test.c — the byte relay (relay.c) on real sockets, under ASan + UBSan: bytes arrive
 * intact through the bounded buffers, half-close passes through in each direction, a pair ends
 * when both directions are over or a side fails, a full relay refuses (closing what it was given).
 * Last line: "relay_test: N passed, M failed". */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "relay.h"

static int passed, failed, cur_fail;
static const char *cur_name;
#define CHECK(cond)                                                                  \
  do {                                                                               \
    if (!(cond)) {                                                                   \
      printf("    %s:%d: %s\n", __FILE__, __LINE__, #cond);                          \
      cur_fail++;                                                                    \
    }                                                                                \
  } while (0)

static void begin(const char *name) {
  cur_name = name;
  cur_fail = 0;
}
static void end(void) {
  if (cur_fail) {
    printf("FAIL %s\n", cur_name);
    failed++;
  } else {
    printf("ok %s\n", cur_name);
    passed++;
  }
}

/* A nonblocking stream socketpair. */
static void pair(int sv[2]) {
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) < 0) abort();
}

static bool fd_open(int fd) { return fcntl(fd, F_GETFD) >= 0; }

/* One round of the monitor's loop over the relay, waiting at most ms. */
static void step(struct relay *r, int ms) {
  struct pollfd pfd[RELAY_POLLFDS(4)];
  size_t n = relay_poll_fill(r, pfd);
  if (poll(pfd, n, ms) < 0 && errno != EINTR) abort();
  relay_poll_done(r, pfd, n);
}

static struct relay_pair storage[4];

/* client (c[0]) <-> relay (c[1] | s[0]) <-> server (s[1]) */
static void test_bytes_and_half_close(void) {
  begin("1 MiB each way intact; half-close passes through both ways; the pair then ends");
  struct relay r;
  relay_init(&r, storage, 4);
  int c[2], s[2];
  pair(c);
  pair(s);
  CHECK(relay_add(&r, c[1], s[0]) == 0 && r.active == 1);
  size_t total = 1u << 20, sent = 0, got = 0;
  unsigned char *out = malloc(total), *in = malloc(total);
  for (size_t i = 0; i < total; i++) out[i] = (unsigned char)(i * 7 + 3);
  bool eof = false;
  for (int rounds = 0; rounds < 100000 && !eof; rounds++) {
    if (sent < total) {
      ssize_t w = write(c[0], out + sent, total - sent);
      if (w > 0) sent += (size_t)w;
      if (sent == total) shutdown(c[0], SHUT_WR); /* the client is done sending */
    }
    step(&r, 10);
    for (;;) {
      ssize_t n = read(s[1], in + got, total - got + 1);
      if (n > 0) got += (size_t)n;
      if (n == 0) eof = true;
      if (n <= 0) break;
    }
  }
  CHECK(eof && got == total && memcmp(in, out, total) == 0);
  CHECK(r.active == 1); /* the other direction is still open */
  /* The server answers after the end of file, then closes: the client reads it, then EOF. */
  CHECK(write(s[1], "reply", 5) == 5);
  close(s[1]);
  char buf[16];
  size_t rn = 0;
  bool ceof = false;
  for (int rounds = 0; rounds < 1000 && !ceof; rounds++) {
    step(&r, 10);
    ssize_t n = read(c[0], buf + rn, sizeof buf - rn);
    if (n > 0) rn += (size_t)n;
    if (n == 0) ceof = true;
  }
  CHECK(ceof && rn == 5 && memcmp(buf, "reply", 5) == 0);
  CHECK(r.active == 0 && !fd_open(c[1]) && !fd_open(s[0])); /* both directions over: closed */
  close(c[0]);
  free(out);
  free(in);
  end();
}

static void test_reset(void) {
  begin("a side that goes away with bytes still owed ends the pair, nothing spins");
  struct relay r;
  relay_init(&r, storage, 4);
  int c[2], s[2];
  pair(c);
  pair(s);
  CHECK(relay_add(&r, c[1], s[0]) == 0);
  /* The server floods the client, which closes without reading. */
  char chunk[4096];
  memset(chunk, 'x', sizeof chunk);
  for (int i = 0; i < 64; i++) {
    if (write(s[1], chunk, sizeof chunk) < 0) break;
    step(&r, 0);
  }
  close(c[0]);
  for (int rounds = 0; rounds < 1000 && r.active; rounds++) {
    step(&r, 10);
    while (write(s[1], chunk, sizeof chunk) > 0) {
    }
  }
  CHECK(r.active == 0);
  /* The server sees the end: its peer (the relay's side) is closed — end of file, or a reset for
   * the bytes it sent that nobody read; not EAGAIN (still open). */
  char b;
  ssize_t n;
  while ((n = read(s[1], &b, 1)) > 0) {
  }
  CHECK(n == 0 || errno == ECONNRESET);
  close(s[1]);
  end();
}

static void test_full(void) {
  begin("a full relay refuses and closes what it was given; relay_close_all closes every pair");
  struct relay r;
  relay_init(&r, storage, 2);
  int fds[6][2];
  for (int i = 0; i < 6; i++) pair(fds[i]);
  CHECK(relay_add(&r, fds[0][1], fds[1][0]) == 0);
  CHECK(relay_add(&r, fds[2][1], fds[3][0]) == 0);
  CHECK(relay_full(&r));
  CHECK(relay_add(&r, fds[4][1], fds[5][0]) == -1);
  CHECK(!fd_open(fds[4][1]) && !fd_open(fds[5][0]));
  relay_close_all(&r);
  CHECK(r.active == 0 && !fd_open(fds[0][1]) && !fd_open(fds[3][0]));
  /* Our own ends: every relay-side end is closed already. */
  for (int i = 0; i < 6; i += 2) {
    close(fds[i][0]);
    close(fds[i + 1][1]);
  }
  end();
}

int main(void) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  signal(SIGPIPE, SIG_IGN); /* the test's own writes to a closed peer; the relay uses MSG_NOSIGNAL */
  test_bytes_and_half_close();
  test_reset();
  test_full();
  printf("relay_test: %d passed, %d failed\n", passed, failed);
  return failed ? 1 : 0;
}
