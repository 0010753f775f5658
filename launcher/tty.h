/* tty.h — a pseudo-terminal for the target from the sandbox's own devpts instance (the `tty`
 * op), and the monitor's relay between its master and the launcher's stdin/stdout.
 *
 * Who does what, in the three verbs of every feature file:
 *  - tty_prepare (monitor, before clone): makes the control FIFO (`tty-control PATH`, a host path
 *    in the caller's private 0700 run dir) and holds it open read-write, so the caller's writer
 *    never blocks and the monitor never sees end-of-file.
 *  - tty_open (init, after the new root is built): opens the master from <dev>/pts/ptmx — the
 *    fresh `newinstance` devpts of the `dev` op, checked to be a devpts — unlocks it, sets the
 *    window size and opens the slave with TIOCGPTPEER (no path lookup). init passes the master
 *    to the monitor over the report socket (SCM_RIGHTS, REPORT_TTY in child.h): the monitor is
 *    outside every namespace and never opens a path of the sandbox.
 *  - tty_apply (the target, right after setsid): the slave becomes the controlling terminal
 *    (TIOCSCTTY) and fds 0, 1 and 2.
 *  - tty_relay_* (monitor loop): stdin -> master, master -> stdout, bounded buffers, never a
 *    blocking call; control records "COLS ROWS\n" -> TIOCSWINSZ on the master (the kernel sends
 *    SIGWINCH to the terminal's foreground process group). At end-of-file on stdin the
 *    terminal's VEOF character (^D) is written — twice after a last line without a newline (the
 *    first only ends that line) — so a canonical-mode reader sees end-of-file.
 *  - tty_finish (monitor, after init exited): the rest of the output (every slave is closed, so
 *    the master reads what is left, then EIO), the FIFO removed. */
#pragma once
#include <poll.h>
#include <stdbool.h>
#include <stddef.h>

#include "config.h"
#include "util.h"

#define TTY_BUF 4096 /* at most one pipe page per write: a write after POLLOUT never blocks */

struct tty_relay {
  int master;     /* -1 until init passed it */
  int in_fd;      /* the launcher's stdin (0) */
  int out_fd;     /* the launcher's stdout (1) */
  int control_fd; /* the control FIFO, or -1 */
  const char *control_path;
  unsigned short cols, rows; /* the last size asked for, applied when the master arrives */
  bool in_eof, eof_sent, master_eof, out_broken;
  bool mid_line; /* the input so far ends without a newline */
  unsigned long long written; /* bytes written to out_fd so far */
  size_t to_master_len, to_out_len, control_len;
  char to_master[TTY_BUF], to_out[TTY_BUF], control[64];
};

/* The poll slots the relay needs, in the monitor's pollfd array. */
enum tty_slot { TTY_SLOT_IN, TTY_SLOT_MASTER, TTY_SLOT_OUT, TTY_SLOT_CONTROL, TTY_SLOT_COUNT };

/* Monitor, before clone: the relay's initial state and the control FIFO. */
int tty_prepare(const struct config *cfg, struct tty_relay *t, struct sbx_err *e);
/* A master from the devpts multiplexer at `ptmx` (checked to be a devpts), unlocked and sized,
 * and its slave (TIOCGPTPEER), both close-on-exec; -1 with errno. */
int pty_pair(const char *ptmx, unsigned short cols, unsigned short rows, int *master, int *slave);
/* TIOCSWINSZ: the kernel sends SIGWINCH to the terminal's foreground process group. */
int tty_resize(int master, unsigned short cols, unsigned short rows);
/* Init, inside the new root: a master and its slave (both close-on-exec). */
int tty_open(const struct config *cfg, int *master, int *slave, struct sbx_err *e);
/* The target, a session leader without a terminal: the slave becomes its terminal and stdio. */
int tty_apply(int slave, struct sbx_err *e);

/* Monitor: takes the master init passed. */
void tty_relay_attach(struct tty_relay *t, int master);
/* Monitor: fills the relay's poll slots (fd -1 for a slot with nothing to do). */
void tty_relay_poll(const struct tty_relay *t, struct pollfd slots[TTY_SLOT_COUNT]);
/* Monitor: moves what the poll said is ready; never blocks. */
void tty_relay_pump(struct tty_relay *t, const struct pollfd slots[TTY_SLOT_COUNT]);
/* Monitor, after init exited: writes out the rest of the output (while the reader keeps taking
 * it: at most TTY_FINISH_IDLE_MS without progress), closes the master, removes the control FIFO. */
#define TTY_FINISH_IDLE_MS 2000u
void tty_finish(struct tty_relay *t);
