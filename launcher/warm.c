/* warm.c — the warm launcher: one long-lived process per Sandbox that keeps runs prepared ahead.
 *
 * Interface (`sandbox-launcher --warm POOL IDLE_MS OP_BASE`):
 *  - stdin, first: one config frame, the sandbox's static ops followed by placeholder `status`
 *    and `exec` ops (config_parse requires them; every run's request replaces them). OP_BASE is
 *    the number of static ops: a run's op indexes follow them, as in a cold frame.
 *  - stdin, then: one frame per command. `run ID OPS...` with the run's own ops (status,
 *    stdio-fifos, chdir, timeout, env, exec, arg: nothing else is accepted) hands the request to a
 *    prepared run; `kill ID SIGNO` signals that run's monitor (SIG_KILL_SANDBOX ends the run and
 *    still writes its result; the forwarded signals reach the target); `wake` ends an idle state
 *    (the host sent a run the cold way for want of a prepared one, and it ended; or it waits for
 *    a full pool); `hold` and `go` bracket the start of a run of another of the host's warm
 *    launchers (prepares hold meanwhile, HOLD_US at most); `busy` and `calm` bracket a time
 *    the host has more runs in flight than CPUs (no prepare starts meanwhile). End of file: every
 *    prepared run is ended and the warm launcher exits.
 *  - stdout, one line per event, each one write below PIPE_BUF: `held PGID`, `resumed PGID` (a
 *    prepare's process group stopped and continued, pace(): should this process die while one is
 *    held, the host continues it, for the kernel does so only where that orphans the group),
 *    `ready ID` (the run's FIFOs exist:
 *    the host opens its ends, launcher/request.c), `exit ID CODE SIGNAL` (the run's monitor exited
 *    with CODE, or died of SIGNAL; its status file is complete), `prepared N` (N prepared runs
 *    wait now; said when it changes), `idle` (the pool shrank to zero after IDLE_MS without a
 *    run), `lost` (a prepared run ended
 *    before it was used: it is replaced; the host may report it).
 *  - A prepared run is this binary started anew (vfork and exec: `--prepared`, prepared.h) on
 *    the static frame; it ran setup_prepare() (main.c): its own
 *    monitor, host ids, cgroup (created and joined), cloned trees, init in new namespaces building
 *    the root, then waiting for the request. Used once: the request is the whole rest of its life
 *    (setup_run()), then it exits. Nothing is prepared before the first `run` or `wake`; then
 *    POOL runs are kept prepared, a run handed out replaced once no run starts (pace()); after
 *    IDLE_MS without a request the prepared runs are ended (none is kept for nothing) and the
 *    next request prepares again.
 *  - Lifetime: this process dies with its parent (PR_SET_PDEATHSIG, main.c) and exits when its
 *    stdin closes. Each prepared run's monitor gets SIG_KILL_SANDBOX when this process dies, and
 *    ends on its own when its socket to us closes; either way init is killed and the cgroup
 *    removed (setup_failed(), or the monitor's usual end for a run in progress). */
#include "warm.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "abi.h"
#include "buf.h"
#include "config.h"
#include "monitor.h"
#include "prepared.h"
#include "request.h"
#include "setup.h"
#include "status.h"
#include "util.h"

#define POOL_MAX 32
#define SLOTS_MAX (POOL_MAX * 4) /* prepared plus in progress */

/* One prepared run (or one in progress), seen from the warm launcher. */
struct slot {
  pid_t pid;     /* its monitor; 0: the slot is free */
  int sock;      /* our end of its socketpair; -1 once the request went (or it was ended) */
  bool prepared; /* it said so: init waits for the request */
  bool busy;     /* it has a request: its exit is reported under id */
  bool started;  /* it took its request ('S'): from then on its end is the run's */
  uint64_t execd_us; /* when its target exec'd ('E'); 0: not yet */
  bool reported; /* its exit was reported ('D', before its init's teardown ended) */
  bool stopped;  /* preparing, held with SIGSTOP while a run starts (pace()) */
  unsigned tries; /* prepared runs this request went to before (each killed before taking it) */
  char *req;     /* busy, not started: the request's ops, to hand to another prepared run if this
                  * one is killed before it took them */
  uint32_t req_len;
  char id[WARM_ID_MAX + 1];
};

static struct slot slots[SLOTS_MAX];
static unsigned pool, idle_ms;
static int op_base;
static unsigned serial;
static bool idle; /* shrunk to zero: nothing is prepared until the next request */
/* Prepared runs lost in a row (each failed its prepare, or was killed from outside). Past
 * LOST_MAX nothing is prepared any more and `broken` is said once: the host goes the cold way. */
#define LOST_MAX 3
#define RETRIES_MAX 4
static unsigned lost_in_row;

/* Writes one event line to stdout in one write (lines of runs never interleave). */
static void event(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void event(const char *fmt, ...) {
  char line[128];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(line, sizeof line, fmt, ap);
  va_end(ap);
  if (n > 0 && (size_t)n < sizeof line) (void)write_full(1, line, (size_t)n);
}

/* A command frame (config.h's framing: magic, length, NUL-separated tokens) into our own buffer:
 * config.c's frame buffer holds the static config, which frame_save() hands to prepared runs. */
static char *cmd_buf;
static char **cmd_tokens;
static size_t cmd_cap, cmd_tokens_cap;

static int read_command(size_t *count) {
  unsigned char h[8];
  if (read_full(0, h, sizeof h) != (ssize_t)sizeof h || memcmp(h, FRAME_MAGIC, 4) != 0) return -1;
  uint32_t len = (uint32_t)h[4] | (uint32_t)h[5] << 8 | (uint32_t)h[6] << 16 | (uint32_t)h[7] << 24;
  if (len == 0 || len > FRAME_MAX || buf_reserve(&cmd_buf, &cmd_cap, len, 1) < 0 ||
      read_full(0, cmd_buf, len) != (ssize_t)len || cmd_buf[len - 1] != '\0')
    return -1;
  ssize_t c = buf_split(cmd_buf, len, TOKENS_MAX, &cmd_tokens, &cmd_tokens_cap);
  if (c < 0) return -1;
  *count = (size_t)c;
  return 0;
}

static struct slot *free_slot(void) {
  for (size_t i = 0; i < SLOTS_MAX; i++)
    if (!slots[i].pid) return &slots[i];
  return NULL;
}

static unsigned waiting(void) {
  unsigned n = 0;
  for (size_t i = 0; i < SLOTS_MAX; i++) n += slots[i].pid && !slots[i].busy;
  return n;
}

/* The static frame, for prepared runs to read (prepared_exec_main()), and this very launcher
 * binary, which they are: a prepared run is a new image (vfork and exec), not a fork of this
 * process. A fork copied our page tables, and every page either side wrote while the prepared
 * run waited cost a copy-on-write fault: measured here, this process spent 0.8 ms per run with
 * forks, 0.3 ms with vfork and exec (the prepared monitor's exec costs about the difference). A
 * prepared run also no longer carries our memory, where other runs' requests pass. */
static int frame_fd = -1, exe_fd = -1;

/* The vfork child: only calls that touch no memory of ours but the stack; exec or _exit. */
static _Noreturn void exec_prepared(int sock, char *const *argv) {
  /* A process group of its own, which its init joins: pace() stops and continues it whole. */
  (void)setpgid(0, 0);
  /* fds 3 (its socket) and 4 (the frame) by number; stdin /dev/null; stdout (events) and stderr
   * stay; everything else of ours is close-on-exec (other runs' sockets included). */
  int s = fcntl(sock, F_DUPFD_CLOEXEC, 10), f = fcntl(frame_fd, F_DUPFD_CLOEXEC, 10);
  int x = fcntl(exe_fd, F_DUPFD_CLOEXEC, 10), devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (s < 0 || f < 0 || x < 0 || devnull < 0 || dup2(devnull, 0) < 0 || dup2(s, 3) < 0 || dup2(f, 4) < 0)
    _exit(EXIT_SETUP);
  syscall(SYS_execveat, x, "", argv, environ, AT_EMPTY_PATH);
  _exit(EXIT_SETUP);
}

/* vfork and exec of prepared run n on sock; the parent sees only the pid (or -1). */
static pid_t spawn_prepared(int sock, unsigned n) {
  char num[16], base[16], parent[16];
  snprintf(num, sizeof num, "%u", n);
  snprintf(base, sizeof base, "%d", op_base);
  snprintf(parent, sizeof parent, "%d", (int)getpid());
  char *argv[] = {"sandbox-launcher", "--prepared", num, base, parent, NULL};
  pid_t pid = vfork();
  if (pid == 0) exec_prepared(sock, argv);
  return pid;
}

/* Starts a prepared run into a free slot. */
static struct slot *prepare_one(void) {
  struct slot *s = free_slot();
  if (!s) return NULL;
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) return NULL;
  pid_t pid = spawn_prepared(sv[1], ++serial);
  close(sv[1]);
  if (pid < 0) {
    close(sv[0]);
    return NULL;
  }
  (void)setpgid(pid, pid); /* as the child did: pace() may signal the group before it ran */
  *s = (struct slot){.pid = pid, .sock = sv[0]};
  return s;
}

/* Prepared runs still preparing (no 'P' yet). */
static unsigned preparing(void) {
  unsigned n = 0;
  for (size_t i = 0; i < SLOTS_MAX; i++) n += slots[i].pid && !slots[i].busy && !slots[i].prepared;
  return n;
}

/* Prepares hold while a run starts or has run for less than HOLD_US since its exec: on two cores,
 * a prepare in the background took 2-4 ms of a warm run's ~12 ms (the run's processes and Deno
 * waited for the CPU at each hand-over). A long run holds them no longer than that. */
#define HOLD_US 50000u

/* `hold` from the host: a run of another of its sandboxes starts; our prepares hold until `go`,
 * and HOLD_US at most. */
static uint64_t host_hold_until;

/* `busy` from the host: it has more runs in flight than CPUs, and no CPU to spare for preparing
 * ahead; no prepare starts until `calm` (those in progress go on, prepared runs wait). */
static bool host_busy;

/* Microseconds until no run holds the prepares any more: 0 when none does now. */
static uint64_t hold_left(uint64_t now) {
  uint64_t left = host_hold_until > now ? host_hold_until - now : 0;
  for (size_t i = 0; i < SLOTS_MAX; i++) {
    const struct slot *s = &slots[i];
    /* No socket: reported ('D'), or it ended. */
    if (!s->pid || !s->busy || s->sock < 0) continue;
    if (!s->execd_us) return UINT64_MAX;
    if (s->execd_us + HOLD_US > now && s->execd_us + HOLD_US - now > left) left = s->execd_us + HOLD_US - now;
  }
  return left;
}

static void resume(struct slot *s) {
  if (!s->stopped) return;
  kill(-s->pid, SIGCONT);
  s->stopped = false;
  event("resumed %d\n", (int)s->pid);
}

/* Prepares yield to runs that start (hold_left()): meanwhile every prepare still in progress is
 * held (SIGSTOP to its process group: its monitor and init); then they go on. A held group
 * whose warm launcher dies wakes to its parent-death signal and ends: the kernel sends SIGHUP and
 * SIGCONT to a group its parent's death orphans, and the host continues every group said `held`
 * and not `resumed` (the group is not orphaned where the Deno process itself is the reaper: pid 1
 * of a container). */
static void pace(bool hold) {
  for (size_t i = 0; i < SLOTS_MAX; i++) {
    struct slot *s = &slots[i];
    if (!s->pid) continue;
    if (hold && !s->busy && !s->prepared && !s->stopped && s->sock >= 0) {
      if (kill(-s->pid, SIGSTOP) == 0) {
        s->stopped = true;
        event("held %d\n", (int)s->pid);
      }
    } else if (!hold || s->busy || s->sock < 0) {
      resume(s);
    }
  }
}

static void resume_all(void) {
  for (size_t i = 0; i < SLOTS_MAX; i++)
    if (slots[i].pid) resume(&slots[i]);
}

/* At most PREPARING_MAX prepare at once: the first is ready sooner (a new sandbox's first run
 * waits for it), and a refill does not take every CPU from the runs in progress. */
#define PREPARING_MAX 2

/* No new prepare starts while runs hold them (pace()): it would only be held at once. */
static void refill(bool hold) {
  if (hold || host_busy) return;
  while (!idle && lost_in_row < LOST_MAX && waiting() < pool && preparing() < PREPARING_MAX &&
         prepare_one()) {
  }
}

/* The oldest prepared run, else one still preparing, else a new one. */
static struct slot *pick(void) {
  struct slot *best = NULL;
  for (size_t i = 0; i < SLOTS_MAX; i++) {
    struct slot *s = &slots[i];
    if (!s->pid || s->busy || s->sock < 0) continue;
    if (!best || (s->prepared && !best->prepared)) best = s;
  }
  return best ? best : prepare_one();
}

/* Hands a request (id, ops) to a prepared run, which keeps `req` until it took it. A prepared run
 * that died meanwhile (killed from outside) refuses the id with EPIPE: the next one is tried. */
static int dispatch(const char *id, char *req, uint32_t len, unsigned tries_before) {
  for (unsigned tries = 0; tries < SLOTS_MAX; tries++) {
    struct slot *s = pick();
    if (!s) return -1;
    resume(s);
    if (send(s->sock, id, strlen(id) + 1, MSG_NOSIGNAL) < 0) {
      close(s->sock); /* reaped with SIGCHLD */
      s->sock = -1;
      continue;
    }
    snprintf(s->id, sizeof s->id, "%s", id);
    s->busy = true;
    s->tries = tries_before;
    s->req = req;
    s->req_len = len;
    if (prepared_send_blob(s->sock, req, len) < 0) {
      close(s->sock); /* it died: handed on when reaped */
      s->sock = -1;
    }
    return 0;
  }
  return -1;
}

/* `run ID OPS...`: the ops, copied, go to a prepared run (the id first, its own message). */
static void start_run(char **t, size_t count) {
  const char *id = t[1];
  /* The ops are contiguous in cmd_buf (NUL-separated, in the frame they came in), and the
   * frame is at most FRAME_MAX: they fit a blob as they are. */
  bool fits = strlen(id) <= WARM_ID_MAX;
  size_t off = count > 2 ? (size_t)(t[count - 1] + strlen(t[count - 1]) + 1 - t[2]) : 0;
  char *copy = fits ? malloc(off ? off : 1) : NULL;
  if (copy) memcpy(copy, t[2], off);
  if (!copy || dispatch(id, copy, (uint32_t)off, 0) < 0) {
    free(copy);
    event("exit %s %d 0\n", fits ? id : "?", EXIT_SETUP);
  }
}

static void kill_run(char **t, size_t count) {
  uint64_t sig;
  if (count != 3 || !parse_u64(t[2], &sig) || sig == 0 || sig >= NSIG) return;
  for (size_t i = 0; i < SLOTS_MAX; i++)
    if (slots[i].pid && slots[i].busy && !slots[i].reported && strcmp(slots[i].id, t[1]) == 0)
      kill(slots[i].pid, (int)sig);
}

/* A reaped slot is free again; a group it held stopped is gone (the host forgets it). */
static void clear_slot(struct slot *s) {
  if (s->stopped) event("resumed %d\n", (int)s->pid);
  *s = (struct slot){.sock = -1};
}

static void reap(void) {
  int st;
  pid_t p;
  while ((p = waitpid(-1, &st, WNOHANG)) > 0) {
    for (size_t i = 0; i < SLOTS_MAX; i++) {
      struct slot *s = &slots[i];
      if (s->pid != p) continue;
      if (s->sock >= 0) close(s->sock);
      s->sock = -1;
      /* Killed before it took its request: the request goes to another prepared run (a few
       * times: the prepared runs may have been killed all at once). */
      char id[WARM_ID_MAX + 1];
      snprintf(id, sizeof id, "%s", s->id);
      if (s->busy && !s->started && s->tries < RETRIES_MAX && WIFSIGNALED(st)) {
        char *req = s->req;
        uint32_t len = s->req_len;
        unsigned tries = s->tries + 1;
        clear_slot(s);
        if (dispatch(id, req, len, tries) == 0) continue;
        free(req);
        event("exit %s %d %d\n", id, -1, SIGKILL);
        continue;
      }
      free(s->req);
      if (s->busy) {
        /* Its end, unless it was told already ('D'). */
        if (!s->reported)
          event("exit %s %d %d\n", s->id, WIFEXITED(st) ? WEXITSTATUS(st) : -1, WIFSIGNALED(st) ? WTERMSIG(st) : 0);
      } else if (!idle) {
        event("lost\n");
        if (++lost_in_row == LOST_MAX) event("broken\n");
      }
      clear_slot(s);
    }
  }
}

/* Ends every prepared run (their sockets close: each ends itself, init killed, cgroup removed). */
static void shrink(void) {
  resume_all();
  for (size_t i = 0; i < SLOTS_MAX; i++)
    if (slots[i].pid && !slots[i].busy && slots[i].sock >= 0) {
      close(slots[i].sock);
      slots[i].sock = -1;
    }
}

/* Says how many prepared runs wait now, when that changed (`prepared N`): the host sends a run the
 * cold way rather than have it wait for a prepare (a new sandbox's first run, a drained pool). */
static void announce(void) {
  static unsigned said = UINT32_MAX;
  unsigned n = 0;
  for (size_t i = 0; i < SLOTS_MAX; i++)
    n += slots[i].pid && !slots[i].busy && slots[i].prepared && slots[i].sock >= 0;
  if (n == said) return;
  said = n;
  event("prepared %u\n", n);
}

static void arm_idle(int timerfd) {
  struct itimerspec its = {{0, 0}, {(time_t)(idle_ms / 1000u), (long)(idle_ms % 1000u) * 1000000L}};
  timerfd_settime(timerfd, 0, &its, NULL);
}

enum { W_STDIN, W_SIGNALS, W_IDLE, W_SLOTS };

int warm_main(int argc, char **argv) {
  uint64_t v[3];
  struct sbx_err e = SBX_ERR_NONE;
  if (argc != 3 || !parse_u64(argv[0], &v[0]) || !parse_u64(argv[1], &v[1]) || !parse_u64(argv[2], &v[2]) ||
      v[0] == 0 || v[0] > POOL_MAX || v[1] == 0 || v[1] > 86400000u || v[2] > TOKENS_MAX) {
    fail_input(&e, "--warm needs POOL (1..32) IDLE_MS (1..86400000) OP_BASE", NULL, -1);
    report_err(&e, NULL);
    return EXIT_SETUP;
  }
  pool = (unsigned)v[0];
  idle_ms = (unsigned)v[1];
  op_base = (int)v[2];
  char **tokens;
  size_t count;
  if (frame_read(0, &tokens, &count, &e) < 0 || config_parse(tokens, count, setup_config(), &e) < 0) {
    report_err(&e, NULL);
    return EXIT_SETUP;
  }
  /* The frame, sealed, for the prepared runs; the binary we run, as it is now. */
  frame_fd = memfd_create("sandbox-frame", MFD_CLOEXEC | MFD_ALLOW_SEALING);
  if (frame_fd < 0 || frame_save(frame_fd) < 0 ||
      fcntl(frame_fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL) < 0) {
    fail(&e, STEP_PIPE, -1);
    report_err(&e, NULL);
    return EXIT_SETUP;
  }
  exe_fd = open("/proc/self/exe", O_PATH | O_CLOEXEC);
  if (exe_fd < 0) {
    fail_path(&e, STEP_EXEC, "/proc/self/exe");
    report_err(&e, NULL);
    return EXIT_SETUP;
  }
  for (size_t i = 0; i < SLOTS_MAX; i++) slots[i].sock = -1;
  /* Signals main() blocked stay blocked (the prepared runs' monitors read theirs from a
   * signalfd); we take SIGCHLD, and end on the kill signal or any forwarded one. */
  sigset_t sigs;
  sigemptyset(&sigs);
  sigaddset_forwarded(&sigs);
  sigaddset(&sigs, SIGCHLD);
  sigaddset(&sigs, SIG_KILL_SANDBOX);
  int sigfd = signalfd(-1, &sigs, SFD_CLOEXEC | SFD_NONBLOCK);
  int timerfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
  if (sigfd < 0 || timerfd < 0) {
    fail(&e, STEP_SIGNALS, -1);
    report_err(&e, NULL);
    return EXIT_SETUP;
  }
  /* Nothing is prepared until the host asks (`run`, `wake`): a sandbox's first run goes the cold
   * way without prepares competing with it, and a sandbox never used costs no prepared run. */
  idle = true;
  announce();
  bool running = true;
  while (running) {
    struct pollfd pfd[W_SLOTS + SLOTS_MAX];
    pfd[W_STDIN] = (struct pollfd){0, POLLIN, 0};
    pfd[W_SIGNALS] = (struct pollfd){sigfd, POLLIN, 0};
    pfd[W_IDLE] = (struct pollfd){timerfd, POLLIN, 0};
    for (size_t i = 0; i < SLOTS_MAX; i++)
      pfd[W_SLOTS + i] = (struct pollfd){slots[i].pid ? slots[i].sock : -1, POLLIN, 0};
    /* While runs hold the prepares, wake up when the last hold ends (pace()). */
    uint64_t left = hold_left(now_us());
    int timeout = left == 0 || left == UINT64_MAX ? -1 : (int)((left + 999) / 1000);
    if (poll(pfd, W_SLOTS + SLOTS_MAX, timeout) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    if (pfd[W_SIGNALS].revents) {
      struct signalfd_siginfo si;
      while (read(sigfd, &si, sizeof si) == (ssize_t)sizeof si)
        if (si.ssi_signo != SIGCHLD) running = false;
      reap();
    }
    for (size_t i = 0; i < SLOTS_MAX; i++) {
      short r = pfd[W_SLOTS + i].revents;
      if (!r || pfd[W_SLOTS + i].fd < 0) continue;
      struct slot *s = &slots[i];
      unsigned char msg[2];
      ssize_t n;
      while (s->sock >= 0 && (r & POLLIN) && (n = recv(s->sock, msg, sizeof msg, MSG_DONTWAIT)) >= 1) {
        if (msg[0] == 'P') {
          s->prepared = true;
          lost_in_row = 0;
        } else if (msg[0] == 'S' && s->busy) {
          s->started = true;
          free(s->req);
          s->req = NULL;
        } else if (msg[0] == 'E' && s->busy) {
          s->execd_us = now_us();
        } else if (msg[0] == 'D' && n == 2 && s->busy && s->started && !s->reported) {
          /* The result is written: reported now, reaped later (its init's teardown goes on). */
          event("exit %s %d 0\n", s->id, msg[1]);
          s->reported = true;
          close(s->sock);
          s->sock = -1;
        }
      }
      if (s->sock >= 0 && (r & (POLLHUP | POLLERR))) {
        close(s->sock); /* it ended: reaped with SIGCHLD */
        s->sock = -1;
      }
      /* Hung up: it failed its prepare or was killed; reaped (and counted) with SIGCHLD. */
    }
    if (pfd[W_IDLE].revents) {
      uint64_t ticks;
      (void)!read(timerfd, &ticks, sizeof ticks);
      idle = true;
      shrink();
      event("idle\n");
    }
    if (pfd[W_STDIN].revents) {
      if (read_command(&count) < 0) break; /* end of file (or garbage): stop */
      tokens = cmd_tokens;
      if (count >= 2 && strcmp(tokens[0], "run") == 0) {
        idle = false;
        arm_idle(timerfd);
        start_run(tokens, count);
      } else if (count >= 2 && strcmp(tokens[0], "kill") == 0) {
        kill_run(tokens, count);
      } else if (count == 1 && strcmp(tokens[0], "wake") == 0) {
        /* A run went the cold way for want of a prepared one: prepare again. */
        idle = false;
        arm_idle(timerfd);
      } else if (count == 3 && strcmp(tokens[0], "fifos") == 0) {
        /* A run's FIFOs made ahead, so that its host opens them while the request travels. */
        struct sbx_err fe = SBX_ERR_NONE;
        if (request_make_fifos(tokens[2], &fe) == 0) event("fifos %s\n", tokens[1]);
        else event("fifos-failed %s %d\n", tokens[1], fe.err);
      } else if (count == 1 && strcmp(tokens[0], "hold") == 0) {
        host_hold_until = now_us() + HOLD_US;
      } else if (count == 1 && strcmp(tokens[0], "go") == 0) {
        host_hold_until = 0;
      } else if (count == 1 && strcmp(tokens[0], "busy") == 0) {
        host_busy = true;
      } else if (count == 1 && strcmp(tokens[0], "calm") == 0) {
        host_busy = false;
      } else {
        break;
      }
    }
    bool hold = hold_left(now_us()) > 0;
    refill(hold);
    pace(hold);
    announce();
  }
  /* Ending: prepared runs end themselves once their socket closes; runs in progress are ended
   * (their monitors still write their results), then everything is reaped. */
  shrink();
  for (size_t i = 0; i < SLOTS_MAX; i++)
    if (slots[i].pid && slots[i].busy && !slots[i].reported) kill(slots[i].pid, SIG_KILL_SANDBOX);
  while (waitpid(-1, NULL, 0) > 0 || errno == EINTR) {
  }
  return 0;
}
