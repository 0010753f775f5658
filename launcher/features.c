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
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "probe.h"
#include "util.h"

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
    (void)write_full(pipefd[1], res, sizeof res);
    _exit(0);
  }
  close(pipefd[1]);
  int res[2] = {0, EIO};
  (void)read_full(pipefd[0], res, sizeof res);
  close(pipefd[0]);
  waitpid(pid, NULL, 0);
  static const char *const steps[] = {"", "unshare", "uid-map", "gid-map", "unshare-others", "mount"};
  *step = steps[res[0] >= 0 && res[0] <= 5 ? res[0] : 0];
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
