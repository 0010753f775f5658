/* child.c — init (pid 1 inside) builds the sandbox, forks the target, forwards signals, reaps
 * every orphan and reports the target's wait status. When init exits, the kernel kills every
 * process left in the pid namespace: no daemon outlives a run. */
#include "child.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
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
#include "seccomp.h"
#include "tty.h"
#include "util.h"

static int report_fd_g = -1;

static void send_report(struct report r) { (void)write_full(report_fd_g, &r, sizeof r); }

static struct report error_report(const struct sbx_err *e) {
  return (struct report){.kind = REPORT_ERROR, .step = e->step, .err = e->err, .op = e->op};
}

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
  send_report(error_report(e));
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

/* The bounding set, emptied: it only bounds what an exec may gain, so it goes first, before the
 * request (target_prepare()). Dropping needs CAP_SETPCAP, which drop_privileges() removes. A
 * caller without it (no user namespace, not root) holds no capabilities, and no_new_privs keeps
 * it from gaining any, so there is nothing to drop. */
static int drop_bounding_set(struct sbx_err *e) {
  struct __user_cap_header_struct hdr = {_LINUX_CAPABILITY_VERSION_3, 0};
  struct __user_cap_data_struct data[2];
  if (syscall(SYS_capget, &hdr, data) < 0) return fail(e, STEP_CAPS, -1);
  if (data[0].effective & (1u << CAP_SETPCAP))
    for (int cap = 0; cap <= 63; cap++)
      if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 && errno != EINVAL) return fail(e, STEP_CAPS, -1);
  return 0;
}

static int drop_privileges(const struct config *cfg, struct sbx_err *e) {
  struct __user_cap_header_struct hdr = {_LINUX_CAPABILITY_VERSION_3, 0};
  struct __user_cap_data_struct data[2];
  if (syscall(SYS_capget, &hdr, data) < 0) return fail(e, STEP_CAPS, -1);
  if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
    return fail(e, STEP_CAPS, -1);
  /* Supplementary groups: in a user namespace setgroups is denied (and there are none);
   * outside one, a root caller must shed its groups. */
  if (!(cfg->ns_flags & CLONE_NEWUSER) && (data[0].effective & (1u << CAP_SETGID)) &&
      setgroups(0, NULL) < 0)
    return fail(e, STEP_SETGID, -1);
  if (cfg->run_gid_set && setresgid(cfg->run_gid, cfg->run_gid, cfg->run_gid) < 0)
    return fail(e, STEP_SETGID, -1);
  if (cfg->run_uid_set && setresuid(cfg->run_uid, cfg->run_uid, cfg->run_uid) < 0)
    return fail(e, STEP_SETUID, -1);
  memset(data, 0, sizeof data);
  if (syscall(SYS_capset, &hdr, data) < 0) return fail(e, STEP_CAPS, -1);
  return 0;
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

static const char *env_get(char **envp, const char *key) {
  size_t n = strlen(key);
  for (char **p = envp; *p; p++)
    if (strncmp(*p, key, n) == 0 && (*p)[n] == '=') return *p + n + 1;
  return NULL;
}

/* execvpe without the heap: PATH from the sandbox's own environment, resolved inside the new
 * root. Returns with errno set: EACCES if some candidate was not executable, else the error. */
static void exec_program(const struct run_request *req) {
  if (strchr(req->exec, '/')) {
    execve(req->exec, req->argv, req->envp);
    return;
  }
  const char *path = env_get(req->envp, "PATH");
  if (!path) path = "/usr/local/bin:/usr/bin:/bin";
  static char buf[8192];
  bool eacces = false;
  for (const char *s = path;; s++) {
    const char *end = strchrnul(s, ':');
    if (end > s && (size_t)(end - s) + strlen(req->exec) + 2 <= sizeof buf) {
      snprintf(buf, sizeof buf, "%.*s/%s", (int)(end - s), s, req->exec);
      execve(buf, req->argv, req->envp);
      if (errno == EACCES) eacces = true;
      else if (errno != ENOENT && errno != ENOTDIR) return;
    }
    if (!*end) break;
    s = end;
  }
  errno = eacces ? EACCES : ENOENT;
}

/* Sets the rlimits: all but RLIMIT_NOFILE (nofile = false), or only it (nofile = true). */
static void apply_rlimits(const struct config *cfg, bool nofile, struct sbx_err *e) {
  for (size_t i = 0; i < cfg->n_rlimits && !e->step; i++) {
    const struct rlimit_op *r = &cfg->rlimits[i];
    if ((r->resource == RLIMIT_NOFILE) != nofile) continue;
    struct rlimit rl = {r->soft == UINT64_MAX ? RLIM_INFINITY : r->soft,
                        r->hard == UINT64_MAX ? RLIM_INFINITY : r->hard};
    if (setrlimit(r->resource, &rl) < 0) fail(e, STEP_RLIMIT, -1);
  }
}

/* What the courier needs, copied: it reads nothing of the target's stack. */
struct courier_args {
  int report_fd, pipe_rd, pidfd;
};

/* The courier's body, on its own stack in the target's memory: only poll, read, sendmsg and exit.
 * Its errno is the target's too (one thread's TLS): the target is blocked on the courier or done
 * with its calls whenever the courier makes its own, and neither reads errno the other set. */
static int courier_main(void *arg) {
  const struct courier_args *a = arg;
  /* Without a pid namespace nothing else would end a courier whose init died. */
  if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0) _exit(1);
  struct pollfd p[2] = {{a->pipe_rd, POLLIN, 0}, {a->pidfd, POLLIN, 0}};
  int fd;
  while (poll(p, 2, -1) < 0)
    if (errno != EINTR) _exit(1);
  if (p[1].revents || read_full(a->pipe_rd, &fd, sizeof fd) != (ssize_t)sizeof fd) _exit(0);
  struct report r = {.kind = REPORT_LISTENER_FD};
  _exit(send_fds(a->report_fd, &r, sizeof r, &fd, 1) == (ssize_t)sizeof r ? 0 : 1);
}

/* The seccomp listener's courier: a process made before the filter exists (so unfiltered) that
 * shares the target's fd table (CLONE_FILES). Once the filter made the listener, the target
 * writes its number to the courier's pipe and the courier sends the listener itself to the
 * monitor (SCM_RIGHTS), then exits: the filter never has to allow sendmsg, and the monitor
 * needs no pidfd_getfd, which container profiles refuse (Docker's, without CAP_SYS_PTRACE).
 * Its parent is init (CLONE_PARENT), which reaps it: it is never the program's child. The table
 * is shared, so a close on either side closes for both: the target closes the pipe (both ends)
 * only once the monitor acked, or to end a courier still waiting (end of file). The courier also
 * watches the target's pidfd: should the target die first (killed by its own filter at its next
 * call, or by a signal), the courier ends too, for while it lives the shared table holds the
 * exec pipe's write end open and init would wait for the exec forever. Fills c[] (pipe read and
 * write ends, the target's pidfd) and returns 0, or -1 where no process can be made (the pids
 * limit): then the pidfd_getfd hand-over.
 *
 * It shares the target's memory too (CLONE_VM), on a stack of its own: a fork would copy the
 * target's page tables only for the courier to throw them away (a fork and exit cost about
 * 0.8 ms of CPU here, on the run's path). That memory is the launcher's until the target's
 * execve gives the program a new one; the courier keeps the old one and sees nothing of the
 * program's. */
static int courier_start(int report_fd, int c[3]) {
  static char stack[64 * 1024] __attribute__((aligned(16)));
  static struct courier_args args;
  c[2] = (int)syscall(SYS_pidfd_open, getpid(), 0);
  if (c[2] < 0 || pipe2(c, O_CLOEXEC) < 0) goto none;
  args = (struct courier_args){report_fd, c[0], c[2]};
  if (clone(courier_main, stack + sizeof stack, CLONE_VM | CLONE_FILES | CLONE_PARENT | SIGCHLD, &args) > 0)
    return 0;
none:
  for (int i = 0; i < 3; i++)
    if (c[i] >= 0) close(c[i]);
  c[0] = c[1] = c[2] = -1;
  return -1;
}

/* With a listener: hand it to the monitor (through the courier, else by its fd number through
 * init, which passes our pidfd to the monitor for pidfd_getfd), wait for the monitor's ack, then
 * drop our copy. Only write, read and close run here, under the filter. */
static int hand_over_listener(int listener, int courier, int exec_fd, int report_fd, struct sbx_err *e) {
  struct report msg = {.kind = REPORT_LISTENER, .value = listener};
  char ack;
  if (courier >= 0 ? write_full(courier, &listener, sizeof listener) < 0 : write_full(exec_fd, &msg, sizeof msg) < 0)
    return fail(e, STEP_SECCOMP_LISTENER, -1);
  if (read(report_fd, &ack, 1) != 1) return fail_errno(e, STEP_SECCOMP_LISTENER, -1, EPIPE);
  close(listener);
  close(report_fd);
  return 0;
}

/* The target's failure, for init to report (await_exec). */
static _Noreturn void target_failed(int exec_fd, const struct sbx_err *e) {
  struct report r = error_report(e);
  (void)write_full(exec_fd, &r, sizeof r);
  _exit(exit_code_for(e));
}

/* The target: last steps in the order that matters, then exec. Errors go to exec_fd. */
static _Noreturn void target_main(const struct config *cfg, const struct run_request *req, int exec_fd,
                                  int report_fd, int tty, int ruleset) {
  struct sbx_err e = SBX_ERR_NONE;
  int courier[3] = {-1, -1, -1};
  sigset_t none;
  sigemptyset(&none);
  /* The mask is inherited across exec: give the program an empty one (the dispositions are the
   * defaults since target_prepare()). */
  if (sigprocmask(SIG_SETMASK, &none, NULL) < 0) fail(&e, STEP_SIGNALS, -1);
  /* A new session: no controlling terminal, so TIOCSTI has no terminal to inject into. */
  else if (setsid() < 0) fail(&e, STEP_SETSID, -1);
  /* With a tty: the sandbox's own pseudo-terminal becomes the controlling one, and stdio (a
   * session leader without a terminal may take one). Its TIOCSTI and TIOCLINUX stay refused by
   * the seccomp filter. tty_apply fills e itself. */
  else if (tty < 0 || tty_apply(tty, &e) == 0) {
    if (chdir(req->cwd ? req->cwd : "/") < 0) fail(&e, STEP_CHDIR, -1);
    else apply_rlimits(cfg, false, &e);
  }
  if (!e.step) {
    /* Every fd but 0-2 and the exec pipe is closed at exec (Deno leaks fds into children). */
    if (close_fds(3, ~0U, true) < 0) fail(&e, STEP_CLOSE_FDS, -1);
    else if (drop_privileges(cfg, &e) == 0 && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
      fail(&e, STEP_NO_NEW_PRIVS, -1);
    if (!e.step && cfg->seccomp_notify) courier_start(report_fd, courier);
    /* Without a courier: changing ids made us non-dumpable, and the monitor's pidfd_getfd()
     * needs ptrace access. exec resets this flag anyway. */
    if (!e.step && cfg->seccomp_notify && courier[1] < 0 && prctl(PR_SET_DUMPABLE, 1, 0, 0, 0) < 0)
      fail(&e, STEP_SECCOMP_LISTENER, -1);
  }
  /* Landlock after no_new_privs (it needs it), and before seccomp (whose filter then need not
   * allow the landlock syscalls). The ruleset is init's, built before the request. */
  if (!e.step) landlock_restrict(ruleset, cfg, req->stdio_from, &e);
  /* seccomp last: the filter then only has to allow execve, not our setup. */
  int listener = e.step ? -1 : seccomp_apply(cfg, &e);
  if (listener > 0) hand_over_listener(listener, courier[1], exec_fd, report_fd, &e);
  /* The courier's pipe and our pidfd, past the ack (or to end a courier still waiting: end of
   * file). */
  for (int i = 0; i < 3; i++)
    if (courier[i] >= 0) close(courier[i]);
  /* The open-files limit last: Landlock and the seccomp listener need descriptors of their own.
   * prlimit64 is allowed by every profile. */
  if (!e.step) apply_rlimits(cfg, true, &e);
  if (!e.step) {
    exec_program(req);
    fail(&e, STEP_EXEC, req->exec_op);
  }
  target_failed(exec_fd, &e);
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

/* The target's first steps, the same for every run of the policy: done at the fork, so a prepared
 * run has them behind it when its request comes (about 0.4 ms here: 127 calls). Dispositions are
 * inherited across exec: the program gets the defaults. Signals stay blocked (init's mask) until
 * target_main(). */
static void target_prepare(int exec_fd) {
  struct sbx_err e = SBX_ERR_NONE;
  for (int sig = 1; sig < NSIG; sig++)
    if (sig != SIGKILL && sig != SIGSTOP) signal(sig, SIG_DFL);
  if (drop_bounding_set(&e) < 0) target_failed(exec_fd, &e);
}

/* Forks the target; init keeps the exec pipe's read end, and no longer needs the terminal's
 * slave or the Landlock ruleset. With early[] (a prepared run), the target takes its request
 * and stdio from init through early[1] first (init sends them once it has them). */
static pid_t fork_target(const struct config *cfg, struct run_request *req, const int exec_pipe[2], int report_fd,
                         int slave, int ruleset, const int early[2]) {
  pid_t target = fork();
  if (target < 0) die_step(cfg, STEP_FORK);
  if (target == 0) {
    close(exec_pipe[0]);
    if (!cfg->seccomp_notify) close(report_fd);
    target_prepare(exec_pipe[1]);
    if (early[0] >= 0) {
      struct sbx_err e = SBX_ERR_NONE;
      int fds[3];
      close(early[0]);
      if (request_recv(early[1], req, fds, &e) < 0) target_failed(exec_pipe[1], &e);
      close(early[1]);
      for (int i = 0; i < 3; i++) {
        if (dup2(fds[i], i) < 0) {
          fail(&e, STEP_REQUEST, -1);
          target_failed(exec_pipe[1], &e);
        }
        if (fds[i] != i) close(fds[i]);
      }
      /* As init's (a held prepare was continued). */
      drop_signal(SIGCONT);
    }
    target_main(cfg, req, exec_pipe[1], report_fd, slave, ruleset);
  }
  close(exec_pipe[1]);
  if (early[1] >= 0) close(early[1]);
  if (slave >= 0) close(slave);
  if (ruleset >= 0) close(ruleset);
  return target;
}

/* A prepared run's init, its target forked: returns once the request is there; exits if the
 * target ended first. */
static void await_request_or_end(const struct config *cfg, int report_fd, pid_t target) {
  int pidfd cleanup_fd = (int)syscall(SYS_pidfd_open, target, 0);
  if (pidfd < 0) die_step(cfg, STEP_FORK);
  struct pollfd p[2] = {{report_fd, POLLIN, 0}, {pidfd, POLLIN, 0}};
  while (poll(p, 2, -1) < 0)
    if (errno != EINTR) die_step(cfg, STEP_REQUEST);
  if (p[0].revents & POLLIN) return;
  if (p[1].revents) die_step(cfg, STEP_FORK);
}

/* Init, after the fork: passes on the target's listener, if any, and returns when the target
 * exec'd (end of file on the exec pipe); dies with the target's error if it reported one. */
static void await_exec(const struct config *cfg, const struct run_request *req, pid_t target, int exec_fd) {
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
  if (n != (ssize_t)sizeof r) return;
  int st;
  waitpid(target, &st, 0);
  struct sbx_err te;
  fail_errno(&te, r.step, r.op, r.err);
  /* The program by name: init's op paths may be another parse's (a warm launcher's run). */
  if (te.step == STEP_EXEC) te.path = req->exec;
  die_with(cfg, &te);
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
  int exec_pipe[2];
  if (pipe2(exec_pipe, O_CLOEXEC) < 0) die_step(cfg, STEP_PIPE);
  /* A prepared run (warm.c) forks the target now, before its request, which init passes on to
   * it (early[0]): the fork, and the page faults that follow it, are then off the run's path. */
  int early[2] = {-1, -1};
  if (cfg->await_request && socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, early) < 0)
    die_step(cfg, STEP_PIPE);
  struct run_request req;
  pid_t target = early[0] >= 0 ? fork_target(cfg, &req, exec_pipe, report_fd, slave, ruleset, early) : -1;
  /* A target killed while it waits (from outside: nothing runs in the sandbox yet) ends the
   * prepared run, which the warm launcher replaces, instead of failing the run it would get. */
  if (early[0] >= 0) await_request_or_end(cfg, report_fd, target);
  /* The per-run part: from the config, or (stdio-fifos) the request the monitor sends once the
   * run's stdio is open; until then init waits here, inside the finished sandbox. */
  if (cfg->stdio_dir || cfg->await_request) receive_request(cfg, report_fd, &req);
  else request_from_config(cfg, &req);
  /* A prepared run may have been held while another started (warm.c): the SIGCONT that resumed
   * it must not reach the target with the signals init forwards. */
  if (cfg->await_request) drop_signal(SIGCONT);
  if (early[0] >= 0) {
    struct sbx_err fe = SBX_ERR_NONE;
    const int stdio[3] = {0, 1, 2};
    if (request_send(early[0], &req, stdio, &fe) < 0) {
      kill(target, SIGKILL);
      die_with(cfg, &fe);
    }
    close(early[0]);
  } else {
    target = fork_target(cfg, &req, exec_pipe, report_fd, slave, ruleset, early);
  }
  await_exec(cfg, &req, target, exec_pipe[0]);
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
