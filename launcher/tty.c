/* tty.c — a pseudo-terminal for the target and the monitor's relay (see tty.h). */
#include "tty.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <termios.h>
#include <unistd.h>

int tty_prepare(const struct config *cfg, struct tty_relay *t, struct sbx_err *e) {
  memset(t, 0, sizeof *t);
  t->master = t->control_fd = -1;
  t->in_fd = 0;
  t->out_fd = 1;
  t->cols = cfg->tty_cols;
  t->rows = cfg->tty_rows;
  if (!cfg->tty_control) return 0;
  /* A fresh FIFO in the caller's private dir; an existing name is refused, never reused. */
  if (mkfifo(cfg->tty_control, 0600) < 0) return fail(e, STEP_TTY, cfg->tty_control_op);
  t->control_path = cfg->tty_control;
  /* Read-write: a FIFO with a writer of our own never reads end-of-file, and the caller's
   * open for writing never waits for a reader. */
  t->control_fd = open(cfg->tty_control, O_RDWR | O_NONBLOCK | O_CLOEXEC | O_NOFOLLOW);
  struct stat st;
  if (t->control_fd < 0 || fstat(t->control_fd, &st) < 0) return fail(e, STEP_TTY, cfg->tty_control_op);
  if (!S_ISFIFO(st.st_mode)) return fail_errno(e, STEP_TTY, cfg->tty_control_op, EINVAL);
  return 0;
}

static int set_size(int master, unsigned short cols, unsigned short rows) {
  struct winsize ws = {.ws_row = rows, .ws_col = cols};
  return ioctl(master, TIOCSWINSZ, &ws);
}

int pty_pair(const char *ptmx, unsigned short cols, unsigned short rows, int *master, int *slave) {
  int m cleanup_fd = open(ptmx, O_RDWR | O_NOCTTY | O_CLOEXEC | O_NOFOLLOW);
  if (m < 0) return -1;
  /* A devpts instance, never a host terminal that a bind put there. */
  struct statfs sfs;
  if (fstatfs(m, &sfs) < 0) return -1;
  if (sfs.f_type != DEVPTS_SUPER_MAGIC) {
    errno = ENOTTY;
    return -1;
  }
  int unlock = 0;
  if (ioctl(m, TIOCSPTLCK, &unlock) < 0 || set_size(m, cols, rows) < 0) return -1;
  int s = ioctl(m, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (s < 0) return -1;
  *slave = s;
  *master = m;
  m = -1;
  return 0;
}

int tty_open(const struct config *cfg, int *master, int *slave, struct sbx_err *e) {
  char path[4200];
  snprintf(path, sizeof path, "%s/pts/ptmx", strcmp(cfg->tty_dev, "/") == 0 ? "" : cfg->tty_dev);
  /* Nothing of the sandbox has run yet, so the path is the one the dev op built: the sandbox's
   * own devpts instance. */
  if (pty_pair(path, cfg->tty_cols, cfg->tty_rows, master, slave) == 0) return 0;
  if (errno == ENOENT || errno == ELOOP || errno == EACCES) return fail_path(e, STEP_TTY, cfg->tty_dev);
  return fail(e, STEP_TTY, cfg->tty_op);
}

int tty_resize(int master, unsigned short cols, unsigned short rows) { return set_size(master, cols, rows); }

int tty_apply(int slave, struct sbx_err *e) {
  if (ioctl(slave, TIOCSCTTY, 0) < 0) return fail(e, STEP_TTY, -1);
  for (int fd = 0; fd <= 2; fd++)
    if (dup2(slave, fd) < 0) return fail(e, STEP_TTY, -1);
  if (slave > 2) close(slave);
  return 0;
}

void tty_relay_attach(struct tty_relay *t, int master) {
  t->master = master;
  /* Our own file description: non-blocking, so a program that reads nothing never stalls us. */
  int fl = fcntl(master, F_GETFL);
  if (fl < 0 || fcntl(master, F_SETFL, fl | O_NONBLOCK) < 0 || set_size(master, t->cols, t->rows) < 0)
    t->master_eof = true; /* unusable: the output ends here, the run goes on */
}

void tty_relay_poll(const struct tty_relay *t, struct pollfd s[TTY_SLOT_COUNT]) {
  bool live = t->master >= 0 && !t->master_eof;
  s[TTY_SLOT_IN] = (struct pollfd){t->in_eof || t->to_master_len == TTY_BUF ? -1 : t->in_fd, POLLIN, 0};
  short mev = (short)((t->to_out_len < TTY_BUF ? POLLIN : 0) | (t->to_master_len ? POLLOUT : 0));
  s[TTY_SLOT_MASTER] = (struct pollfd){live && mev ? t->master : -1, mev, 0};
  s[TTY_SLOT_OUT] = (struct pollfd){t->to_out_len ? t->out_fd : -1, POLLOUT, 0};
  s[TTY_SLOT_CONTROL] = (struct pollfd){t->control_fd, POLLIN, 0};
}

/* One record "COLS ROWS\n"; anything else is ignored (only the caller can write the FIFO). */
static void control_record(struct tty_relay *t, const char *line) {
  unsigned cols, rows;
  char end;
  if (sscanf(line, "%5u %5u%c", &cols, &rows, &end) != 2 || !cols || !rows || cols > 65535 || rows > 65535)
    return;
  t->cols = (unsigned short)cols;
  t->rows = (unsigned short)rows;
  if (t->master >= 0) (void)set_size(t->master, t->cols, t->rows);
}

static void read_control(struct tty_relay *t) {
  ssize_t n = read(t->control_fd, t->control + t->control_len, sizeof t->control - 1 - t->control_len);
  if (n <= 0) return;
  t->control_len += (size_t)n;
  t->control[t->control_len] = '\0';
  char *start = t->control, *nl;
  while ((nl = strchr(start, '\n'))) {
    *nl = '\0';
    control_record(t, start);
    start = nl + 1;
  }
  t->control_len -= (size_t)(start - t->control);
  memmove(t->control, start, t->control_len);
  /* A line longer than any record: drop it. */
  if (t->control_len == sizeof t->control - 1) t->control_len = 0;
}

/* The terminal's end-of-file character after the input ran out: once, or twice when the input
 * ended mid-line (in canonical mode the first one only hands that line over). */
static void queue_eof(struct tty_relay *t) {
  struct termios tio;
  if (t->eof_sent || t->master < 0 || t->to_master_len + 2 > TTY_BUF) return;
  t->eof_sent = true;
  char eof = tcgetattr(t->master, &tio) == 0 ? (char)tio.c_cc[VEOF] : 4;
  t->to_master[t->to_master_len++] = eof;
  if (t->mid_line) t->to_master[t->to_master_len++] = eof;
}

static void drop(char *buf, size_t *len, size_t n) {
  memmove(buf, buf + n, *len - n);
  *len -= n;
}

void tty_relay_pump(struct tty_relay *t, const struct pollfd s[TTY_SLOT_COUNT]) {
  if (s[TTY_SLOT_CONTROL].fd >= 0 && (s[TTY_SLOT_CONTROL].revents & POLLIN)) read_control(t);
  if (s[TTY_SLOT_IN].fd >= 0 && s[TTY_SLOT_IN].revents) {
    ssize_t n = read(t->in_fd, t->to_master + t->to_master_len, TTY_BUF - t->to_master_len);
    if (n > 0) {
      t->to_master_len += (size_t)n;
      t->mid_line = t->to_master[t->to_master_len - 1] != '\n';
    } else if (n == 0 || (errno != EINTR && errno != EAGAIN)) {
      t->in_eof = true;
    }
  }
  const struct pollfd *m = &s[TTY_SLOT_MASTER];
  if (m->fd >= 0 && (m->revents & POLLOUT) && t->to_master_len) {
    ssize_t n = write(t->master, t->to_master, t->to_master_len);
    if (n > 0) drop(t->to_master, &t->to_master_len, (size_t)n);
  }
  if (m->fd >= 0 && (m->revents & (POLLIN | POLLHUP | POLLERR))) {
    ssize_t n = read(t->master, t->to_out + t->to_out_len, TTY_BUF - t->to_out_len);
    if (n > 0) t->to_out_len += (size_t)n;
    /* EIO: every slave is closed (the program and its children are gone). */
    else if (n == 0 || (errno != EINTR && errno != EAGAIN)) t->master_eof = true;
  }
  if (t->master_eof) t->to_master_len = 0; /* nobody will read it */
  if (t->in_eof && !t->to_master_len) queue_eof(t);
  if (s[TTY_SLOT_OUT].fd >= 0 && (s[TTY_SLOT_OUT].revents & (POLLOUT | POLLERR | POLLHUP))) {
    ssize_t n = t->out_broken ? (ssize_t)t->to_out_len : write(t->out_fd, t->to_out, t->to_out_len);
    /* A reader that went away: the output is dropped, the master still drained (the program
     * must not stall on a full terminal). */
    if (n < 0 && errno != EINTR && errno != EAGAIN) {
      t->out_broken = true;
      n = (ssize_t)t->to_out_len;
    }
    if (n > 0) {
      drop(t->to_out, &t->to_out_len, (size_t)n);
      t->written += (unsigned long long)n;
    }
  }
}

void tty_finish(struct tty_relay *t) {
  /* A reader that takes nothing for TTY_FINISH_IDLE_MS loses the rest; a slow one gets it all. */
  uint64_t deadline = now_us() + TTY_FINISH_IDLE_MS * 1000u;
  while (t->master >= 0 && !t->out_broken && (!t->master_eof || t->to_out_len) && now_us() < deadline) {
    struct pollfd s[TTY_SLOT_COUNT];
    tty_relay_poll(t, s);
    s[TTY_SLOT_IN].fd = s[TTY_SLOT_CONTROL].fd = -1;
    if (poll(s, TTY_SLOT_COUNT, (int)((deadline - now_us()) / 1000u) + 1) <= 0) break;
    unsigned long long before = t->written;
    tty_relay_pump(t, s);
    if (t->written != before) deadline = now_us() + TTY_FINISH_IDLE_MS * 1000u;
  }
  if (t->master >= 0) close(t->master);
  if (t->control_fd >= 0) close(t->control_fd);
  if (t->control_path) unlink(t->control_path);
  t->master = t->control_fd = -1;
  t->control_path = NULL;
}
