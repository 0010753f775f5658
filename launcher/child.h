/* child.h — everything that runs inside the new namespaces: init (pid 1) and the target. */
#pragma once
#include <stdint.h>

#include "config.h"

/* Messages from init to the monitor on the report pipe (fixed size, one write each). */
enum report_kind { REPORT_ERROR = 1, REPORT_STARTED = 2, REPORT_EXIT = 3 };
struct report {
  int32_t kind;
  int32_t a, b, c; /* ERROR: step, errno, op; EXIT: wait status */
};

/* Runs as pid 1 of the new pid namespace; never returns. */
_Noreturn void child_main(const struct config *cfg, int sync_fd, int report_fd);
