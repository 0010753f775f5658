/* main.c — sandbox-launcher: the monitor. Reads one config (framed on stdin, or as argv),
 * clones init into new namespaces, maps ids, releases it, then enforces the wall clock, forwards
 * signals, reaps, and writes the status records. The whole order is readable in main(). */
#include <errno.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "abi.h"
#include "cgroup.h"
#include "child.h"
#include "config.h"
#include "features.h"
#include "ns.h"
#include "seccomp.h"
#include "status.h"
#include "util.h"

/* The monitor's own control signal: "kill the sandbox now and report". The FORWARDED_SIGNALS
 * (abi.h) are passed on to the target through init. */
#define SIG_KILL_SANDBOX SIGPWR

static struct config cfg;

static uint64_t now_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static uint64_t tv_us(struct timeval tv) { return (uint64_t)tv.tv_sec * 1000000u + (uint64_t)tv.tv_usec; }

static pid_t clone_child(int *pidfd, int cgroup_fd, struct sbx_err *e) {
  struct clone_args args;
  memset(&args, 0, sizeof args);
  args.flags = (cfg.ns_flags & ~(cfg.late_cgroupns ? (unsigned long)CLONE_NEWCGROUP : 0)) | CLONE_PIDFD;
  args.pidfd = (uint64_t)(uintptr_t)pidfd;
  args.exit_signal = SIGCHLD;
  if (cgroup_fd >= 0) {
    /* v2: the child starts inside its cgroup — no window before the limits apply. */
    args.flags |= CLONE_INTO_CGROUP;
    args.cgroup = (uint64_t)cgroup_fd;
  }
  long pid = syscall(SYS_clone3, &args, sizeof args);
  if (pid < 0) return fail(e, STEP_CLONE, -1);
  return (pid_t)pid;
}

/* The one place the monitor turns an error into an exit: the child (if any) is killed before it
 * ran a single step, the cgroup is removed, the failure reported. Nothing half-built keeps
 * running. */
static int setup_failed(pid_t child, struct cgroup_state *cg, const struct sbx_err *e, int status_fd) {
  if (child > 0) {
    kill(child, SIGKILL);
    waitpid(child, NULL, 0);
  }
  struct cgroup_usage unused;
  cgroup_finish(cg, &unused);
  report_err(e, config_err_path(&cfg, e));
  status_error(status_fd, e);
  return EXIT_SETUP;
}

static int block_signals(sigset_t *set) {
  sigemptyset(set);
  sigaddset_forwarded(set);
  sigaddset(set, SIGCHLD);
  sigaddset(set, SIG_KILL_SANDBOX);
  sigaddset(set, SIGPIPE);
  return sigprocmask(SIG_BLOCK, set, NULL);
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

/* Takes the seccomp listener out of the target and acks; -1 (sandbox to be killed) on failure. */
static int take_listener(int sock, int pidfd, int fdnum) {
  int listener = pidfd < 0 ? -1 : (int)syscall(SYS_pidfd_getfd, pidfd, fdnum, 0);
  if (pidfd >= 0) close(pidfd);
  if (listener < 0) return -1;
  if (write_full(sock, "1", 1) < 0) {
    close(listener);
    return -1;
  }
  return listener;
}

static void handle_report(const struct report *r, int status_fd, struct sbx_err *err,
                          bool *have_exit, int *wstatus) {
  if (r->kind == REPORT_STARTED) {
    status_started(status_fd);
  } else if (r->kind == REPORT_ERROR) {
    fail_errno(err, r->step, r->op, r->err);
    status_error(status_fd, err);
  } else if (r->kind == REPORT_EXIT) {
    *have_exit = true;
    *wstatus = r->value;
  }
}

int main(int argc, char **argv) {
  /* Die with the parent (Deno). The getppid() check closes the race with an early death. */
  pid_t ppid = getppid();
  if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0 || getppid() != ppid) return EXIT_SETUP;
  /* Deno leaks some of its own fds into children: close everything but stdio. */
  struct sbx_err e = SBX_ERR_NONE;
  if (close_fds(3, ~0U, false) < 0) {
    fail(&e, STEP_CLOSE_FDS, -1);
    report_err(&e, NULL);
    return EXIT_SETUP;
  }

  if (argc == 2 && strcmp(argv[1], "--features") == 0) return features_print();
  if (argc == 2 && strcmp(argv[1], "--version") == 0) {
    puts("sandbox-launcher " SANDBOX_VERSION);
    return 0;
  }
  char **tokens;
  size_t count;
  if (argc > 1) {
    tokens = argv + 1;
    count = (size_t)argc - 1;
  } else if (frame_read(0, &tokens, &count, &e) < 0) {
    report_err(&e, NULL);
    return EXIT_SETUP;
  }
  if (config_parse(tokens, count, &cfg, &e) < 0) {
    report_err(&e, NULL);
    return EXIT_SETUP;
  }

  int status_fd = status_open(cfg.status_path);
  if (status_fd < 0) {
    fail_path(&e, STEP_STATUS, cfg.status_path);
    report_err(&e, config_err_path(&cfg, &e));
    return EXIT_SETUP;
  }
  sigset_t sigs;
  int sync_pipe[2], report_pipe[2];
  if (block_signals(&sigs) < 0) fail(&e, STEP_SIGNALS, -1);
  else if (pipe2(sync_pipe, O_CLOEXEC) < 0 ||
           socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, report_pipe) < 0)
    fail(&e, STEP_PIPE, -1);
  int sfd = e.step ? -1 : signalfd(-1, &sigs, SFD_CLOEXEC | SFD_NONBLOCK);
  int tfd = e.step ? -1 : timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC);
  if (!e.step && (sfd < 0 || tfd < 0)) fail(&e, STEP_SIGNALS, -1);
  if (e.step) {
    report_err(&e, NULL);
    status_error(status_fd, &e);
    return EXIT_SETUP;
  }

  static struct cgroup_state cg;
  if (cgroup_create(&cfg, &cg, &e) < 0) {
    report_err(&e, config_err_path(&cfg, &e));
    status_error(status_fd, &e);
    return EXIT_SETUP;
  }

  cfg.late_cgroupns = cgroup_joins_after_clone(&cg) && (cfg.ns_flags & CLONE_NEWCGROUP);
  uint64_t start = now_us();
  int pidfd = -1;
  pid_t child = clone_child(&pidfd, cgroup_clone_fd(&cg), &e);
  if (child == 0) {
    close(sync_pipe[1]);
    close(report_pipe[0]);
    child_main(&cfg, sync_pipe[0], report_pipe[1]);
  }
  if (child < 0) return setup_failed(-1, &cg, &e, status_fd);
  close(sync_pipe[0]);
  close(report_pipe[1]);

  /* Parent side of the setup, then release the child. */
  if (ns_prepare(&cfg, child, &e) < 0 || cgroup_prepare(&cg, child, &e) < 0 ||
      write_full(sync_pipe[1], "1", 1) < 0) {
    if (!e.step) fail(&e, STEP_SYNC, -1);
    return setup_failed(child, &cg, &e, status_fd);
  }
  /* sync_pipe[1] stays open until the monitor exits: init checks it for a hang-up. */

  if (cfg.timeout_ms) {
    uint64_t deadline = start + cfg.timeout_ms * 1000u;
    struct itimerspec its = {{0, 0}, {(time_t)(deadline / 1000000u), (long)(deadline % 1000000u) * 1000}};
    /* An unarmed wall clock would be a silently dropped limit: stop the run instead. */
    if (timerfd_settime(tfd, TFD_TIMER_ABSTIME, &its, NULL) < 0)
      return setup_failed(child, &cg, (fail(&e, STEP_SIGNALS, -1), &e), status_fd);
  }

  struct exit_info x = {.code = -1, .seccomp_nr = -1};
  struct sbx_err child_err = SBX_ERR_NONE;
  bool have_exit = false;
  int wstatus = 0;
  struct seccomp_seen seen = {-1, 0, 0};
  bool seccomp_killed = false;
  struct pollfd pfd[5] = {{pidfd, POLLIN, 0},
                          {report_pipe[0], POLLIN, 0},
                          {sfd, POLLIN, 0},
                          {tfd, POLLIN, 0},
                          {-1, POLLIN, 0}};
  for (;;) {
    if (poll(pfd, 5, -1) < 0) {
      if (errno == EINTR) continue;
      kill(child, SIGKILL);
      break;
    }
    if (pfd[4].revents & POLLIN) {
      if (seccomp_handle(pfd[4].fd, cfg.seccomp_notify, &seen) && !seccomp_killed) {
        seccomp_killed = true;
        kill(child, SIGKILL);
      }
    }
    if (pfd[4].revents & (POLLHUP | POLLERR)) pfd[4].fd = -1;
    if (pfd[1].revents & POLLIN) {
      struct report r;
      int passed = -1;
      /* Drain: several reports (started, exit) can be queued behind one wake-up. */
      while (recv_report(report_pipe[0], &r, &passed) == (ssize_t)sizeof r) {
        if (r.kind == REPORT_LISTENER) {
          /* Fail closed: a filter whose refusals nobody answers must not run. */
          if (pfd[4].fd >= 0 || (pfd[4].fd = take_listener(report_pipe[0], passed, r.value)) < 0) {
            fail(&child_err, STEP_SECCOMP_LISTENER, -1);
            status_error(status_fd, &child_err);
            kill(child, SIGKILL);
          }
        } else {
          if (passed >= 0) close(passed);
          handle_report(&r, status_fd, &child_err, &have_exit, &wstatus);
        }
      }
    }
    if (pfd[1].revents & (POLLHUP | POLLERR)) pfd[1].fd = -1;
    if (pfd[3].revents & POLLIN) {
      /* Wall clock: SIGKILL to init takes the whole pid namespace with it. */
      x.timed_out = true;
      kill(child, SIGKILL);
      pfd[3].fd = -1;
    }
    if (pfd[2].revents & POLLIN) {
      struct signalfd_siginfo si;
      while (read(sfd, &si, sizeof si) == (ssize_t)sizeof si) {
        if (si.ssi_signo == SIG_KILL_SANDBOX) {
          x.killed = true;
          kill(child, SIGKILL);
        } else if (si.ssi_signo != SIGCHLD && si.ssi_signo != SIGPIPE) {
          kill(child, (int)si.ssi_signo);
        }
      }
    }
    if (pfd[0].revents & POLLIN) break;
  }

  struct rusage ru;
  int init_status = 0;
  while (wait4(child, &init_status, 0, &ru) < 0 && errno == EINTR) {
  }
  x.wall_us = now_us() - start;
  /* Whatever init wrote before it exited is still in the pipe. */
  struct report r;
  int passed;
  while (recv_report(report_pipe[0], &r, &passed) == (ssize_t)sizeof r) {
    if (passed >= 0) close(passed);
    handle_report(&r, status_fd, &child_err, &have_exit, &wstatus);
  }
  x.seccomp_nr = seen.first_nr;
  x.seccomp_arch = seen.first_arch;
  x.seccomp_count = seen.count;
  x.seccomp_killed = seccomp_killed;
  x.user_us = tv_us(ru.ru_utime);
  x.sys_us = tv_us(ru.ru_stime);
  x.max_rss_kb = (uint64_t)ru.ru_maxrss;
  /* init has exited, so the kernel has killed and reaped the whole pid namespace: the cgroup
   * is empty, its counters final. */
  cgroup_finish(&cg, &x.cg);

  int rc;
  if (have_exit && WIFEXITED(wstatus)) {
    x.code = WEXITSTATUS(wstatus);
    rc = x.code;
  } else if (have_exit && WIFSIGNALED(wstatus)) {
    x.signal = WTERMSIG(wstatus);
    rc = EXIT_SIGNAL_BASE + x.signal;
  } else if (child_err.step) {
    rc = exit_code_for(&child_err);
  } else {
    /* init died without a report: killed by us (timeout, request) or from outside. */
    x.signal = WIFSIGNALED(init_status) ? WTERMSIG(init_status) : SIGKILL;
    rc = EXIT_SIGNAL_BASE + x.signal;
  }
  if (seccomp_killed) {
    /* Reported like a SIGSYS death (the seed's convention: 128 + SIGSYS = 159). */
    x.signal = SIGSYS;
    x.code = -1;
    rc = EXIT_SIGNAL_BASE + SIGSYS;
  }
  if (x.timed_out) rc = EXIT_TIMEOUT;
  if (!child_err.step || have_exit) status_exit(status_fd, &x);
  return rc;
}
