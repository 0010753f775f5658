/* child.h — everything that runs inside the new namespaces: init (pid 1) and the target. */
#pragma once
#include <stdint.h>

#include "config.h"

/* Messages from init to the monitor on the report socket (SOCK_SEQPACKET: one message per
 * send). REPORT_LISTENER carries the target's pidfd (SCM_RIGHTS) and, in a, the number of the
 * seccomp listener fd in the target; the monitor takes it with pidfd_getfd() and acks with one
 * byte that the target reads. */
enum report_kind { REPORT_ERROR = 1, REPORT_STARTED = 2, REPORT_EXIT = 3, REPORT_LISTENER = 4 };
struct report {
  int32_t kind;
  int32_t a, b, c; /* ERROR: step, errno, op; EXIT: wait status; LISTENER: fd */
};

/* Runs as pid 1 of the new pid namespace; never returns. */
_Noreturn void child_main(const struct config *cfg, int sync_fd, int report_fd);
