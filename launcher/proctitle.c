/* proctitle.c — hides the launcher's command line. /proc/PID/cmdline is readable by every
 * process that can see the pid (no ptrace check): inside the sandbox, init is pid 1 and its
 * cmdline would name the launcher's host path (and, driven by hand, every op). The kernel reads
 * the area the initial argv strings occupy; when its last byte is not NUL it takes the first
 * string only (setproctitle's convention), which here is the title. */
#include "proctitle.h"

#include <stdlib.h>
#include <string.h>

#define TITLE "sandbox-launcher"

void proctitle_hide(int argc, char **argv) {
  if (argc < 1 || !argv[0]) return;
  /* The strings are contiguous as the kernel laid them out; anything else is left alone. */
  char *start = argv[0], *end = argv[0] + strlen(argv[0]) + 1;
  for (int i = 1; i < argc; i++) {
    if (argv[i] != end) return;
    end += strlen(argv[i]) + 1;
  }
  size_t len = (size_t)(end - start);
  char *copy = malloc(len);
  if (!copy) return;
  memcpy(copy, start, len);
  for (int i = 0; i < argc; i++) argv[i] = copy + (argv[i] - start);
  memset(start, 0, len);
  if (len < 3) return;
  size_t n = len - 2 < sizeof TITLE - 1 ? len - 2 : sizeof TITLE - 1;
  memcpy(start, TITLE, n);
  /* Not NUL: the kernel then stops at the NUL after the title (setproctitle mode). */
  start[len - 1] = ' ';
}
