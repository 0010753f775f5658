/* seccomp.h — installs the BPF program TypeScript compiled; the launcher never interprets it.
 * With a listener, the monitor receives every refused syscall (SECCOMP_RET_USER_NOTIF) and names
 * it in the result. */
#pragma once
#include <stdbool.h>
#include <stdint.h>

#include "config.h"
#include "util.h"

/* Target: installs the filter. Returns the listener fd when cfg->seccomp_notify, else 0. */
int seccomp_apply(const struct config *cfg, struct sbx_err *e);

/* Monitor: what the listener saw. */
struct seccomp_seen {
  int32_t first_nr;     /* first refused syscall, or -1 */
  uint32_t first_arch;  /* its AUDIT_ARCH_* */
  uint32_t count;       /* refused syscalls in all */
};

/* Monitor: handles one notification: counts it, then answers the errno cfg's seccomp-errno
 * table names for it (an argument check), else kills (kill mode) or answers EPERM. Returns true
 * when the sandbox must be killed. */
bool seccomp_handle(int listener, const struct config *cfg, struct seccomp_seen *seen);
