/* target.c — the target (see target.h): init's child that takes the run's last steps and execs
 * the program. */
#include "target.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "abi.h"
#include "child.h"
#include "landlock.h"
#include "seccomp.h"
#include "tty.h"
#include "util.h"

/* The bounding set, emptied: it only bounds what an exec may gain, so init drops its own before
 * the request (target_policy_steps()). Dropping needs CAP_SETPCAP. A caller without it (no user
 * namespace, not root) holds no capabilities, and no_new_privs keeps it from gaining any, so there
 * is nothing to drop. */
static int drop_bounding_set(struct sbx_err *e) {
  struct __user_cap_header_struct hdr = {_LINUX_CAPABILITY_VERSION_3, 0};
  struct __user_cap_data_struct data[2];
  if (syscall(SYS_capget, &hdr, data) < 0) return fail(e, STEP_CAPS, -1);
  if (data[0].effective & (1u << CAP_SETPCAP))
    for (int cap = 0; cap <= 63; cap++)
      if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0) {
        if (errno != EINVAL) return fail(e, STEP_CAPS, -1);
        break; /* past the kernel's last capability: they are numbered without gaps */
      }
  return 0;
}

int target_policy_steps(struct sbx_err *e) {
  /* An ignored signal (the caller's) would stay ignored in the program; handlers end at exec.
   * The kernel's call: libc refuses the two real-time signals it reserves (32 and 33). All zero
   * is SIG_DFL, no flags and an empty mask in the kernel's struct on every architecture. */
  static const unsigned long dfl[4];
  uint64_t ignored = ignored_signals();
  for (int sig = 1; sig < NSIG && sig <= 64; sig++)
    if ((ignored >> (sig - 1) & 1) && sig != SIGKILL && sig != SIGSTOP &&
        syscall(SYS_rt_sigaction, sig, dfl, NULL, sizeof(uint64_t)) < 0)
      return fail(e, STEP_SIGNALS, -1);
  return drop_bounding_set(e);
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

/* The courier's system calls, raw: it runs in init's memory while init runs (target_spawn()),
 * and libc's wrappers would write init's errno (one TLS block for both) whenever a call fails. */
#if defined(__x86_64__)
static long raw_call(long nr, long a, long b, long c, long d) {
  register long r10 __asm__("r10") = d;
  long ret;
  __asm__ volatile("syscall" : "=a"(ret) : "a"(nr), "D"(a), "S"(b), "d"(c), "r"(r10) : "rcx", "r11", "memory");
  return ret;
}
#define TARGET_SHARES_INIT_MEMORY 1
#elif defined(__aarch64__)
static long raw_call(long nr, long a, long b, long c, long d) {
  register long x8 __asm__("x8") = nr;
  register long x0 __asm__("x0") = a;
  register long x1 __asm__("x1") = b;
  register long x2 __asm__("x2") = c;
  register long x3 __asm__("x3") = d;
  __asm__ volatile("svc 0" : "+r"(x0) : "r"(x8), "r"(x1), "r"(x2), "r"(x3) : "memory");
  return x0;
}
#define TARGET_SHARES_INIT_MEMORY 1
#endif

/* What the courier needs, copied: it reads nothing of the target's stack. */
struct courier_args {
  int report_fd, pipe_rd, pidfd;
};

#ifdef TARGET_SHARES_INIT_MEMORY
static _Noreturn void courier_exit(int code) {
  for (;;) raw_call(SYS_exit_group, code, 0, 0, 0);
}

/* The courier's body, on its own stack: poll, read, sendmsg and exit, each a raw call. It writes
 * nothing but its own stack (its args are a static copy), so it may run beside init in init's
 * memory. */
static int courier_main(void *arg) {
  const struct courier_args *a = arg;
  /* Without a pid namespace nothing else would end a courier whose init died. */
  if (raw_call(SYS_prctl, PR_SET_PDEATHSIG, SIGKILL, 0, 0) < 0) courier_exit(1);
  struct pollfd p[2] = {{a->pipe_rd, POLLIN, 0}, {a->pidfd, POLLIN, 0}};
  long n;
  while ((n = raw_call(SYS_ppoll, (long)p, 2, 0, 0)) == -EINTR) {
  }
  if (n < 0 || p[1].revents) courier_exit(n < 0);
  int fd;
  do n = raw_call(SYS_read, a->pipe_rd, (long)&fd, sizeof fd, 0);
  while (n == -EINTR);
  if (n != (long)sizeof fd) courier_exit(0);
  struct report r = {.kind = REPORT_LISTENER_FD};
  struct iovec iov = {&r, sizeof r};
  union {
    char buf[CMSG_SPACE(sizeof(int))];
    struct cmsghdr align;
  } u;
  memset(&u, 0, sizeof u);
  struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof u.buf};
  struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(sizeof(int));
  memcpy(CMSG_DATA(c), &fd, sizeof fd);
  do n = raw_call(SYS_sendmsg, a->report_fd, (long)&msg, MSG_NOSIGNAL, 0);
  while (n == -EINTR);
  courier_exit(n == (long)sizeof r ? 0 : 1);
}
#else
/* Elsewhere the target is always a fork (target_spawn() says so): the courier then shares the
 * target's own copy of init's memory, which its libc calls may write. */
static int courier_main(void *arg) {
  const struct courier_args *a = arg;
  if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0) _exit(1);
  struct pollfd p[2] = {{a->pipe_rd, POLLIN, 0}, {a->pidfd, POLLIN, 0}};
  int fd;
  while (poll(p, 2, -1) < 0)
    if (errno != EINTR) _exit(1);
  if (p[1].revents || read_full(a->pipe_rd, &fd, sizeof fd) != (ssize_t)sizeof fd) _exit(0);
  struct report r = {.kind = REPORT_LISTENER_FD};
  _exit(send_fds(a->report_fd, &r, sizeof r, &fd, 1) == (ssize_t)sizeof r ? 0 : 1);
}
#endif

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
 * page tables only for the courier to throw them away (a fork and exit cost about 0.8 ms of CPU
 * here, on the run's path). That memory is init's (target_spawn()), or the target's copy of it
 * (target_fork()), until the target's execve gives the program a new one; the courier keeps the
 * old one, beside init, and sees nothing of the program's. */
static int courier_start(int report_fd, int c[3]) {
  static char stack[64 * 1024] __attribute__((aligned(16)));
  static struct courier_args args;
  c[2] = (int)syscall(SYS_pidfd_open, getpid(), 0);
  if (c[2] < 0 || pipe2(c, O_CLOEXEC) < 0) goto none;
  args = (struct courier_args){report_fd, c[0], c[2]};
  if (clone(courier_main, stack + sizeof stack, CLONE_VM | CLONE_FILES | CLONE_PARENT | SIGCHLD, &args) > 0)
    return 0;
none:
  close_three(c);
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
  struct report r = report_of_error(e);
  (void)write_full(exec_fd, &r, sizeof r);
  _exit(exit_code_for(e));
}

/* The target: last steps in the order that matters, then exec. Errors go to exec_fd. */
static _Noreturn void target_main(const struct target_args *a, bool shared) {
  const struct config *cfg = a->cfg;
  const struct run_request *req = a->req;
  int exec_fd = a->exec_fd, report_fd = a->report_fd, tty = a->tty, ruleset = a->ruleset;
  struct sbx_err e = SBX_ERR_NONE;
  int courier[3] = {-1, -1, -1};
  sigset_t none;
  sigemptyset(&none);
  /* The mask is inherited across exec: give the program an empty one (the dispositions are the
   * defaults: init's, target_policy_steps()). */
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
    /* Changing ids set the memory's dumpable flag to fs.suid_dumpable, which a host may have at
     * 1: in init's memory (shared) it stays 0, so that nothing of the run's uid can reach it
     * through the courier (ptrace, /proc/PID/mem). */
    if (!e.step && shared && prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0) fail(&e, STEP_CAPS, -1);
    if (!e.step && cfg->seccomp_notify && courier_start(report_fd, courier) < 0 && shared) {
      /* No process for the courier (the pids limit): init starts a fork instead, which can hand
       * the listener over without one. */
      struct report r = {.kind = REPORT_NO_COURIER};
      (void)write_full(exec_fd, &r, sizeof r);
      _exit(EXIT_SETUP);
    }
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
  close_three(courier);
  /* The open-files limit last: Landlock and the seccomp listener need descriptors of their own.
   * prlimit64 is allowed by every profile. */
  if (!e.step) apply_rlimits(cfg, true, &e);
  if (!e.step) {
    exec_program(req);
    fail(&e, STEP_EXEC, req->exec_op);
  }
  target_failed(exec_fd, &e);
}

/* The target's start in either way: the fds that are init's alone are closed in its copy. */
static _Noreturn void target_start(const struct target_args *a, bool shared) {
  close(a->exec_rd);
  if (!a->cfg->seccomp_notify) close(a->report_fd);
  target_main(a, shared);
}

#ifdef TARGET_SHARES_INIT_MEMORY
static int spawned(void *arg) { target_start(arg, true); }

pid_t target_spawn(const struct target_args *a) {
  /* Its stack, in init's memory: only the pages it touches cost anything. */
  static char stack[256 * 1024] __attribute__((aligned(16)));
  return clone(spawned, stack + sizeof stack, CLONE_VM | CLONE_VFORK | SIGCHLD, (void *)a);
}
#else
pid_t target_spawn(const struct target_args *a) { return target_fork(a); }
#endif

pid_t target_fork(const struct target_args *a) {
  pid_t pid = fork();
  if (pid == 0) target_start(a, false);
  return pid;
}
