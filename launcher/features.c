/* features.c — probes by doing: a real user namespace with an id map and a mount, the Landlock
 * ABI (never closing the probe result: it is a number, not an fd), seccomp actions; plus the host
 * facts of probe.c, so that one call tells the library all it needs to know of the machine. */
#include "features.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/landlock.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "probe.h"
#include "util.h"

/* 0 when PATH opens for writing, else -1 with errno. */
static int probe_writable(const char *path) {
  int fd = open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  close(fd);
  return 0;
}

/* 0 when a child in the new pid namespace can mount a procfs (on the probe's private /tmp), else
 * the errno. */
static int probe_proc_mount(void) {
  pid_t pid = fork();
  if (pid < 0) return errno;
  if (pid == 0) {
    if (mkdir("/tmp/proc", 0700) < 0) _exit(errno);
    _exit(mount("proc", "/tmp/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0 ? errno : 0);
  }
  int st;
  if (waitpid(pid, &st, 0) < 0) return errno;
  return WIFEXITED(st) ? WEXITSTATUS(st) : EIO;
}

/* 0 when an unprivileged-style user namespace with uid map, mount and pid namespaces works;
 * else the errno of the step that failed (AppArmor's restriction shows up as EACCES/EPERM at
 * the uid map or the mount). */
static int probe_userns(const char **step) {
  int pipefd[2];
  if (pipe2(pipefd, O_CLOEXEC) < 0) return errno;
  uid_t uid = geteuid();
  gid_t gid = getegid();
  pid_t pid = fork();
  if (pid < 0) return errno;
  if (pid == 0) {
    int res[2] = {0, 0};
    char line[64];
    if (unshare(CLONE_NEWUSER) < 0) res[0] = 1, res[1] = errno;
    else if (snprintf(line, sizeof line, "0 %u 1\n", uid), write_file("/proc/self/uid_map", line) < 0)
      res[0] = 2, res[1] = errno;
    else if (write_file("/proc/self/setgroups", "deny\n") < 0) res[0] = 3, res[1] = errno;
    else if (snprintf(line, sizeof line, "0 %u 1\n", gid), write_file("/proc/self/gid_map", line) < 0)
      res[0] = 3, res[1] = errno;
    else if (unshare(CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWUTS | CLONE_NEWIPC) < 0)
      res[0] = 4, res[1] = errno;
    else if (mount("tmpfs", "/tmp", "tmpfs", 0, NULL) < 0) res[0] = 5, res[1] = errno;
    /* What a container's runtime refuses although the namespaces themselves work (podman's
     * defaults: a seccomp profile without sethostname, a read-only /proc/sys, masked /proc
     * paths that make the kernel refuse a fresh procfs): each run needs all three. */
    else if (sethostname("probe", 5) < 0) res[0] = 6, res[1] = errno;
    else if (probe_writable("/proc/sys/user/max_user_namespaces") < 0) res[0] = 7, res[1] = errno;
    else if ((res[1] = probe_proc_mount()) != 0) res[0] = 8;
    (void)write_full(pipefd[1], res, sizeof res);
    _exit(0);
  }
  close(pipefd[1]);
  int res[2] = {0, EIO};
  (void)read_full(pipefd[0], res, sizeof res);
  close(pipefd[0]);
  waitpid(pid, NULL, 0);
  static const char *const steps[] = {"",      "unshare",  "uid-map",      "gid-map", "unshare-others",
                                      "mount", "hostname", "userns-limit", "proc"};
  *step = steps[res[0] >= 0 && res[0] <= 8 ? res[0] : 0];
  return res[0] ? res[1] : 0;
}

int features_print(int npaths, char **paths) {
  const char *ustep = "";
  int uerr = probe_userns(&ustep);
  long abi = syscall(SYS_landlock_create_ruleset, NULL, 0, LANDLOCK_CREATE_RULESET_VERSION);
  int lerr = abi < 0 ? errno : 0;
  static const struct {
    const char *name;
    unsigned action;
  } actions[] = {{"kill_process", SECCOMP_RET_KILL_PROCESS}, {"kill_thread", SECCOMP_RET_KILL_THREAD},
                 {"trap", SECCOMP_RET_TRAP},                 {"errno", SECCOMP_RET_ERRNO},
                 {"user_notif", SECCOMP_RET_USER_NOTIF},     {"trace", SECCOMP_RET_TRACE},
                 {"log", SECCOMP_RET_LOG},                   {"allow", SECCOMP_RET_ALLOW}};
  printf("{\"version\":\"%s\",\"buildId\":\"%s\",\"euid\":%u,\"userns\":%s,\"usernsStep\":\"%s\",\"usernsErrno\":%d,",
         SANDBOX_VERSION, sbx_build_id, geteuid(), uerr ? "false" : "true", ustep, uerr);
  printf("\"landlockAbi\":%ld,\"landlockErrno\":%d,\"seccomp\":[", abi < 0 ? 0 : abi, lerr);
  bool first = true;
  for (size_t i = 0; i < sizeof actions / sizeof actions[0]; i++) {
    unsigned a = actions[i].action;
    if (syscall(SYS_seccomp, SECCOMP_GET_ACTION_AVAIL, 0, &a) == 0) {
      printf("%s\"%s\"", first ? "" : ",", actions[i].name);
      first = false;
    }
  }
  long c3 = syscall(SYS_clone3, NULL, 0);
  printf("],\"clone3\":%s,", c3 < 0 && errno == ENOSYS ? "false" : "true");
  probe_host_print(npaths, paths);
  printf("}\n");
  return 0;
}
