/* child.c — init (pid 1 inside) builds the sandbox, forks the target, forwards signals, reaps
 * every orphan and reports the target's wait status. When init exits, the kernel kills every
 * process left in the pid namespace: no daemon outlives a run. */
#include "child.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "abi.h"
#include "budget.h"
#include "egress.h"
#include "hostpath.h"
#include "idmap.h"
#include "landlock.h"
#include "mount.h"
#include "ns.h"
#include "request.h"
#include "target.h"
#include "tty.h"
#include "util.h"

static int report_fd_g = -1;

static void send_report(struct report r) { (void)write_full(report_fd_g, &r, sizeof r); }

/* One report with an fd attached (SCM_RIGHTS). */
static int send_report_fd(struct report r, int fd) {
  return send_fds(report_fd_g, &r, sizeof r, &fd, 1) == (ssize_t)sizeof r ? 0 : -1;
}

/* REPORT_LISTENER with the target's pidfd attached. */
static int send_listener(pid_t target, int listener_fd) {
  int pidfd cleanup_fd = (int)syscall(SYS_pidfd_open, target, 0);
  if (pidfd < 0) return -1;
  return send_report_fd((struct report){.kind = REPORT_LISTENER, .value = listener_fd}, pidfd);
}

/* The egress listener, made inside the network namespace and handed to the monitor before the
 * target exists: it never holds the listener, and a connection made at its first instruction
 * already waits in the backlog. */
static int hand_over_egress(const struct config *cfg, struct sbx_err *e) {
  if (!cfg->egress_path) return 0;
  int fd cleanup_fd = egress_apply(cfg, e);
  if (fd < 0) return -1;
  if (send_report_fd((struct report){.kind = REPORT_EGRESS}, fd) < 0) return fail(e, STEP_EGRESS, cfg->egress_op);
  return 0;
}

/* The one place init turns an error (its own or the target's) into an exit: the message, the
 * report to the monitor (which writes the status record and picks the exit code), exit. */
static _Noreturn void die_with(const struct config *cfg, const struct sbx_err *e) {
  report_err(e, config_err_path(cfg, e));
  send_report(report_of_error(e));
  _exit(EXIT_SETUP);
}

/* die_with() for a failed syscall of the step: errno is captured first. */
static _Noreturn void die_step(const struct config *cfg, int step) {
  struct sbx_err e;
  fail(&e, step, -1);
  die_with(cfg, &e);
}

/* Closes every fd >= 3 except the two channels and the mounts the monitor cloned (idmap.c). */
static int close_except(const struct config *cfg, int keep1, int keep2) {
  int keep[2 + MOUNTS_MAX * 2] = {keep1, keep2};
  size_t n = 2 + idmap_fds(cfg, keep + 2, MOUNTS_MAX * 2);
  for (size_t i = 1; i < n; i++) /* insertion sort: a few dozen fds */
    for (size_t j = i; j > 0 && keep[j - 1] > keep[j]; j--) {
      int t = keep[j];
      keep[j] = keep[j - 1];
      keep[j - 1] = t;
    }
  unsigned next = 3;
  for (size_t i = 0; i < n; i++) {
    if ((unsigned)keep[i] > next && close_fds(next, (unsigned)keep[i] - 1, false) < 0) return -1;
    if ((unsigned)keep[i] + 1 > next) next = (unsigned)keep[i] + 1;
  }
  return close_fds(next, ~0U, false);
}

/* After the parent wrote the maps, switch to the mapped inside ids, keeping the capabilities
 * held in the new user namespace. A privileged caller's host root is not mapped, and files
 * (tmpfs roots, mount points) cannot be created with an unmapped owner (EOVERFLOW). */
static int become_mapped_ids(const struct config *cfg, struct sbx_err *e) {
  if (!cfg->uid_map_set || !cfg->gid_map_set) return 0;
  struct __user_cap_header_struct hdr = {_LINUX_CAPABILITY_VERSION_3, 0};
  struct __user_cap_data_struct data[2];
  if (syscall(SYS_capget, &hdr, data) < 0) return fail(e, STEP_CAPS, -1);
  if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0) return fail(e, STEP_CAPS, -1);
  if (setresgid(cfg->gid_inside, cfg->gid_inside, cfg->gid_inside) < 0) return fail(e, STEP_SETGID, -1);
  if (setresuid(cfg->uid_inside, cfg->uid_inside, cfg->uid_inside) < 0) return fail(e, STEP_SETUID, -1);
  data[0].effective = data[0].permitted;
  data[1].effective = data[1].permitted;
  if (syscall(SYS_capset, &hdr, data) < 0) return fail(e, STEP_CAPS, -1);
  if (prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) < 0) return fail(e, STEP_CAPS, -1);
  return 0;
}

/* Init takes the run's request and stdio: the FIFOs become its own (and so the target's) fds 0-2,
 * so that its messages land in the run's stderr as they do without FIFOs. */
static void receive_request(const struct config *cfg, int report_fd, struct run_request *req) {
  struct sbx_err e = SBX_ERR_NONE;
  int fds[3];
  if (request_recv(report_fd, req, fds, &e) < 0) die_with(cfg, &e);
  for (int i = 0; i < 3; i++) {
    if (dup2(fds[i], i) < 0) die_step(cfg, STEP_REQUEST);
    if (fds[i] != i) close(fds[i]);
  }
}

/* Init, once the target is started: passes on its listener, if any (a forked target), and returns
 * true when it exec'd (end of file on the exec pipe), false when it could not make its courier
 * (REPORT_NO_COURIER: it exited, and is reaped here); dies with the target's error if it reported
 * one. */
static bool await_exec(const struct config *cfg, const struct run_request *req, pid_t target, int exec_fd) {
  struct report r;
  ssize_t n;
  while ((n = read_full(exec_fd, &r, sizeof r)) == (ssize_t)sizeof r && r.kind == REPORT_LISTENER) {
    if (send_listener(target, r.value) < 0) {
      struct sbx_err e;
      fail(&e, STEP_SECCOMP_LISTENER, -1);
      kill(target, SIGKILL);
      die_with(cfg, &e);
    }
  }
  close(exec_fd);
  if (n != (ssize_t)sizeof r) return true;
  int st;
  waitpid(target, &st, 0);
  if (r.kind == REPORT_NO_COURIER) return false;
  struct sbx_err te;
  fail_errno(&te, r.step, r.op, r.err);
  /* The program by name: init's op paths may be another parse's (a warm launcher's run). */
  if (te.step == STEP_EXEC) te.path = req->exec;
  die_with(cfg, &te);
}

/* Starts the target one way (shared: in init's memory, target_spawn(); else a fork) and returns
 * its pid once it exec'd, or -1 when it could not make its courier (only a shared one says so). */
static pid_t launch_target(const struct config *cfg, const struct run_request *req, int report_fd, int slave,
                           int ruleset, bool shared) {
  int exec_pipe[2];
  if (pipe2(exec_pipe, O_CLOEXEC) < 0) die_step(cfg, STEP_PIPE);
  const struct target_args a = {.cfg = cfg,
                                .req = req,
                                .exec_fd = exec_pipe[1],
                                .exec_rd = exec_pipe[0],
                                .report_fd = report_fd,
                                .tty = slave,
                                .ruleset = ruleset};
  pid_t target = shared ? target_spawn(&a) : target_fork(&a);
  if (target < 0) die_step(cfg, STEP_FORK);
  close(exec_pipe[1]);
  return await_exec(cfg, req, target, exec_pipe[0]) ? target : -1;
}

/* Starts the target and returns once it exec'd: in init's memory, init suspended meanwhile
 * (no page tables copied, nothing to tear down at its exec), or as a fork where it could not make
 * its courier. Init then no longer needs the terminal's slave or the Landlock ruleset. */
static pid_t start_target(const struct config *cfg, const struct run_request *req, int report_fd, int slave,
                          int ruleset) {
  pid_t target = launch_target(cfg, req, report_fd, slave, ruleset, true);
  if (target < 0) target = launch_target(cfg, req, report_fd, slave, ruleset, false);
  if (slave >= 0) close(slave);
  if (ruleset >= 0) close(ruleset);
  return target;
}

/* The parent pid in /proc/<pid>/stat, or -1. */
static pid_t parent_of(pid_t pid) {
  char path[64], buf[512];
  snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
  int fd cleanup_fd = open(path, O_RDONLY | O_CLOEXEC);
  ssize_t len = fd < 0 ? -1 : read(fd, buf, sizeof buf - 1);
  if (len <= 0) return -1;
  buf[len] = '\0';
  /* "pid (comm) state ppid ...": comm may hold any byte, so look after the last ')'. */
  char *close_paren = strrchr(buf, ')');
  if (!close_paren || strlen(close_paren) < 5) return -1;
  return (pid_t)atoi(close_paren + 4);
}

/* Without a pid namespace: SIGKILL to every descendant of init (a subreaper, so every process of
 * the run is one) found in /proc. Each is signalled through a pidfd taken before its parent is
 * checked again, so a pid reused by a host process meanwhile is never signalled. A process forked
 * after the scan by one killed in it either failed its fork or is found by the next scan. */
static void kill_descendants(void) {
  DIR *proc = opendir("/proc");
  if (!proc) return;
  size_t n = 0, cap = 0;
  pid_t *pid = NULL, *ppid = NULL, top = 0;
  for (struct dirent *d; (d = readdir(proc));) {
    if (d->d_name[0] < '1' || d->d_name[0] > '9') continue;
    pid_t p = (pid_t)atoi(d->d_name), pp = parent_of(p);
    if (p <= 0 || pp < 0) continue;
    if (n == cap) {
      cap = cap ? 2 * cap : 256;
      pid_t *np = realloc(pid, cap * sizeof *pid);
      if (np) pid = np;
      pid_t *npp = np ? realloc(ppid, cap * sizeof *ppid) : NULL;
      if (!npp) break;
      ppid = npp;
    }
    pid[n] = p;
    ppid[n++] = pp;
    if (p > top) top = p;
  }
  closedir(proc);
  /* Descendants: the parent is init or a descendant. One bit per pid; a pass per tree level. */
  pid_t self = getpid();
  unsigned char *mine = calloc((size_t)top / 8 + 1, 1);
#define MINE(p) ((p) > 0 && (p) <= top && (mine[(p) / 8] >> ((p) % 8) & 1))
  for (bool more = mine != NULL; more;) {
    more = false;
    for (size_t i = 0; i < n; i++) {
      if (MINE(pid[i]) || (ppid[i] != self && !MINE(ppid[i]))) continue;
      mine[pid[i] / 8] |= (unsigned char)(1u << (pid[i] % 8));
      more = true;
    }
  }
  for (size_t i = 0; mine && i < n; i++) {
    if (!MINE(pid[i])) continue;
    int pidfd cleanup_fd = (int)syscall(SYS_pidfd_open, pid[i], 0);
    pid_t now = pidfd < 0 ? -1 : parent_of(pid[i]);
    /* Still the process found (same parent, or reparented to init when that parent died). */
    if (now >= 0 && (now == ppid[i] || now == self))
      syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, NULL, 0);
  }
#undef MINE
  free(mine);
  free(pid);
  free(ppid);
}

/* Init ends the run itself: SIGKILL to every other process of the sandbox, and every one reaped
 * here, so that their CPU time and peak RSS add up in init's rusage (which the monitor reads with
 * wait4). Were init killed instead, the kernel would reap the pid namespace unaccounted, and
 * without a pid namespace nothing would reap it at all. In a pid namespace kill(-1) reaches
 * exactly the sandbox; without one, the descendants in /proc. Returns once init has no child
 * left. The target's wait status is reported when it is reaped here (*reported: once). */
static void end_run(const struct config *cfg, pid_t target, bool *reported) {
  bool pidns = cfg->ns_flags & CLONE_NEWPID;
  for (;;) {
    if (pidns) kill(-1, SIGKILL);
    else kill_descendants();
    int st, flags = __WALL;
    pid_t p;
    /* Blocks for the first (signals are blocked: no EINTR), then takes what else is ready. */
    while ((p = waitpid(-1, &st, flags)) > 0) {
      if (p == target && !*reported) {
        send_report((struct report){.kind = REPORT_EXIT, .value = st});
        *reported = true;
      }
      flags = __WALL | WNOHANG;
    }
    if (p < 0 && errno == ECHILD) return;
  }
}

/* The run is over and every process of it reaped (end_run): init's stdio (the run's FIFOs or
 * pipes) closes, so the host's readers see end of file now, and the monitor learns the usage
 * that wait4() on init would give. It can then write the result before init's exit, whose
 * namespace teardown (unmounting the root, the network namespace) takes a millisecond or more. */
static _Noreturn void finish_reaped(void) {
  for (int fd = 0; fd <= 2; fd++) close(fd);
  struct rusage self = {0}, children = {0};
  getrusage(RUSAGE_SELF, &self);
  getrusage(RUSAGE_CHILDREN, &children);
  struct report r = {.kind = REPORT_REAPED};
  r.user_us = tv_us(self.ru_utime) + tv_us(children.ru_utime);
  r.sys_us = tv_us(self.ru_stime) + tv_us(children.ru_stime);
  r.max_rss_kb = (uint64_t)(self.ru_maxrss > children.ru_maxrss ? self.ru_maxrss : children.ru_maxrss);
  send_report(r);
  _exit(0);
}

_Noreturn void child_main(const struct config *cfg, int sync_fd, int report_fd) {
  struct sbx_err e = SBX_ERR_NONE;
  report_fd_g = report_fd;
  if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0) _exit(EXIT_SETUP);
  if (close_except(cfg, sync_fd, report_fd) < 0) _exit(EXIT_SETUP);
  char go;
  if (read_full(sync_fd, &go, 1) != 1) _exit(EXIT_SETUP);
  if (cfg->late_cgroupns && unshare(CLONE_NEWCGROUP) < 0) die_step(cfg, STEP_CGROUP);
  if (become_mapped_ids(cfg, &e) < 0) die_with(cfg, &e);
  /* Per-sandbox kernel budgets, while init holds CAP_SYS_RESOURCE in the namespace. */
  if (budget_apply(cfg, &e) < 0) die_with(cfg, &e);
  /* Die with the monitor. Changing ids cleared the parent-death signal, so set it again; the
   * monitor holds the sync pipe's write end until it exits, so a hang-up now means it died
   * before the prctl took effect. */
  if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0) die_step(cfg, STEP_SIGNALS);
  struct pollfd alive = {sync_fd, POLLIN, 0};
  if (poll(&alive, 1, 0) != 0) _exit(EXIT_SETUP);
  close(sync_fd);
  /* The target must not read init's memory or environment through /proc. */
  if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0) die_step(cfg, STEP_CAPS);

  if (cfg->newroot && mount_apply(cfg, &e) < 0) die_with(cfg, &e);
  if (ns_apply(cfg, &e) < 0) die_with(cfg, &e);
  if (hand_over_egress(cfg, &e) < 0) die_with(cfg, &e);

  /* Without a pid namespace the run's orphans must come to init, which ends and reaps them all
   * (end_run); in one, init is their reaper anyway. */
  if (!(cfg->ns_flags & CLONE_NEWPID) && prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) < 0)
    die_step(cfg, STEP_SIGNALS);
  /* The pseudo-terminal, inside the new root (its own devpts); the master goes to the monitor,
   * which relays it, the slave to the target. */
  int master = -1, slave = -1;
  if (cfg->tty && tty_open(cfg, &master, &slave, &e) < 0) die_with(cfg, &e);
  if (master >= 0 && send_report_fd((struct report){.kind = REPORT_TTY}, master) < 0) die_step(cfg, STEP_TTY);
  if (master >= 0) close(master);
  /* The Landlock ruleset, with every path rule: path walks done before the request, so that a
   * warm launcher's prepared run has it ready (the target adds its stdio and restricts itself).
   * Without a mount namespace the rules name host paths: the host-side symlink rule applies. */
  int ruleset = -1;
  if (cfg->landlock) {
    ruleset = landlock_build(cfg, cfg->ns_flags & CLONE_NEWNS ? NULL : hostpath_open_rule, &e);
    if (ruleset < 0) die_with(cfg, &e);
  }
  /* What the target would do first and depends only on the policy, done now: it inherits it. */
  struct sbx_err pe = SBX_ERR_NONE;
  if (target_policy_steps(&pe) < 0) die_with(cfg, &pe);
  /* The per-run part: from the config, or (stdio-fifos) the request the monitor sends once the
   * run's stdio is open; until then init waits here, inside the finished sandbox (a prepared
   * run, warm.c, waits here for its request). */
  struct run_request req;
  if (cfg->stdio_dir || cfg->await_request) receive_request(cfg, report_fd, &req);
  else request_from_config(cfg, &req);
  /* A prepared run may have been held while another started (warm.c): the SIGCONT that resumed
   * it must not reach the target with the signals init forwards. */
  if (cfg->await_request) drop_signal(SIGCONT);
  pid_t target = start_target(cfg, &req, report_fd, slave, ruleset);
  send_report((struct report){.kind = REPORT_STARTED});

  /* Signals were blocked by the monitor before clone, so none is lost before this point.
   * SIG_KILL_SANDBOX is the monitor asking init to end the run (timeout, seccomp kill, a kill
   * request): init kills and reaps the whole sandbox itself so that the run's usage is complete. */
  sigset_t set;
  sigemptyset(&set);
  sigaddset_forwarded(&set);
  sigaddset(&set, SIGCHLD);
  sigaddset(&set, SIG_KILL_SANDBOX);
  int sfd = signalfd(-1, &set, SFD_CLOEXEC);
  bool reported = false;
  int st = 0;
  for (;;) {
    struct signalfd_siginfo si;
    pid_t p;
    if (sfd < 0 || read_full(sfd, &si, sizeof si) != (ssize_t)sizeof si) {
      /* No signalfd: fall back to blocking waits (no forwarding; the monitor kills init). */
      p = waitpid(-1, &st, __WALL);
      if (p == target) break;
      continue;
    }
    if (si.ssi_signo == SIG_KILL_SANDBOX) {
      end_run(cfg, target, &reported);
      finish_reaped();
    }
    if (si.ssi_signo != SIGCHLD) {
      kill(target, (int)si.ssi_signo);
      continue;
    }
    while ((p = waitpid(-1, &st, WNOHANG | __WALL)) > 0 && p != target) {
    }
    if (p == target) break;
  }
  /* The target is gone: report it, then end whatever it left running (daemons, background jobs),
   * whose usage belongs to the run too. */
  send_report((struct report){.kind = REPORT_EXIT, .value = st});
  reported = true;
  end_run(cfg, target, &reported);
  finish_reaped();
}
