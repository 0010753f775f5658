/* ns.c — namespace mechanics. */
#include "ns.h"

#include <errno.h>
#include <net/if.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

int ns_prepare(const struct config *cfg, pid_t child, struct sbx_err *e) {
  char path[64], line[64];
  if (cfg->uid_map_set) {
    snprintf(path, sizeof path, "/proc/%d/uid_map", (int)child);
    snprintf(line, sizeof line, "%u %u 1\n", cfg->uid_inside, cfg->uid_outside);
    if (write_file(path, line) < 0) return fail(e, STEP_UID_MAP, -1);
  }
  if (cfg->gid_map_set) {
    /* Unprivileged writers must deny setgroups first; we deny it always, so the target can
     * never drop a group it was given (a negative-permission escape). */
    snprintf(path, sizeof path, "/proc/%d/setgroups", (int)child);
    if (write_file(path, "deny\n") < 0) return fail(e, STEP_GID_MAP, -1);
    snprintf(path, sizeof path, "/proc/%d/gid_map", (int)child);
    snprintf(line, sizeof line, "%u %u 1\n", cfg->gid_inside, cfg->gid_outside);
    if (write_file(path, line) < 0) return fail(e, STEP_GID_MAP, -1);
  }
  return 0;
}

static int loopback_up(struct sbx_err *e) {
  int fd cleanup_fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return fail(e, STEP_LOOPBACK, -1);
  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  strcpy(ifr.ifr_name, "lo");
  if (ioctl(fd, SIOCGIFFLAGS, &ifr) < 0) return fail(e, STEP_LOOPBACK, -1);
  ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
  if (ioctl(fd, SIOCSIFFLAGS, &ifr) < 0) return fail(e, STEP_LOOPBACK, -1);
  return 0;
}

int ns_apply(const struct config *cfg, struct sbx_err *e) {
  if (cfg->hostname && sethostname(cfg->hostname, strlen(cfg->hostname)) < 0)
    return fail(e, STEP_HOSTNAME, -1);
  if (cfg->loopback && loopback_up(e) < 0) return -1;
  return 0;
}
