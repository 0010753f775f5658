/* request.h — the per-run request channel: a run's stdio as FIFOs in its private state dir, and
 * the per-run part (program, args, env, cwd) handed to an init that is already inside the
 * namespaces, root and cgroup.
 *
 * Interface:
 *  - Monitor: request_open_stdio() makes DIR/stdin (with a stdin FIFO), DIR/stdout and
 *    DIR/stderr as new FIFOs (0666 inside the caller's 0700 dir, so that the target, another uid,
 *    can reopen them through /proc/self/fd; FIFOs made ahead by request_make_fifos() are used as
 *    they are, any other existing name is refused), opens stdin for reading
 *    (non-blocking open: no writer needed yet), writes "ready\n" to ready_fd (the host opens its
 *    ends now: write for stdin, read for stdout/stderr), then opens stdout and stderr for writing,
 *    which waits for the host's read opens. Without a stdin FIFO stdin is an empty pipe (end of
 *    file at once, as the launcher's stdin is today with nothing to feed). The fds are
 *    close-on-exec, blocking, and real FIFOs/pipes (S_ISFIFO; /dev/stdout reopens them).
 *  - Monitor -> init: request_send() sends one request over the report socketpair
 *    (SOCK_SEQPACKET): a header carrying the three fds (SCM_RIGHTS), then the tokens in chunks.
 *  - Init: request_recv() waits for that request; request_from_config() is the same request
 *    built from the config (the cold path without FIFOs: stdio stays the launcher's).
 * The fixed restrictions are not part of a request: init applies them after the fork in today's
 * order (child.c target_main), whatever the request says. */
#pragma once
#include <stdbool.h>

#include "config.h"
#include "util.h"

/* Most bytes of tokens one request may carry (the frame's own cap). */
#define REQUEST_MAX FRAME_MAX

/* What changes per run, as init needs it. Strings point into the config or into static storage
 * (request_recv), never freed. */
struct run_request {
  const char *exec;
  char **argv, **envp; /* NULL-terminated */
  const char *cwd;     /* NULL: "/" */
  int exec_op;         /* the exec op's index, for error reports */
  int stdio_from;      /* the first of fds 0-2 that is a FIFO (Landlock rules): 0, 1, or 3 (none) */
};

int request_open_stdio(const char *dir, bool stdin_fifo, int ready_fd, int fds[3], struct sbx_err *e);
/* The same with another "ready" line (a warm launcher's runs name their id: "ready ID\n"; one
 * write below PIPE_BUF, so lines of runs sharing ready_fd never interleave). */
int request_open_stdio_line(const char *dir, bool stdin_fifo, int ready_fd, const char *line, int fds[3],
                            struct sbx_err *e);
/* Makes DIR/stdin, DIR/stdout and DIR/stderr as new FIFOs (as above) ahead of a run: its host
 * can then open its ends before "ready", while the request travels (a warm launcher's `fifos`). */
int request_make_fifos(const char *dir, struct sbx_err *e);
int request_send(int sock, const struct run_request *r, const int fds[3], struct sbx_err *e);
int request_recv(int sock, struct run_request *r, int fds[3], struct sbx_err *e);
void request_from_config(const struct config *cfg, struct run_request *r);
