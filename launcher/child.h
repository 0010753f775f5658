/* child.h — everything that runs inside the new namespaces: init (pid 1) and the target. */
#pragma once
#include <stdint.h>

#include "config.h"
#include "util.h"

/* Messages between the processes, one struct, one kind each:
 *  - init -> monitor, on the report socket (SOCK_SEQPACKET: one message per send): ERROR,
 *    STARTED, EXIT, and LISTENER with the target's pidfd attached (SCM_RIGHTS); the monitor takes
 *    the listener with pidfd_getfd() and acks with one byte that the target reads.
 *    EGRESS with the egress listener attached (egress.c), sent before the target is forked.
 *  - target -> init, on the exec pipe (close-on-exec: end of file means execve succeeded): ERROR,
 *    after which the target exits, or LISTENER, which init passes on as above. */
enum report_kind {
  REPORT_ERROR = 1, REPORT_STARTED = 2, REPORT_EXIT = 3, REPORT_LISTENER = 4,
  REPORT_TTY = 5, /* init -> monitor: the pseudo-terminal's master attached (tty.h) */
  REPORT_EGRESS = 6, /* init -> monitor: the egress listener attached (egress.c) */
  REPORT_LISTENER_FD = 7, /* the target's courier -> monitor: the seccomp listener attached */
  REPORT_REAPED = 8, /* init -> monitor, last: every process of the run is reaped and init's
                      * stdio closed; carries the usage wait4() on init would give */
  REPORT_NO_COURIER = 9 /* target -> init, on the exec pipe: a target in init's memory could not
                         * make its courier (target.h); init starts a fork instead */
};
struct report {
  int32_t kind;
  int32_t step, err, op; /* ERROR: the failure (the receiver resolves its path from op) */
  int32_t value;         /* EXIT: the target's wait status; LISTENER: the listener's fd number in
                          * the target */
  uint64_t user_us, sys_us, max_rss_kb; /* REAPED: init's own and its reaped children's */
};

/* An error as the report that carries it. */
static inline struct report report_of_error(const struct sbx_err *e) {
  return (struct report){.kind = REPORT_ERROR, .step = e->step, .err = e->err, .op = e->op};
}

/* Runs as pid 1 of the new pid namespace; never returns. */
_Noreturn void child_main(const struct config *cfg, int sync_fd, int report_fd);
