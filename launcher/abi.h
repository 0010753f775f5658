/* abi.h — the launcher's contract with its caller that is not in the frame: exit codes and the
 * signals it forwards to the target. lib/abi.ts holds the same values for TypeScript; the test
 * tests/abi_test.ts reads this file and fails when the two disagree. Change both together. */
#ifndef SBX_ABI_H
#define SBX_ABI_H

#include <signal.h>

/* Exit codes of the launcher when there is no status file to read (the target's own code
 * otherwise, and 128 + N for a target killed by signal N). */
#define EXIT_TIMEOUT 124     /* the wall-clock limit fired */
#define EXIT_SETUP 125       /* the sandbox could not be built */
#define EXIT_NOEXEC 126      /* the program exists but could not be executed */
#define EXIT_NOTFOUND 127    /* the program does not exist */
#define EXIT_SIGNAL_BASE 128 /* + N: the target died of signal N */

/* Signals sent to the launcher that reach the target; any other signal kills the sandbox.
 * An X-macro: FORWARDED_SIGNALS(X) expands X(SIGHUP) X(SIGINT) ... */
#define FORWARDED_SIGNALS(X)                                                                    \
  X(SIGHUP) X(SIGINT) X(SIGQUIT) X(SIGTERM) X(SIGUSR1) X(SIGUSR2) X(SIGCONT) X(SIGWINCH)       \
  X(SIGALRM)

/* Sent to the launcher: kill the whole sandbox now and still write the result. */
#define SIG_KILL_SANDBOX SIGPWR

#endif
