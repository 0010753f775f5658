/* prepared.c — a prepared run (see prepared.h). */
#include "prepared.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "abi.h"
#include "buf.h"
#include "config.h"
#include "monitor.h"
#include "setup.h"
#include "status.h"
#include "util.h"

#define BLOB_CHUNK (32u << 10)

/* A blob over a SOCK_SEQPACKET socket: its length, then chunks. */
int prepared_send_blob(int sock, const char *buf, uint32_t len) {
  if (send(sock, &len, sizeof len, MSG_NOSIGNAL) != (ssize_t)sizeof len) return -1;
  for (uint32_t off = 0; off < len;) {
    uint32_t chunk = len - off < BLOB_CHUNK ? len - off : BLOB_CHUNK;
    if (send(sock, buf + off, chunk, MSG_NOSIGNAL) != (ssize_t)chunk) return -1;
    off += chunk;
  }
  return 0;
}

/* The request's tokens, in our own buffer: config.c's frame buffer holds the static config. */
static char *blob;
static char **run_tokens;
static size_t blob_cap, run_tokens_cap;

/* Receives a blob of NUL-terminated tokens; -1 on end of file, a malformed blob or no memory. */
static int recv_tokens(int sock, size_t *count) {
  uint32_t len;
  if (recv(sock, &len, sizeof len, 0) != (ssize_t)sizeof len || len == 0 || len > FRAME_MAX ||
      buf_reserve(&blob, &blob_cap, len, 1) < 0)
    return -1;
  for (uint32_t off = 0; off < len;) {
    ssize_t n = recv(sock, blob + off, len - off, 0);
    if (n <= 0) return -1;
    off += (uint32_t)n;
  }
  if (blob[len - 1] != '\0') return -1;
  ssize_t c = buf_split(blob, len, TOKENS_MAX, &run_tokens, &run_tokens_cap);
  if (c < 0) return -1;
  *count = (size_t)c;
  return 0;
}

/* The per-run ops a request may carry, with their arity: anything else would change the fixed
 * policy the run was prepared with, and is refused (the host sends such a run the cold way). */
static const struct {
  const char *name;
  size_t arity;
} RUN_OPS[] = {{"status", 1}, {"stdio-fifos", 2}, {"chdir", 1}, {"timeout", 1},
               {"env", 1},    {"exec", 1},        {"arg", 1}};

static bool only_run_ops(char **t, size_t count) {
  for (size_t i = 0; i < count;) {
    size_t arity = SIZE_MAX;
    for (size_t k = 0; k < sizeof RUN_OPS / sizeof RUN_OPS[0]; k++)
      if (strcmp(t[i], RUN_OPS[k].name) == 0) arity = RUN_OPS[k].arity;
    if (arity == SIZE_MAX || i + arity >= count) return false;
    i += 1 + arity;
  }
  return true;
}

/* The request, parsed and checked like any frame (config_parse), becomes this run's part of the
 * config; the static part, and what the prepare made of it, stay. */
static int take_request(struct config *cfg, size_t count, int op_base, struct sbx_err *e) {
  static struct config run;
  if (!only_run_ops(run_tokens, count)) return fail_input(e, "a warm run's request carries only run ops", NULL, -1);
  if (config_parse(run_tokens, count, &run, e) < 0) return -1;
  if (!run.stdio_dir) return fail_input(e, "a warm run needs", "stdio-fifos", -1);
  cfg->status_path = run.status_path;
  cfg->cwd = run.cwd;
  cfg->timeout_ms = run.timeout_ms;
  cfg->exec = run.exec;
  cfg->exec_op = run.exec_op;
  cfg->argv = run.argv;
  cfg->envp = run.envp;
  cfg->stdio_dir = run.stdio_dir;
  cfg->stdin_fifo = run.stdin_fifo;
  cfg->stdio_op = run.stdio_op + op_base;
  return 0;
}

/* A prepared run's monitor: prepares, says so, waits for its request (or its end), runs it. */
_Noreturn void prepared_main(int sock, unsigned n, int op_base) {
  struct config *cfg = setup_config();
  struct monitor m = MONITOR_INIT;
  struct sbx_err e = SBX_ERR_NONE;
  m.op_base = op_base;
  /* Each prepared run has a cgroup of its own. */
  static char cgroup_name[160];
  if (cfg->cgroup_name) {
    snprintf(cgroup_name, sizeof cgroup_name, "%.120s.w%u", cfg->cgroup_name, n);
    cfg->cgroup_name = cgroup_name;
  }
  cfg->await_request = true;
  if (setup_prepare(&m, &e) < 0) _exit(setup_failed(&m, &e));
  /* Refused when the warm launcher already sent our request and closed its end (it picked us
   * while we were preparing): the request waits in the socket all the same. */
  (void)!send(sock, "P", 1, MSG_NOSIGNAL);
  struct pollfd pfd[3] = {{sock, POLLIN, 0}, {m.pidfd, POLLIN, 0}, {m.signal_fd, POLLIN, 0}};
  for (;;) {
    if (poll(pfd, 3, -1) < 0 && errno != EINTR) break;
    /* Being held and resumed (pace(): SIGCONT, and SIGCHLD for init's stop and continue) is no
     * reason to end; any other signal is (init's death shows on its pidfd). */
    if (pfd[2].revents) {
      drop_signal(SIGCONT);
      drop_signal(SIGCHLD);
      struct pollfd again = {m.signal_fd, POLLIN, 0};
      if (poll(&again, 1, 0) <= 0) pfd[2].revents = 0;
    }
    /* A request first: a signal for its run (a kill right after the start) stays queued in the
     * signalfd for the monitor loop. Without one, init's death or a signal (our parent died:
     * SIG_KILL_SANDBOX) ends the prepared run. */
    if (!pfd[0].revents) {
      if (pfd[1].revents || pfd[2].revents) break;
      continue;
    }
    /* The run's id (its own message), then its ops. End of file: the warm launcher ended us
     * (idle, disposal). */
    char id[WARM_ID_MAX + 1];
    ssize_t got = recv(sock, id, sizeof id, 0);
    if (got <= 1 || id[got - 1] != '\0') break;
    size_t count;
    if (recv_tokens(sock, &count) < 0) break;
    /* The warm launcher resumed us before it sent the request. */
    drop_signal(SIGCONT);
    if (take_request(cfg, count, op_base, &e) < 0) _exit(setup_failed(&m, &e));
    m.status_fd = status_open(cfg->status_path);
    if (m.status_fd < 0) {
      fail_path(&e, STEP_STATUS, cfg->status_path);
      _exit(setup_failed(&m, &e));
    }
    setup_replay_status(&m);
    /* Taken: from here a failure is this run's own, never handed to another prepared run. */
    (void)!send(sock, "S", 1, MSG_NOSIGNAL);
    m.warm_sock = sock;
    static char ready[16 + WARM_ID_MAX];
    snprintf(ready, sizeof ready, "ready %s\n", id);
    m.ready_line = ready;
    /* The run's wall clock and time start now, not at the prepare. */
    m.start_us = now_us();
    _exit(setup_run(&m));
  }
  fail_errno(&e, STEP_REQUEST, -1, ECANCELED);
  m.status_fd = -1;
  /* Quietly: an unused prepared run's end is no error of anyone's. */
  int devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);
  if (devnull >= 0) dup2(devnull, 2);
  _exit(setup_failed(&m, &e));
}

_Noreturn void prepared_exec_main(int argc, char **argv) {
  struct sbx_err e = SBX_ERR_NONE;
  uint64_t v[3];
  char **tokens;
  size_t count;
  /* As for any child of the warm launcher: SIG_KILL_SANDBOX when it dies (the monitor then kills
   * init and removes the cgroup), checked against its pid given to us. */
  if (argc != 3 || !parse_u64(argv[0], &v[0]) || !parse_u64(argv[1], &v[1]) || !parse_u64(argv[2], &v[2]) ||
      v[0] > UINT32_MAX || v[1] > TOKENS_MAX || v[2] == 0 || v[2] > INT32_MAX) {
    fail_input(&e, "--prepared needs N OP_BASE WARM_PID", NULL, -1);
    report_err(&e, NULL);
    _exit(EXIT_SETUP);
  }
  if (prctl(PR_SET_PDEATHSIG, SIG_KILL_SANDBOX, 0, 0, 0) < 0 || getppid() != (pid_t)v[2]) _exit(EXIT_SETUP);
  if (close_fds(5, ~0U, false) < 0 || frame_pread(4, &tokens, &count, &e) < 0 ||
      config_parse(tokens, count, setup_config(), &e) < 0) {
    if (!e.step) fail(&e, STEP_CLOSE_FDS, -1);
    report_err(&e, NULL);
    _exit(EXIT_SETUP);
  }
  close(4);
  prepared_main(3, (unsigned)v[0], (int)v[1]);
}
