/* monitor.c — the monitor while the sandbox runs (see monitor.h). */
#include "monitor.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "abi.h"
#include "child.h"
#include "egress.h"
#include "relay.h"
#include "seccomp.h"


/* SLOT_TTY: the first of the tty relay's TTY_SLOT_COUNT slots (tty.h). */
enum slot { SLOT_INIT, SLOT_REPORTS, SLOT_SIGNALS, SLOT_TIMER, SLOT_LISTENER, SLOT_EGRESS, SLOT_TTY,
            SLOT_COUNT = SLOT_TTY + TTY_SLOT_COUNT };

/* The fds init hands over while the run goes on (-1 until then). */
struct handed {
  int listener; /* the seccomp listener */
  int egress;   /* the egress listener (egress.c) */
};

_Static_assert(EGRESS_PAIRS_MAX <= RELAY_CAP_MAX, "the relay tracks at most RELAY_CAP_MAX pairs");

/* How long init has to end the run itself (kill and reap every process) before the monitor
 * SIGKILLs it. Below the library's own grace for the launcher (lib/run.ts KILL_GRACE_MS). */
#define END_GRACE_MS 1000u

/* Ends the run: init is asked (SIG_KILL_SANDBOX) to kill and reap every process itself, so their
 * usage adds up in its rusage; the timer, re-armed, SIGKILLs init if it has not exited in
 * END_GRACE_MS (then the kernel reaps the pid namespace, unaccounted). Once per run. */
static void stop_run(const struct monitor *m, struct outcome *o) {
  if (o->ending) return;
  o->ending = true;
  struct itimerspec grace = {{0, 0}, {END_GRACE_MS / 1000u, (long)(END_GRACE_MS % 1000u) * 1000000L}};
  if (kill(m->init, SIG_KILL_SANDBOX) < 0 || timerfd_settime(m->timer_fd, 0, &grace, NULL) < 0)
    kill(m->init, SIGKILL);
}

/* Receives one report; a passed fd (the target's pidfd) lands in *passed_fd. */
static ssize_t recv_report(int sock, struct report *r, int *passed_fd) {
  struct iovec iov = {r, sizeof *r};
  union {
    char buf[CMSG_SPACE(sizeof(int))];
    struct cmsghdr align;
  } u;
  struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof u.buf};
  ssize_t n;
  do n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
  while (n < 0 && errno == EINTR);
  *passed_fd = -1;
  for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c))
    if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) memcpy(passed_fd, CMSG_DATA(c), sizeof(int));
  return n;
}

/* Takes the seccomp listener (handed over by the courier, or taken out of the target through its
 * pidfd) and acks; -1 (sandbox to be killed) on failure. */
static int take_listener(int sock, const struct report *r, int passed) {
  int listener = passed;
  if (r->kind == REPORT_LISTENER) {
    listener = passed < 0 ? -1 : (int)syscall(SYS_pidfd_getfd, passed, r->value, 0);
    if (passed >= 0) close(passed);
  }
  if (listener < 0) return -1;
  if (write_full(sock, "1", 1) < 0) {
    close(listener);
    return -1;
  }
  return listener;
}

void monitor_init_error(const struct monitor *m, struct sbx_err *e) {
  struct report r;
  int passed;
  bool found = false;
  while (recv_report(m->report_fd, &r, &passed) == (ssize_t)sizeof r) {
    if (passed >= 0) close(passed);
    if (r.kind == REPORT_ERROR && !found) {
      fail_errno(e, r.step, r.op, r.err);
      found = true;
    }
  }
}

/* Drains the queued reports (started, exit: several can wait behind one wake-up). With slots for
 * handed fds, a listener or egress report fills its slot; without (after init exited), the fd is
 * dropped. */
static void drain_reports(const struct monitor *m, struct outcome *o, struct handed *h) {
  int *listener_slot = h ? &h->listener : NULL;
  struct report r;
  int passed;
  while (recv_report(m->report_fd, &r, &passed) == (ssize_t)sizeof r) {
    if (r.kind == REPORT_EGRESS && h && h->egress < 0 && passed >= 0) {
      h->egress = passed;
      continue;
    }
    if ((r.kind == REPORT_LISTENER || r.kind == REPORT_LISTENER_FD) && listener_slot) {
      /* Fail closed: a filter whose refusals nobody answers must not run (nor a second one). */
      bool first = *listener_slot < 0;
      if (!first && passed >= 0) close(passed);
      if (!first || (*listener_slot = take_listener(m->report_fd, &r, passed)) < 0) {
        fail(&o->err, STEP_SECCOMP_LISTENER, -1);
        status_error(m->status_fd, &o->err);
        stop_run(m, o);
      }
      continue;
    }
    if (r.kind == REPORT_TTY && passed >= 0 && m->tty && m->tty->master < 0) {
      tty_relay_attach(m->tty, passed);
      continue;
    }
    if (passed >= 0) close(passed);
    if (r.kind == REPORT_STARTED) {
      status_started(m->status_fd);
      if (m->warm_sock >= 0) (void)!send(m->warm_sock, "E", 1, MSG_NOSIGNAL);
    } else if (r.kind == REPORT_ERROR) {
      fail_errno(&o->err, r.step, r.op, r.err);
      status_error(m->status_fd, &o->err);
    } else if (r.kind == REPORT_EXIT) {
      o->have_exit = true;
      o->wstatus = r.value;
    } else if (r.kind == REPORT_REAPED) {
      o->reaped = true;
      o->x.user_us = r.user_us;
      o->x.sys_us = r.sys_us;
      o->x.max_rss_kb = r.max_rss_kb;
    }
  }
}

static void forward_signals(const struct monitor *m, struct outcome *o) {
  struct signalfd_siginfo si;
  while (read(m->signal_fd, &si, sizeof si) == (ssize_t)sizeof si) {
    if (si.ssi_signo == SIG_KILL_SANDBOX) {
      o->x.killed = true;
      stop_run(m, o);
    } else if (si.ssi_signo != SIGCHLD && si.ssi_signo != SIGPIPE) {
      kill(m->init, (int)si.ssi_signo);
    }
  }
}

/* Refused-call reports the monitor answers per window. The monitor's CPU is not the run's (it is
 * outside the cgroup): past the budget the listener is left unpolled until the window ends, so a
 * flood of refused calls waits in the kernel, charged to the target's wall clock. */
#define NOTIFY_WINDOW_US 100000u
#define NOTIFY_BUDGET 1000u

/* One poll over the named slots. The listener is served first: a refused syscall blocks its
 * caller until answered. init's exit ends the loop; monitor_collect() reads what it left. */
void monitor_loop(const struct monitor *m, const struct config *cfg, struct outcome *o) {
  struct pollfd pfd[SLOT_COUNT + RELAY_POLLFDS(EGRESS_PAIRS_MAX)] = {
      [SLOT_INIT] = {m->pidfd, POLLIN, 0},      [SLOT_REPORTS] = {m->report_fd, POLLIN, 0},
      [SLOT_SIGNALS] = {m->signal_fd, POLLIN, 0}, [SLOT_TIMER] = {m->timer_fd, POLLIN, 0},
      [SLOT_LISTENER] = {-1, POLLIN, 0}, [SLOT_EGRESS] = {-1, POLLIN, 0},
  };
  for (int i = SLOT_TTY; i < SLOT_COUNT; i++) pfd[i].fd = -1;
  /* pfd[SLOT_LISTENER].fd is -1 while the listener rests, pfd[SLOT_EGRESS].fd while the relay
   * is full (connections wait in the backlog). The egress relay's fds follow the named slots. */
  struct handed h = {-1, -1};
  struct relay relay;
  relay_init(&relay, NULL, 0);
  uint64_t window_start = 0;
  unsigned answered = 0;
  for (;;) {
    int timeout = -1;
    if (h.listener >= 0 && answered >= NOTIFY_BUDGET) {
      uint64_t spent = now_us() - window_start;
      if (spent >= NOTIFY_WINDOW_US) {
        answered = 0;
        window_start = now_us();
      } else {
        timeout = (int)((NOTIFY_WINDOW_US - spent + 999) / 1000);
      }
    }
    pfd[SLOT_LISTENER].fd = answered < NOTIFY_BUDGET ? h.listener : -1;
    /* The relay's storage (2 MiB) is taken once egress is handed over: most runs have none.
     * Without the memory, the listener is closed and the sandbox's connections are refused. */
    if (h.egress >= 0 && !relay.pairs) {
      struct relay_pair *pairs = calloc(EGRESS_PAIRS_MAX, sizeof *pairs);
      if (pairs) relay_init(&relay, pairs, EGRESS_PAIRS_MAX);
      else {
        fprintf(stderr, "sandbox-launcher: egress: %s: the sandbox's connections are refused\n", strerror(ENOMEM));
        close(h.egress);
        h.egress = -1;
      }
    }
    pfd[SLOT_EGRESS].fd = relay_full(&relay) ? -1 : h.egress;
    if (m->tty) tty_relay_poll(m->tty, &pfd[SLOT_TTY]);
    size_t relayed = relay_poll_fill(&relay, pfd + SLOT_COUNT);
    if (poll(pfd, SLOT_COUNT + relayed, timeout) < 0) {
      if (errno == EINTR) continue;
      kill(m->init, SIGKILL);
      break;
    }
    struct pollfd *l = &pfd[SLOT_LISTENER];
    if (l->fd >= 0 && (l->revents & POLLIN)) {
      if (answered++ == 0) window_start = now_us();
      if (seccomp_handle(l->fd, cfg, &o->x.seccomp) && !o->x.seccomp_killed) {
        o->x.seccomp_killed = true;
        stop_run(m, o);
      }
    }
    if (l->fd >= 0 && (l->revents & (POLLHUP | POLLERR))) h.listener = -1;
    relay_poll_done(&relay, pfd + SLOT_COUNT, relayed);
    if (pfd[SLOT_EGRESS].fd >= 0 && (pfd[SLOT_EGRESS].revents & POLLIN)) egress_accept(cfg, h.egress, &relay);
    if (pfd[SLOT_REPORTS].revents & POLLIN) drain_reports(m, o, &h);
    /* The run is over and reaped: init's exit (its namespaces' teardown) need not be waited for. */
    if (o->reaped) break;
    if (pfd[SLOT_REPORTS].revents & (POLLHUP | POLLERR)) pfd[SLOT_REPORTS].fd = -1;
    if (pfd[SLOT_TIMER].revents & POLLIN) {
      uint64_t ticks;
      (void)!read(m->timer_fd, &ticks, sizeof ticks);
      if (o->ending) {
        /* init did not end the run in time: SIGKILL takes the pid namespace with it. */
        kill(m->init, SIGKILL);
        pfd[SLOT_TIMER].fd = -1;
      } else {
        o->x.timed_out = true; /* the wall clock */
        stop_run(m, o);
      }
    }
    if (pfd[SLOT_SIGNALS].revents & POLLIN) forward_signals(m, o);
    if (m->tty) tty_relay_pump(m->tty, &pfd[SLOT_TTY]);
    if (pfd[SLOT_INIT].revents & POLLIN) break;
  }
  /* The sandbox is gone: nothing is left to relay. */
  relay_close_all(&relay);
  free(relay.pairs);
  if (h.egress >= 0) close(h.egress);
}

/* Waits for init (once): its usage, with its reaped children's, into ru when given. */
static void wait_init(struct monitor *m, struct outcome *o, struct rusage *ru) {
  if (m->init <= 0) return;
  while (wait4(m->init, &o->init_status, 0, ru) < 0 && errno == EINTR) {
  }
  m->init = -1;
}

void monitor_collect(struct monitor *m, struct outcome *o) {
  /* Without init's report (it was killed, or its signalfd failed), its exit is the run's end. */
  if (!o->reaped) {
    struct rusage ru = {0};
    wait_init(m, o, &ru);
    o->x.user_us = tv_us(ru.ru_utime);
    o->x.sys_us = tv_us(ru.ru_stime);
    o->x.max_rss_kb = (uint64_t)ru.ru_maxrss;
  }
  o->x.wall_us = now_us() - m->start_us;
  drain_reports(m, o, NULL);
  /* The terminal's last output before the exit record: a reader of both sees it all. */
  if (m->tty) tty_finish(m->tty);
  /* Every process of the run is reaped (by init, or with init by the kernel): the counters are
   * final. */
  cgroup_usage(&m->cg, &o->x.cg);
}

void monitor_release(struct monitor *m, struct outcome *o) {
  wait_init(m, o, NULL);
  /* init is gone: the cgroup is empty. */
  cgroup_remove(&m->cg);
}

int exit_code(struct outcome *o) {
  struct exit_info *x = &o->x;
  int rc;
  if (o->have_exit && WIFEXITED(o->wstatus)) {
    x->code = WEXITSTATUS(o->wstatus);
    rc = x->code;
  } else if (o->have_exit && WIFSIGNALED(o->wstatus)) {
    x->signal = WTERMSIG(o->wstatus);
    rc = EXIT_SIGNAL_BASE + x->signal;
  } else if (o->err.step) {
    rc = exit_code_for(&o->err);
  } else {
    /* init died without a report: killed by us (timeout, request) or from outside. */
    x->signal = WIFSIGNALED(o->init_status) ? WTERMSIG(o->init_status) : SIGKILL;
    rc = EXIT_SIGNAL_BASE + x->signal;
  }
  if (x->seccomp_killed) {
    /* Reported like a SIGSYS death (the seed's convention: 128 + SIGSYS = 159). */
    x->signal = SIGSYS;
    x->code = -1;
    rc = EXIT_SIGNAL_BASE + SIGSYS;
  }
  if (x->timed_out) rc = EXIT_TIMEOUT;
  return rc;
}

