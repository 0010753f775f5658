/* seccomp.c — install a validated BPF blob (length checked in config.c); answer notifications. */
#include "seccomp.h"

#include <errno.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

int seccomp_apply(const struct config *cfg, struct sbx_err *e) {
  if (!cfg->bpf_len) return 0;
  struct sock_fprog prog = {
      .len = (unsigned short)(cfg->bpf_len / 8),
      .filter = (struct sock_filter *)(void *)cfg->bpf,
  };
  unsigned flags = cfg->seccomp_notify ? SECCOMP_FILTER_FLAG_NEW_LISTENER : 0;
  long rc = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags, &prog);
  if (rc < 0) return fail(e, STEP_SECCOMP, -1);
  return cfg->seccomp_notify ? (int)rc : 0;
}

/* The errno the table gives a call, or 0: an exact args[0] match first, then an any-args[0] one. */
static int table_errno(const struct config *cfg, const struct seccomp_notif *req) {
  int any = 0;
  for (size_t i = 0; i < cfg->n_seccomp_answers; i++) {
    const struct seccomp_answer *a = &cfg->seccomp_answers[i];
    if (a->nr != (uint32_t)req->data.nr) continue;
    if (!a->any_arg0 && a->arg0 == (uint32_t)req->data.args[0]) return a->err;
    if (a->any_arg0 && !any) any = a->err;
  }
  return any;
}

bool seccomp_handle(int listener, const struct config *cfg, struct seccomp_seen *seen) {
  struct seccomp_notif req;
  memset(&req, 0, sizeof req); /* the kernel insists on a zeroed request */
  if (ioctl(listener, SECCOMP_IOCTL_NOTIF_RECV, &req) < 0) return false; /* caller died: ENOENT */
  if (seen->count++ == 0) {
    seen->first_nr = req.data.nr;
    seen->first_arch = req.data.arch;
  }
  int err = table_errno(cfg, &req);
  if (!err && cfg->seccomp_notify == SECCOMP_NOTIFY_KILL) return true; /* the syscall never runs: the sandbox dies */
  struct seccomp_notif_resp resp = {.id = req.id, .val = 0, .error = -(err ? err : EPERM), .flags = 0};
  /* ENOENT: the caller died meanwhile. Any other failure would leave it blocked in the
   * syscall forever: fail closed, kill the sandbox. */
  return ioctl(listener, SECCOMP_IOCTL_NOTIF_SEND, &resp) < 0 && errno != ENOENT;
}
