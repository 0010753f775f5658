/* monitor.h — the monitor once init is released: it answers the seccomp listener, records init's
 * reports, enforces the wall clock, forwards signals, and after init exits collects the outcome
 * and picks the launcher's exit code. main.c builds the struct monitor; this file runs it. */
#pragma once
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "cgroup.h"
#include "abi.h"
#include "config.h"
#include "status.h"
#include "tty.h"
#include "util.h"

/* SIG_KILL_SANDBOX (abi.h) is the monitor's own control signal; the FORWARDED_SIGNALS are passed
 * on to the target through init; any other signal kills the launcher, and init with it. */

/* What the monitor holds while the sandbox runs. */
struct monitor {
  int status_fd;
  int sync_fd;   /* write end: one byte releases init; held open until the monitor exits, so a
                  * hang-up tells init that the monitor died */
  int report_fd; /* our end of init's reports (struct report, child.h) */
  int init_sync_fd, init_report_fd; /* init's ends, closed here once init is cloned */
  int signal_fd, timer_fd;
  pid_t init; /* pid 1 of the sandbox, or -1 before clone */
  int pidfd;
  uint64_t start_us;
  struct cgroup_state cg;
  struct tty_relay *tty; /* with the tty op: the pseudo-terminal's relay (tty.h), else NULL */
  /* stdio-fifos: the line that tells the host the FIFOs are ready ("ready\n"; a warm launcher's
   * runs add their id), and what a run's op indexes add to be the host's (warm.c). */
  const char *ready_line;
  int op_base;
  /* A warm launcher's run: our socket to it (warm.c), told 'E' once the target exec'd and 'D'
   * with the exit code once the result is written; else -1. */
  int warm_sock;
};
#define MONITOR_INIT {.status_fd = -1, .init = -1, .pidfd = -1, .ready_line = "ready\n", .warm_sock = -1}

/* How the run ended. */
struct outcome {
  struct exit_info x;
  struct sbx_err err; /* init's or the target's setup failure, if any */
  bool have_exit;     /* init reported the target's wait status */
  int wstatus;
  int init_status;    /* init's own wait status */
  bool reaped;        /* init reported every process of the run reaped (REPORT_REAPED), with
                       * the usage (in x): the result is known before init's exit */
  bool ending;        /* init was asked to end the run (the grace timer runs) */
};
#define OUTCOME_INIT {.x = {.code = -1, .seccomp = {-1, 0, 0}}, .err = SBX_ERR_NONE}

/* Runs until init reported the run reaped, or exited. Killing init takes the whole pid
 * namespace with it. */
void monitor_loop(const struct monitor *m, const struct config *cfg, struct outcome *o);
/* Replaces *e with the error init reported, if it did (the reports waiting are consumed): a prepared
 * run's init that failed its part of the setup after the monitor's (the root, mounts) is gone
 * when its request is sent, and its own error, not the send's, is the run's. */
void monitor_init_error(const struct monitor *m, struct sbx_err *e);
/* After the loop: the last reports, usage, the cgroup's counters (the run's processes are all
 * gone; init, when it reported them reaped, may still be tearing down its namespaces). */
void monitor_collect(struct monitor *m, struct outcome *o);
/* After the result is written: waits for init (if it is still there) and removes the cgroup. */
void monitor_release(struct monitor *m, struct outcome *o);
/* The launcher's exit code (abi.h); fills the exit record's code and signal. */
int exit_code(struct outcome *o);
