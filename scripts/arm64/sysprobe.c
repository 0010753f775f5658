/* sysprobe — the aarch64 guest's probe (scripts/arm64-test.sh; built static, never installed).
 *
 *   sysprobe SPEC...      make each raw syscall; print "NR RET ERRNO" per SPEC
 *   sysprobe -u UID PROGRAM [ARGS...]   drop to UID (gid UID, no groups) and exec PROGRAM
 *
 * SPEC: NR, or NR:A0[:A1[:A2]] with the arguments as C integers (0x... allowed); an argument
 * "&" is the address of a zeroed 64-byte buffer. Missing arguments are 0. */
#define _GNU_SOURCE
#include <errno.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

static char buf[64];

static long arg(const char *s) {
  if (strcmp(s, "&") == 0) return (long)buf;
  return (long)strtoull(s, NULL, 0);
}

int main(int argc, char **argv) {
  if (argc >= 4 && strcmp(argv[1], "-u") == 0) {
    unsigned id = (unsigned)strtoul(argv[2], NULL, 10);
    if (setgroups(0, NULL) || setresgid(id, id, id) || setresuid(id, id, id)) {
      perror("sysprobe: dropping to the uid");
      return 125;
    }
    execv(argv[3], argv + 3);
    perror("sysprobe: exec");
    return 127;
  }
  for (int i = 1; i < argc; i++) {
    long a[6] = {0};
    char *spec = strdup(argv[i]);
    char *save = NULL;
    long nr = strtol(strtok_r(spec, ":", &save), NULL, 0);
    for (int k = 0; k < 6; k++) {
      char *t = strtok_r(NULL, ":", &save);
      if (!t) break;
      a[k] = arg(t);
    }
    errno = 0;
    long r = syscall(nr, a[0], a[1], a[2], a[3], a[4], a[5]);
    printf("%ld %ld %d\n", nr, r, r < 0 ? errno : 0);
    fflush(stdout);
    free(spec);
  }
  return 0;
}
