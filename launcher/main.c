/* main.c — sandbox-launcher: the monitor's setup. Reads one config (framed on stdin, or as argv),
 * clones init into new namespaces, maps ids, releases it, then hands over to monitor.c, which
 * enforces the wall clock, forwards signals, reaps, and writes the exit record. The whole order
 * is readable in main(). */
#include <errno.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "abi.h"
#include "cgroup.h"
#include "child.h"
#include "config.h"
#include "features.h"
#include "probe.h"
#include "hostpath.h"
#include "idmap.h"
#include "ids.h"
#include "monitor.h"
#include "ns.h"
#include "prepared.h"
#include "proctitle.h"
#include "request.h"
#include "session_agent.h"
#include "setup.h"
#include "warm.h"
#include "status.h"
#include "tty.h"
#include "util.h"

static struct config cfg;

struct config *setup_config(void) { return &cfg; }
/* The run's host identity (ids.c): its locks are held until the monitor exits. */
static struct host_ids ids = HOST_IDS_NONE;
/* With the tty op: the pseudo-terminal's relay (tty.c). */
static struct tty_relay tty;

/* The one place the monitor turns an error into an exit: init (if any) is killed before it ran a
 * single step of its own, the cgroup removed, the failure printed and recorded. Nothing
 * half-built keeps running. */
int setup_failed(struct monitor *m, const struct sbx_err *e) {
  if (m->init > 0) {
    kill(m->init, SIGKILL);
    waitpid(m->init, NULL, 0);
  }
  cgroup_remove(&m->cg);
  if (m->tty) tty_finish(m->tty);
  report_err(e, config_err_path(&cfg, e));
  status_error(m->status_fd, e);
  return EXIT_SETUP;
}

/* Deno leaks some of its own fds into children: close everything but stdio. */
static int close_inherited_fds(struct sbx_err *e) {
  return close_fds(3, ~0U, false) < 0 ? fail(e, STEP_CLOSE_FDS, -1) : 0;
}

static int read_config(int argc, char **argv, struct sbx_err *e) {
  char **tokens = argv + 1;
  size_t count = (size_t)argc - 1;
  if (argc == 1 && frame_read(0, &tokens, &count, e) < 0) return -1;
  return config_parse(tokens, count, &cfg, e);
}

static int open_status(struct monitor *m, struct sbx_err *e) {
  m->status_fd = status_open(cfg.status_path);
  return m->status_fd < 0 ? fail_path(e, STEP_STATUS, cfg.status_path) : 0;
}

/* Signals arrive through a signalfd, the wall clock through a timerfd; init talks back on a
 * socket and waits on a pipe. Signals are blocked before clone, so none is lost to init. */
static void monitor_signals(sigset_t *sigs) {
  sigemptyset(sigs);
  sigaddset_forwarded(sigs);
  sigaddset(sigs, SIGCHLD);
  sigaddset(sigs, SIG_KILL_SANDBOX);
  sigaddset(sigs, SIGPIPE);
}

static int open_channels(struct monitor *m, struct sbx_err *e) {
  sigset_t sigs;
  monitor_signals(&sigs);
  if (sigprocmask(SIG_BLOCK, &sigs, NULL) < 0) return fail(e, STEP_SIGNALS, -1);
  int sync_pipe[2], sock[2];
  if (pipe2(sync_pipe, O_CLOEXEC) < 0 ||
      socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sock) < 0)
    return fail(e, STEP_PIPE, -1);
  m->sync_fd = sync_pipe[1];
  m->report_fd = sock[0];
  m->init_sync_fd = sync_pipe[0];
  m->init_report_fd = sock[1];
  m->signal_fd = signalfd(-1, &sigs, SFD_CLOEXEC | SFD_NONBLOCK);
  m->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC);
  if (m->signal_fd < 0 || m->timer_fd < 0) return fail(e, STEP_SIGNALS, -1);
  return 0;
}

/* Before anything exists for the sandbox: no caller groups, and for a root caller a host uid/gid
 * pair of the run's own, recorded at once (overlay dirs made next are handed to it). */
static int take_host_ids(struct monitor *m, struct sbx_err *e) {
  if (ids_prepare(&cfg, &ids, e) < 0) return -1;
  if (ids.allocated) status_host_ids(m->status_fd, cfg.uid_outside, cfg.gid_outside);
  return 0;
}

/* The terminal's control FIFO, before anything of the sandbox exists (tty.c). */
static int prepare_tty(struct monitor *m, struct sbx_err *e) {
  if (!cfg.tty) return 0;
  m->tty = &tty;
  return tty_prepare(&cfg, &tty, e);
}

/* Host paths are resolved, and overlay dirs made, with the host's real owners in view and before
 * any process of the sandbox exists (hostpath.c). A failure also records the host path and the
 * refused link, if any. */
static int prepare_host_paths(struct monitor *m, struct sbx_err *e) {
  if (hostpath_prepare(&cfg, e) == 0) return 0;
  status_host_path(m->status_fd, e->path, hostpath_refused_link());
  return -1;
}

/* Bind sources and overlay layers cloned, and id-mapped where asked, as the caller (idmap.c).
 * A failure also records the host path. */
static int prepare_trees(struct monitor *m, struct sbx_err *e) {
  if (idmap_prepare(&cfg, m->status_fd, e) == 0) return 0;
  status_host_path(m->status_fd, e->path, NULL);
  return -1;
}

/* Kept overlay dirs (made, or left by an earlier run) become this run's (ids.c). A failure also
 * records the dir. */
static int own_kept_dirs(struct monitor *m, struct sbx_err *e) {
  if (ids_own_kept_dirs(&cfg, &ids, e) == 0) return 0;
  status_host_path(m->status_fd, e->path, NULL);
  return -1;
}

/* clone3, or — where a seccomp profile answers clone3 with ENOSYS so that libc falls back to
 * clone (Docker's default profile, older runtimes) — clone with the same flags. Only without
 * CLONE_INTO_CGROUP, which clone cannot do: a run never starts outside its cgroup. */
static long clone3_or_clone(struct clone_args *args) {
  long pid = syscall(SYS_clone3, args, sizeof *args);
  if (pid >= 0 || errno != ENOSYS || (args->flags & CLONE_INTO_CGROUP)) return pid;
  /* clone's argument order differs by arch, but the last two (child tid, tls) are both 0 here;
   * CLONE_PIDFD stores the pidfd through the parent-tid argument. */
  return syscall(SYS_clone, (unsigned long)(args->flags | args->exit_signal), NULL,
                 (void *)(uintptr_t)args->pidfd, NULL, 0UL);
}

/* clone3 into the new namespaces (and, on v2, straight into the cgroup: no window before the
 * limits apply). The child runs init, which waits for release on the sync pipe. With a host id
 * pair of its own, the run's uid is the monitor's effective uid while clone runs, so it owns the
 * new user namespace and its per-user budgets are charged to it (ids.c). */
static int clone_init(struct monitor *m, struct sbx_err *e) {
  /* v1 places init after clone: init creates its cgroup namespace itself once inside (else the
   * sandbox would see the path of the launcher's cgroup). */
  cfg.late_cgroupns = cgroup_joins_after_clone(&m->cg) && (cfg.ns_flags & CLONE_NEWCGROUP);
  struct clone_args args;
  memset(&args, 0, sizeof args);
  args.flags = (cfg.ns_flags & ~(cfg.late_cgroupns ? (unsigned long)CLONE_NEWCGROUP : 0)) | CLONE_PIDFD;
  args.pidfd = (uint64_t)(uintptr_t)&m->pidfd;
  args.exit_signal = SIGCHLD;
  int cgroup_fd = cgroup_clone_fd(&m->cg);
  if (cgroup_fd >= 0) {
    args.flags |= CLONE_INTO_CGROUP;
    args.cgroup = (uint64_t)cgroup_fd;
  }
  m->start_us = now_us();
  if (ids_owner_enter(&cfg, &ids, e) < 0) return -1;
  long pid = clone3_or_clone(&args);
  if (pid == 0) {
    close(m->sync_fd);
    close(m->report_fd);
    child_main(&cfg, m->init_sync_fd, m->init_report_fd);
  }
  int clone_errno = errno;
  if (pid > 0) m->init = (pid_t)pid;
  /* Root again; a failure here is setup_failed's like any other (init, if any, is killed). */
  if (ids_owner_leave(&ids, e) < 0) return -1;
  if (pid < 0) return fail_errno(e, STEP_CLONE, -1, clone_errno);
  close(m->init_sync_fd);
  close(m->init_report_fd);
  return 0;
}

static int release_init(struct monitor *m, struct sbx_err *e) {
  return write_full(m->sync_fd, "1", 1) < 0 ? fail(e, STEP_SYNC, -1) : 0;
}

/* stdio-fifos: the run's FIFOs opened (the host told "ready" on our stdout), then the per-run
 * request and the three fds sent to init, which waits for them inside the finished sandbox. */
static int send_request(struct monitor *m, struct sbx_err *e) {
  if (!cfg.stdio_dir) return 0;
  int fds[3];
  if (request_open_stdio_line(cfg.stdio_dir, cfg.stdin_fifo, 1, m->ready_line, fds, e) < 0) return -1;
  struct run_request req;
  request_from_config(&cfg, &req);
  req.exec_op += m->op_base;
  int rc = request_send(m->report_fd, &req, fds, e);
  for (int i = 0; i < 3; i++) close(fds[i]);
  return rc;
}

static int arm_wall_clock(struct monitor *m, struct sbx_err *e) {
  if (!cfg.timeout_ms) return 0;
  uint64_t deadline = m->start_us + cfg.timeout_ms * 1000u;
  struct itimerspec its = {{0, 0}, {(time_t)(deadline / 1000000u), (long)(deadline % 1000000u) * 1000}};
  /* An unarmed wall clock would be a silently dropped limit: stop the run instead. */
  if (timerfd_settime(m->timer_fd, TFD_TIMER_ABSTIME, &its, NULL) < 0) return fail(e, STEP_SIGNALS, -1);
  return 0;
}

int main(int argc, char **argv) {
  /* A signal from the caller (SIGTERM to stop the run) from the first instruction on waits for
   * the signalfd instead of killing us before there is a result to write. */
  sigset_t early;
  monitor_signals(&early);
  sigprocmask(SIG_BLOCK, &early, NULL);
  /* A session's agent: the target of a long-lived sandbox, running inside it (session_agent.h),
   * under the session's filter: none of the monitor's start-up below (which makes calls a strict
   * profile refuses, getppid among them) applies to it. */
  if (argc >= 2 && strcmp(argv[1], "--session-agent") == 0) return session_agent_main(argc - 2, argv + 2);
  note_ignored_signals();
  /* Nobody, the sandbox included (init's /proc/1/cmdline), reads our host path or ops. */
  proctitle_hide(argc, argv);
  /* A prepared run the warm launcher started: its own death signal and fds (prepared.h). */
  if (argc >= 2 && strcmp(argv[1], "--prepared") == 0) prepared_exec_main(argc - 2, argv + 2);
  /* Die with the parent (Deno). The getppid() check closes the race with an early death. */
  pid_t ppid = getppid();
  if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0 || getppid() != ppid) return EXIT_SETUP;
  struct monitor m = MONITOR_INIT;
  struct sbx_err e = SBX_ERR_NONE;
  if (close_inherited_fds(&e) < 0) return setup_failed(&m, &e);
  if (argc >= 2 && strcmp(argv[1], "--features") == 0) return features_print(argc - 2, argv + 2);
  if (argc >= 2 && strcmp(argv[1], "--cgroup-info") == 0) return probe_cgroup_info(argc - 2, argv + 2);
  if (argc >= 3 && strcmp(argv[1], "--cgroup-container") == 0)
    return probe_cgroup_container(argv[2], argc - 3, argv + 3);
  if (argc == 4 && strcmp(argv[1], "--cgroup-move") == 0) return probe_cgroup_move(argv[2], argv[3]);
  if (argc == 2 && strcmp(argv[1], "--version") == 0) {
    printf("sandbox-launcher %s %s\n", SANDBOX_VERSION, sbx_build_id);
    return 0;
  }

  if (argc >= 2 && strcmp(argv[1], "--warm") == 0) return warm_main(argc - 2, argv + 2);

  /* The setup, in order. Any failure: init killed, cgroup removed, error recorded, exit 125. */
  if (read_config(argc, argv, &e) < 0) return setup_failed(&m, &e);
  if (open_status(&m, &e) < 0) return setup_failed(&m, &e);
  if (setup_prepare(&m, &e) < 0) return setup_failed(&m, &e);
  return setup_run(&m);
}

int setup_prepare(struct monitor *m, struct sbx_err *e) {
  if (open_channels(m, e) < 0) return -1;
  if (take_host_ids(m, e) < 0) return -1;
  if (prepare_tty(m, e) < 0) return -1;
  /* The cgroup exists before clone: on v2 init is cloned straight into it. */
  if (cgroup_create(&cfg, &m->cg, e) < 0) return -1;
  if (prepare_host_paths(m, e) < 0) return -1;
  if (prepare_trees(m, e) < 0) return -1;
  if (own_kept_dirs(m, e) < 0) return -1;
  if (clone_init(m, e) < 0) return -1;
  /* init holds its own copies of the cloned trees. */
  idmap_close(&cfg);
  /* Parent side of the setup (id maps, v1 cgroup join), then release init. */
  if (ns_prepare(&cfg, m->init, e) < 0) return -1;
  if (cgroup_prepare(&m->cg, m->init, e) < 0) return -1;
  return release_init(m, e);
}

void setup_replay_status(struct monitor *m) {
  if (ids.allocated) status_host_ids(m->status_fd, cfg.uid_outside, cfg.gid_outside);
  idmap_replay_status(m->status_fd);
}

int setup_run(struct monitor *m) {
  struct sbx_err e = SBX_ERR_NONE;
  if (send_request(m, &e) < 0) {
    monitor_init_error(m, &e);
    return setup_failed(m, &e);
  }
  if (arm_wall_clock(m, &e) < 0) return setup_failed(m, &e);

  struct outcome o = OUTCOME_INIT;
  monitor_loop(m, &cfg, &o);
  monitor_collect(m, &o);
  int rc = exit_code(&o);
  if (!o.err.step || o.have_exit) status_exit(m->status_fd, &o.x);
  /* The result is complete: a warm launcher reports the run's end now, while init's namespaces
   * are still being torn down and the cgroup waits for it to be gone. */
  if (m->warm_sock >= 0) {
    unsigned char done[2] = {'D', (unsigned char)rc};
    (void)!send(m->warm_sock, done, sizeof done, MSG_NOSIGNAL);
    close(m->warm_sock);
    m->warm_sock = -1;
  }
  monitor_release(m, &o);
  return rc;
}
