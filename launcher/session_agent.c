/* session_agent.c — the session's agent (session_agent.h): one poll loop over the library's
 * requests, the commands' pipes and the open connections. Commands run in process groups of
 * their own; a command is over when its first process exits (what it left in the background keeps
 * running, and what it had written is drained without waiting for EOF, which a background
 * process would hold off forever). Per-command limits come in the request: the wall clock and
 * the output cap kill the command's process group. */
#include "session_agent.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "session_fs.h"
#include "session_port.h"
#include "session_wire.h"
#include "tty.h"
#include "util.h"

#define MAX_CMDS 64
#define MAX_TOKENS 4096
/* The library's requests arrive on CTL_IN; replies leave on CTL_OUT. The fds are moved up out of
 * 0..2 and marked close-on-exec, so no command inherits the channel. */
static int ctl_in = -1, ctl_out = -1;
static int sigchld_pipe[2] = {-1, -1};

enum { OUT, ERR };

/* --command-filter: a seccomp program every command gets on top of the session's own filter
 * (which also allows the agent's syscalls): it refuses those the session's profile refuses, so a
 * command runs under exactly the session's policy. Empty: none. */
static struct sock_filter command_filter[BPF_MAXINSNS];
static unsigned short command_filter_len;

struct cmd {
  bool used, exited;
  uint32_t id;
  pid_t pid;
  int out[2];  /* our read ends of its stdout, stderr; -1 when closed */
  int in;      /* our write end of its stdin; -1 when closed */
  struct sbuf pending; /* one STDIN chunk being written */
  size_t pending_off;
  bool eof_after; /* STDIN_EOF arrived while a chunk was pending */
  bool tty;       /* on a terminal: `in` is the master (output comes from a dup of it) */
  bool mid_line;  /* the input so far ends without a newline (tty) */
  uint64_t start_us, deadline_us, max_output, output;
  const char *reason; /* set when we killed it: "timeout", "output-limit" */
  long long oom_before;
};
static struct cmd cmds[MAX_CMDS];

static void die(const char *what) {
  fprintf(stderr, "sandbox-launcher: session agent: %s: %s\n", what, strerror(errno));
  exit(125);
}

void session_send(uint8_t type, uint32_t id, const void *payload, size_t len) {
  unsigned char h[SW_HEADER];
  uint32_t n = (uint32_t)len + 5u;
  for (int i = 0; i < 4; i++) h[i] = (unsigned char)(n >> (8 * i));
  h[4] = type;
  for (int i = 0; i < 4; i++) h[5 + i] = (unsigned char)(id >> (8 * i));
  /* The library went away: the session is over. */
  if (write_full(ctl_out, h, sizeof h) < 0 || (len && write_full(ctl_out, payload, len) < 0)) exit(0);
}

static void on_sigchld(int sig) {
  (void)sig;
  int saved = errno;
  if (write(sigchld_pipe[1], "c", 1) < 0) { /* full: a wakeup is already pending */ }
  errno = saved;
}

static void close_fd(int *fd) {
  if (*fd >= 0) close(*fd);
  *fd = -1;
}

static struct cmd *cmd_by_id(uint32_t id) {
  for (int i = 0; i < MAX_CMDS; i++)
    if (cmds[i].used && cmds[i].id == id) return &cmds[i];
  return NULL;
}

/* The cgroup's OOM kill count (v2 memory.events, v1 memory.oom_control), or -1. */
static long long read_counter(const char *path, const char *key) {
  char buf[4096];
  int fd cleanup_fd = open(path, O_RDONLY | O_CLOEXEC);
  ssize_t n = fd < 0 ? -1 : read(fd, buf, sizeof buf - 1);
  if (n <= 0) return -1;
  buf[n] = 0;
  size_t k = strlen(key);
  for (char *l = buf; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL)
    if (strncmp(l, key, k) == 0 && l[k] == ' ') return strtoll(l + k + 1, NULL, 10);
  return -1;
}

static long long read_number(const char *path) {
  char buf[64];
  int fd cleanup_fd = open(path, O_RDONLY | O_CLOEXEC);
  ssize_t n = fd < 0 ? -1 : read(fd, buf, sizeof buf - 1);
  if (n <= 0) return -1;
  buf[n] = 0;
  return strtoll(buf, NULL, 10);
}

static long long oom_kills(void) {
  long long v = read_counter("/sys/fs/cgroup/memory.events", "oom_kill");
  return v >= 0 ? v : read_counter("/sys/fs/cgroup/memory/memory.oom_control", "oom_kill");
}

static void send_usage(uint32_t id) {
  struct sbuf b = {0};
  long long cpu = read_counter("/sys/fs/cgroup/cpu.stat", "usage_usec");
  long long mem = read_number("/sys/fs/cgroup/memory.current");
  long long peak = read_number("/sys/fs/cgroup/memory.peak");
  long long pids = read_number("/sys/fs/cgroup/pids.current");
  if (cpu < 0) {
    long long ns = read_number("/sys/fs/cgroup/cpu,cpuacct/cpuacct.usage");
    if (ns < 0) ns = read_number("/sys/fs/cgroup/cpuacct/cpuacct.usage");
    if (ns >= 0) cpu = ns / 1000;
    mem = read_number("/sys/fs/cgroup/memory/memory.usage_in_bytes");
    peak = read_number("/sys/fs/cgroup/memory/memory.max_usage_in_bytes");
    pids = read_number("/sys/fs/cgroup/pids/pids.current");
  }
  const char *source = cpu >= 0 ? "cgroup" : "rusage";
  if (cpu < 0) {
    /* No cgroup of its own: what the finished commands used (their own rusage). */
    struct rusage ru;
    getrusage(RUSAGE_CHILDREN, &ru);
    cpu = (long long)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000 + ru.ru_utime.tv_usec + ru.ru_stime.tv_usec;
    peak = (long long)ru.ru_maxrss * 1024;
  }
  sbuf_tok(&b, source);
  sbuf_num(&b, cpu);
  sbuf_num(&b, mem);
  sbuf_num(&b, peak);
  sbuf_num(&b, pids);
  sbuf_num(&b, oom_kills());
  session_send(SW_USAGE_RESULT, id, b.p, b.len);
  sbuf_free(&b);
}

/* In the forked child: its own process group (or session, on a terminal), the pipes or the
 * terminal on 0..2, default signals, then exec.
 * A failure goes back on `report` (close-on-exec: EOF means exec'd) as stage and errno. */
static void exec_command(char **tok, int ntok, int first_env, int nenv, int in, int out, int err, int report,
                         bool tty) {
  /* On a terminal: a session of its own, the slave its controlling terminal (its process group
   * is its session's, so kill(-pid) still reaches the command's group). */
  if (tty ? setsid() < 0 || ioctl(in, TIOCSCTTY, 0) < 0 : setpgid(0, 0) < 0) goto fail_exec;
  sigset_t none;
  sigemptyset(&none);
  signal(SIGPIPE, SIG_DFL);
  signal(SIGCHLD, SIG_DFL);
  sigprocmask(SIG_SETMASK, &none, NULL);
  if (dup2(in, 0) < 0 || dup2(out, 1) < 0 || dup2(err, 2) < 0) goto fail_exec;
  const char *stage = "chdir";
  if (chdir(tok[0]) < 0) goto fail;
  stage = "exec";
  char **env = calloc((size_t)nenv + 1, sizeof *env);
  char **argv = calloc((size_t)(ntok - first_env - nenv) + 1, sizeof *argv);
  if (!env || !argv) goto fail;
  for (int i = 0; i < nenv; i++) env[i] = tok[first_env + i];
  for (int i = first_env + nenv; i < ntok; i++) argv[i - first_env - nenv] = tok[i];
  /* execvp looks the program up on the PATH of the environment it is given. */
  extern char **environ;
  environ = env;
  /* Last, as only execve follows (every profile allows it). prctl, not seccomp(2): the session's
   * filter allows prctl to the agent; no_new_privs is set. */
  struct sock_fprog prog = {.len = command_filter_len, .filter = command_filter};
  if (command_filter_len && prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog, 0, 0) < 0) {
    stage = "seccomp";
    goto fail;
  }
  execvp(argv[0], argv);
fail:;
  int e = errno;
  char msg[64];
  int n = snprintf(msg, sizeof msg, "%s%c%d%c", stage, 0, e, 0);
  if (write(report, msg, (size_t)n) < 0) { /* the agent is gone */ }
  _exit(127);
fail_exec:
  _exit(125);
}

static void spawn_failed(uint32_t id, const char *stage, int err) {
  struct sbuf b = {0};
  sbuf_tok(&b, stage);
  sbuf_num(&b, err);
  session_send(SW_SPAWN_FAILED, id, b.p, b.len);
  sbuf_free(&b);
}

/* SPAWN: cwd timeout_ms max_output stdin nenv env... program args... */
static void do_spawn(uint32_t id, char *payload, size_t len) {
  static char *tok[MAX_TOKENS];
  size_t used;
  int ntok = sw_tokens(payload, len, tok, MAX_TOKENS, &used);
  uint64_t timeout_ms, max_output, nenv;
  /* More tokens than we take is refused, never cut short: a dropped argument changes the command. */
  if (ntok >= 0 && used != len) return spawn_failed(id, "request", E2BIG);
  if (ntok < 6 || !parse_u64(tok[1], &timeout_ms) || !parse_u64(tok[2], &max_output) ||
      !parse_u64(tok[4], &nenv) || nenv > (uint64_t)(ntok - 6))
    return spawn_failed(id, "request", EINVAL);
  struct cmd *c = NULL;
  for (int i = 0; i < MAX_CMDS && !c; i++)
    if (!cmds[i].used) c = &cmds[i];
  if (!c || cmd_by_id(id)) return spawn_failed(id, "request", c ? EEXIST : EAGAIN);
  bool piped = strcmp(tok[3], "piped") == 0;
  /* "tty:COLS:ROWS": a terminal from the sandbox's devpts; its slave is the command's 0..2. */
  unsigned cols = 0, rows = 0;
  char extra;
  bool tty = sscanf(tok[3], "tty:%u:%u%c", &cols, &rows, &extra) == 2;
  if (tty && (!cols || !rows || cols > 65535 || rows > 65535)) return spawn_failed(id, "request", EINVAL);
  int pin[2] = {-1, -1}, pout[2] = {-1, -1}, perr[2] = {-1, -1}, rep[2] = {-1, -1};
  int opened = tty ? pty_pair("/dev/pts/ptmx", (unsigned short)cols, (unsigned short)rows, &pin[1], &pin[0])
                   : (piped ? pipe2(pin, O_CLOEXEC) : ((pin[0] = open("/dev/null", O_RDONLY | O_CLOEXEC)) < 0 ? -1 : 0));
  if (opened == 0 && tty) {
    /* The master: written as stdin, read (a dup of it) as stdout; no stderr of its own. */
    pout[0] = fcntl(pin[1], F_DUPFD_CLOEXEC, 3);
    pout[1] = fcntl(pin[0], F_DUPFD_CLOEXEC, 3);
    perr[1] = fcntl(pin[0], F_DUPFD_CLOEXEC, 3);
    if (pout[0] < 0 || pout[1] < 0 || perr[1] < 0) opened = -1;
  }
  if (opened < 0 || (!tty && (pipe2(pout, O_CLOEXEC) < 0 || pipe2(perr, O_CLOEXEC) < 0)) || pipe2(rep, O_CLOEXEC) < 0) {
    int e = errno;
    int *all[] = {&pin[0], &pin[1], &pout[0], &pout[1], &perr[0], &perr[1], &rep[0], &rep[1]};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) close_fd(all[i]);
    return spawn_failed(id, tty && opened < 0 ? "tty" : "pipe", e);
  }
  long long oom = oom_kills();
  uint64_t start = now_us();
  pid_t pid = fork();
  if (pid == 0) exec_command(tok, ntok, 5, (int)nenv, pin[0], pout[1], perr[1], rep[1], tty);
  int fork_errno = errno;
  close_fd(&pin[0]);
  close_fd(&pout[1]);
  close_fd(&perr[1]);
  close_fd(&rep[1]);
  char msg[64] = {0};
  ssize_t n = pid < 0 ? 0 : read(rep[0], msg, sizeof msg - 1);
  close_fd(&rep[0]);
  if (pid < 0 || n > 0) {
    close_fd(&pin[1]);
    close_fd(&pout[0]);
    close_fd(&perr[0]);
    if (pid > 0) waitpid(pid, NULL, 0);
    if (pid < 0) return spawn_failed(id, "fork", fork_errno);
    return spawn_failed(id, msg, atoi(msg + strlen(msg) + 1));
  }
  *c = (struct cmd){.used = true, .id = id, .pid = pid, .out = {pout[0], perr[0]}, .in = pin[1],
                    .start_us = start, .max_output = max_output, .oom_before = oom, .tty = tty};
  c->deadline_us = timeout_ms ? start + timeout_ms * 1000u : 0;
  for (int s = OUT; s <= ERR; s++)
    if (c->out[s] >= 0) fcntl(c->out[s], F_SETFL, O_NONBLOCK);
  if (c->in >= 0) fcntl(c->in, F_SETFL, O_NONBLOCK);
}

static void kill_cmd(struct cmd *c, int sig, const char *reason) {
  if (c->exited) return;
  if (reason && !c->reason) c->reason = reason;
  /* Its process group; the first process too, should it have left the group. */
  kill(-c->pid, sig);
  kill(c->pid, sig);
}

/* Reads what one of its pipes has; past the output cap the command is killed. Returns false at
 * EOF (or when nothing more will be read). */
static bool pump_output(struct cmd *c, int s) {
  char buf[65536];
  ssize_t n = read(c->out[s], buf, sizeof buf);
  if (n < 0 && (errno == EAGAIN || errno == EINTR)) return true;
  if (n <= 0) {
    close_fd(&c->out[s]);
    return false;
  }
  uint64_t room = c->output < c->max_output ? c->max_output - c->output : 0;
  size_t take = (uint64_t)n > room ? (size_t)room : (size_t)n;
  c->output += take;
  if (take) session_send(s == OUT ? SW_STDOUT : SW_STDERR, c->id, buf, take);
  if (take < (size_t)n) {
    kill_cmd(c, SIGKILL, "output-limit");
    close_fd(&c->out[OUT]);
    close_fd(&c->out[ERR]);
    return false;
  }
  return true;
}

static void finish_cmd(struct cmd *c, int status, const struct rusage *ru) {
  c->exited = true;
  /* What it wrote before it exited; a background process keeping the pipe open is not waited
   * for (the pipe is closed under it). */
  for (int s = OUT; s <= ERR; s++)
    while (c->out[s] >= 0 && pump_output(c, s)) {
      struct pollfd p = {.fd = c->out[s], .events = POLLIN};
      if (poll(&p, 1, 0) <= 0) break;
    }
  close_fd(&c->out[OUT]);
  close_fd(&c->out[ERR]);
  close_fd(&c->in);
  int code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  int sig = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
  const char *reason = c->reason ? c->reason : sig ? "signaled" : "exited";
  if (sig == SIGKILL && !c->reason && c->oom_before >= 0 && oom_kills() > c->oom_before) reason = "memory";
  struct sbuf b = {0};
  sbuf_num(&b, code);
  sbuf_num(&b, sig);
  sbuf_tok(&b, reason);
  sbuf_num(&b, (long long)(now_us() - c->start_us));
  sbuf_num(&b, (long long)ru->ru_utime.tv_sec * 1000000 + ru->ru_utime.tv_usec);
  sbuf_num(&b, (long long)ru->ru_stime.tv_sec * 1000000 + ru->ru_stime.tv_usec);
  sbuf_num(&b, ru->ru_maxrss);
  session_send(SW_EXIT, c->id, b.p, b.len);
  sbuf_free(&b);
  sbuf_free(&c->pending);
  c->used = false;
}

static void reap(void) {
  char drain[64];
  while (read(sigchld_pipe[0], drain, sizeof drain) > 0) {}
  for (;;) {
    int status;
    struct rusage ru;
    pid_t pid = wait4(-1, &status, WNOHANG, &ru);
    if (pid <= 0) return;
    for (int i = 0; i < MAX_CMDS; i++)
      if (cmds[i].used && cmds[i].pid == pid) finish_cmd(&cmds[i], status, &ru);
  }
}

/* End of input: a pipe is closed; a terminal gets its VEOF character (^D), twice after a last
 * line without a newline (the first only ends that line), as a run's terminal does (tty.h). */
static void end_input(struct cmd *c) {
  if (!c->tty) return close_fd(&c->in);
  static const char eof[2] = {4, 4};
  if (c->in >= 0 && write(c->in, eof, c->mid_line ? 2 : 1) < 0) { /* it hung up: nothing to end */ }
  c->mid_line = false;
}

static void write_stdin(struct cmd *c) {
  while (c->in >= 0 && c->pending_off < c->pending.len) {
    ssize_t n = write(c->in, c->pending.p + c->pending_off, c->pending.len - c->pending_off);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) return;
    if (n < 0) { /* EPIPE: it stopped reading; the rest is dropped */
      close_fd(&c->in);
      break;
    }
    c->pending_off += (size_t)n;
  }
  if (c->pending.len) c->mid_line = c->pending.p[c->pending.len - 1] != '\n';
  c->pending.len = c->pending_off = 0;
  session_send(SW_STDIN_ACK, c->id, NULL, 0);
  if (c->eof_after) end_input(c);
}

static void do_fs(uint32_t id, char *payload, size_t len) {
  static char *tok[8];
  uint64_t ntok;
  size_t rest;
  struct sbuf out = {0};
  int n = sw_tokens(payload, len, tok, 1, &rest);
  if (n != 1 || !parse_u64(tok[0], &ntok) || ntok > 7 || sw_tokens(payload + rest, len - rest, tok, (int)ntok, &rest) != (int)ntok) {
    sbuf_num(&out, EINVAL);
  } else {
    size_t data_off = (size_t)(tok[ntok - 1] + strlen(tok[ntok - 1]) + 1 - payload);
    session_fs(tok, (int)ntok, payload + data_off, len - data_off, &out);
  }
  session_send(SW_FS_RESULT, id, out.p, out.len);
  sbuf_free(&out);
}

static void handle(uint8_t type, uint32_t id, char *payload, size_t len) {
  struct cmd *c = cmd_by_id(id);
  switch (type) {
  case SW_SPAWN:
    return do_spawn(id, payload, len);
  case SW_STDIN:
    if (!c || c->in < 0) return session_send(SW_STDIN_ACK, id, NULL, 0);
    c->pending.len = c->pending_off = 0;
    if (sbuf_put(&c->pending, payload, len) < 0) return session_send(SW_STDIN_ACK, id, NULL, 0);
    return write_stdin(c);
  case SW_STDIN_EOF:
    if (!c) return;
    if (c->pending.len) c->eof_after = true;
    else end_input(c);
    return;
  case SW_RESIZE: {
    unsigned cols, rows;
    char extra;
    if (c && c->tty && c->in >= 0 && len && payload[len - 1] == 0 &&
        sscanf(payload, "%u %u%c", &cols, &rows, &extra) == 2 && cols && rows && cols <= 65535 && rows <= 65535)
      (void)tty_resize(c->in, (unsigned short)cols, (unsigned short)rows);
    return;
  }
  case SW_KILL: {
    uint64_t sig;
    if (c && len && payload[len - 1] == 0 && parse_u64(payload, &sig) && sig > 0 && sig < 65) kill_cmd(c, (int)sig, NULL);
    return;
  }
  case SW_FS:
    return do_fs(id, payload, len);
  case SW_USAGE:
    return send_usage(id);
  case SW_CONNECT:
  case SW_CONN_DATA:
  case SW_CONN_CLOSE:
    return session_port_request(type, id, payload, len);
  default:
    errno = EPROTO;
    die("unknown frame type");
  }
}

/* Takes every whole frame from the input buffer. */
static void take_frames(char *buf, size_t *have) {
  size_t off = 0;
  while (*have - off >= SW_HEADER) {
    unsigned char *h = (unsigned char *)buf + off;
    uint32_t n = (uint32_t)h[0] | (uint32_t)h[1] << 8 | (uint32_t)h[2] << 16 | (uint32_t)h[3] << 24;
    if (n < 5 || n > SW_MAX_FRAME) {
      errno = EMSGSIZE;
      die("request frame");
    }
    if (*have - off < 4 + (size_t)n) break;
    uint32_t id = (uint32_t)h[5] | (uint32_t)h[6] << 8 | (uint32_t)h[7] << 16 | (uint32_t)h[8] << 24;
    handle(h[4], id, buf + off + SW_HEADER, n - 5);
    off += 4 + n;
  }
  memmove(buf, buf + off, *have - off);
  *have -= off;
}

static int next_timeout_ms(void) {
  uint64_t now = now_us(), next = 0;
  for (int i = 0; i < MAX_CMDS; i++)
    if (cmds[i].used && cmds[i].deadline_us && !cmds[i].reason && (!next || cmds[i].deadline_us < next))
      next = cmds[i].deadline_us;
  if (!next) return -1;
  return next <= now ? 0 : (int)((next - now + 999) / 1000);
}

static void check_deadlines(void) {
  uint64_t now = now_us();
  for (int i = 0; i < MAX_CMDS; i++)
    if (cmds[i].used && cmds[i].deadline_us && !cmds[i].reason && now >= cmds[i].deadline_us)
      kill_cmd(&cmds[i], SIGKILL, "timeout");
}

static void setup(void) {
  /* Nobody else in the sandbox (same uid) may ptrace us or open our fds through /proc. */
  if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0) die("dumpable");
  ctl_in = fcntl(0, F_DUPFD_CLOEXEC, 3);
  ctl_out = fcntl(1, F_DUPFD_CLOEXEC, 3);
  int null = open("/dev/null", O_RDWR | O_CLOEXEC);
  if (ctl_in < 0 || ctl_out < 0 || null < 0 || dup2(null, 0) < 0 || dup2(null, 1) < 0) die("stdio");
  close(null);
  if (pipe2(sigchld_pipe, O_CLOEXEC | O_NONBLOCK) < 0) die("pipe");
  struct sigaction sa = {.sa_handler = on_sigchld, .sa_flags = SA_RESTART | SA_NOCLDSTOP};
  sigemptyset(&sa.sa_mask);
  signal(SIGPIPE, SIG_IGN);
  if (sigaction(SIGCHLD, &sa, NULL) < 0) die("sigaction");
  /* The launcher blocked the signals it forwards; ours are handled, and commands inherit none. */
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, NULL);
}

int session_agent_main(int argc, char **argv) {
  if (argc == 2 && strcmp(argv[0], "--command-filter") == 0) {
    ssize_t n = hex_decode(argv[1], (unsigned char *)command_filter, sizeof command_filter);
    if (n <= 0 || n % (ssize_t)sizeof command_filter[0]) {
      fprintf(stderr, "sandbox-launcher: session agent: --command-filter: not a seccomp program in hex\n");
      return 125;
    }
    command_filter_len = (unsigned short)(n / (ssize_t)sizeof command_filter[0]);
  } else if (argc != 0) {
    fprintf(stderr, "sandbox-launcher: session agent: unknown arguments (allowed: --command-filter HEX)\n");
    return 125;
  }
  /* On the heap (buf.h says why a static one would cost every launcher process). */
  const size_t inbuf_size = SW_MAX_FRAME + 4;
  char *inbuf = malloc(inbuf_size);
  if (!inbuf) {
    fprintf(stderr, "sandbox-launcher: session agent: %s\n", strerror(errno));
    return 125;
  }
  setup();
  size_t have = 0;
  char ready[32];
  int rn = snprintf(ready, sizeof ready, "%d", (int)getpid());
  session_send(SW_READY, 0, ready, (size_t)rn + 1);
  for (;;) {
    struct pollfd p[2 + MAX_CMDS * 3 + SESSION_MAX_CONNS];
    struct cmd *owner[2 + MAX_CMDS * 3];
    int kind[2 + MAX_CMDS * 3];
    nfds_t n = 0;
    p[n++] = (struct pollfd){.fd = ctl_in, .events = POLLIN};
    p[n++] = (struct pollfd){.fd = sigchld_pipe[0], .events = POLLIN};
    for (int i = 0; i < MAX_CMDS; i++) {
      struct cmd *c = &cmds[i];
      if (!c->used) continue;
      for (int s = OUT; s <= ERR; s++)
        if (c->out[s] >= 0) owner[n] = c, kind[n] = s, p[n++] = (struct pollfd){.fd = c->out[s], .events = POLLIN};
      if (c->in >= 0 && c->pending.len)
        owner[n] = c, kind[n] = 2, p[n++] = (struct pollfd){.fd = c->in, .events = POLLOUT};
    }
    nfds_t conn_first = n;
    n += session_port_pollfds(p + n);
    int r = poll(p, n, next_timeout_ms());
    if (r < 0 && errno != EINTR) die("poll");
    check_deadlines();
    if (r <= 0) continue;
    for (nfds_t i = 2; i < conn_first; i++) {
      if (!p[i].revents || !owner[i]->used) continue;
      if (kind[i] == 2) write_stdin(owner[i]);
      else pump_output(owner[i], kind[i]);
    }
    session_port_ready(p + conn_first, n - conn_first);
    if (p[1].revents) reap();
    if (p[0].revents) {
      ssize_t got = read(ctl_in, inbuf + have, inbuf_size - have);
      if (got < 0 && errno == EINTR) continue;
      /* The library closed the channel: the session ends (the launcher kills what is left). */
      if (got <= 0) return 0;
      have += (size_t)got;
      take_frames(inbuf, &have);
    }
  }
}
