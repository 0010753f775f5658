/* seccomp.c — install a validated BPF blob (length checked in config.c). */
#include "seccomp.h"

#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/syscall.h>
#include <unistd.h>

int seccomp_apply(const struct config *cfg, struct sbx_err *e) {
  if (!cfg->bpf_len) return 0;
  struct sock_fprog prog = {
      .len = (unsigned short)(cfg->bpf_len / 8),
      .filter = (struct sock_filter *)(void *)cfg->bpf,
  };
  if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) < 0) return fail(e, STEP_SECCOMP, -1);
  return 0;
}
