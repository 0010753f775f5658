/* target.h — the target: the run's last steps inside the finished sandbox, then the program's
 * exec. Init (child.c) starts it once the run's request is there. */
#pragma once
#include <stdbool.h>
#include <sys/types.h>

#include "config.h"
#include "request.h"

/* What the target needs from init: its fds stay init's numbers in the target's copy of the table. */
struct target_args {
  const struct config *cfg;
  const struct run_request *req;
  int exec_fd;   /* the exec pipe's write end (close-on-exec): errors, then end of file */
  int exec_rd;   /* its read end: init's */
  int report_fd; /* the report socket: the seccomp listener's ack comes on it */
  int tty;       /* the terminal's slave, or -1 */
  int ruleset;   /* the Landlock ruleset built by init, or -1 */
};

/* The target's steps that depend only on the policy, done by init before the request, which the
 * target inherits: every signal disposition back to the default (dispositions survive exec) and
 * an empty capability bounding set. 0, or -1 with e filled. */
int target_policy_steps(struct sbx_err *e);

/* Starts the target in init's memory (CLONE_VM | CLONE_VFORK: no page tables copied), init
 * suspended until it execs or exits. Returns its pid, or -1 (errno) when no process can be made.
 * Where it cannot make the courier it would need (the pids limit), it reports REPORT_NO_COURIER
 * on the exec pipe and exits: init then starts it with target_fork(). */
pid_t target_spawn(const struct target_args *a);

/* Starts the target as a fork of init (its own copy of init's memory): the way that needs no
 * courier (the monitor takes the listener through the pidfd init sends it). */
pid_t target_fork(const struct target_args *a);
