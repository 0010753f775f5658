/* probe.c — the host facts the library needs from /proc, /sys and the host's root, read here so
 * that Deno needs no --allow-all (Deno 2.x refuses reads under /proc, /sys and /dev without it).
 * Mechanism only: which paths matter, which cgroup to use and which controllers to enable are
 * the caller's (lib/host_facts.ts, lib/cgroups.ts); this file reads, and on request creates one
 * cgroup directory and sweeps the stale run cgroups in it. Output is one JSON object on stdout. */
#include "probe.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "abi.h"
#include "util.h"

#define TEXT_MAX 65536

/* A JSON string: quotes, backslashes and control bytes escaped (paths are arbitrary bytes). */
static void json_str(const char *s) {
  putchar('"');
  for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
    if (*p == '"' || *p == '\\') printf("\\%c", *p);
    else if (*p < 0x20 || *p == 0x7f) printf("\\u%04x", *p);
    else putchar(*p);
  }
  putchar('"');
}

/* The first TEXT_MAX-1 bytes of a file (NUL-terminated), or NULL when it cannot be read. */
static char *read_text(const char *path) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return NULL;
  char *buf = malloc(TEXT_MAX);
  ssize_t n = buf ? read_full(fd, buf, TEXT_MAX - 1) : -1;
  close(fd);
  if (n < 0) {
    free(buf);
    return NULL;
  }
  buf[n] = '\0';
  return buf;
}

/* A file's text without its trailing newline as a JSON string, or null. */
static void json_file(const char *path) {
  char *t = read_text(path);
  if (!t) {
    printf("null");
    return;
  }
  size_t n = strlen(t);
  while (n && t[n - 1] == '\n') t[--n] = '\0';
  json_str(t);
  free(t);
}

/* A number in a file, or -1. */
static long file_long(const char *path) {
  char *t = read_text(path);
  if (!t) return -1;
  char *end;
  long v = strtol(t, &end, 10);
  bool ok = end != t;
  free(t);
  return ok ? v : -1;
}

/* /proc/self/mounts escapes space, tab, newline and backslash as \ooo: undo it in place. */
static void unescape_mount_field(char *s) {
  char *w = s;
  for (char *r = s; *r; r++) {
    if (r[0] == '\\' && r[1] >= '0' && r[1] <= '3' && r[2] >= '0' && r[2] <= '7' && r[3] >= '0' && r[3] <= '7') {
      *w++ = (char)((r[1] - '0') * 64 + (r[2] - '0') * 8 + (r[3] - '0'));
      r += 3;
    } else {
      *w++ = *r;
    }
  }
  *w = '\0';
}

/* Every cgroup and cgroup2 mount: dir, type, options; a cgroup2 root's controllers. */
static void print_cgroup_mounts(void) {
  printf("\"cgroupMounts\":[");
  char *t = read_text("/proc/self/mounts");
  bool first = true;
  for (char *save = NULL, *line = t ? strtok_r(t, "\n", &save) : NULL; line; line = strtok_r(NULL, "\n", &save)) {
    char *f[4] = {NULL, NULL, NULL, NULL};
    char *fs = NULL;
    for (int i = 0; i < 4; i++) f[i] = strtok_r(i ? NULL : line, " ", &fs);
    if (!f[3] || (strcmp(f[2], "cgroup") != 0 && strcmp(f[2], "cgroup2") != 0)) continue;
    unescape_mount_field(f[1]);
    printf("%s{\"dir\":", first ? "" : ",");
    json_str(f[1]);
    printf(",\"type\":\"%s\",\"opts\":", f[2]);
    json_str(f[3]);
    if (strcmp(f[2], "cgroup2") == 0) {
      char path[4096];
      snprintf(path, sizeof path, "%s/cgroup.controllers", f[1]);
      printf(",\"controllers\":");
      json_file(path);
    }
    putchar('}');
    first = false;
  }
  free(t);
  printf("],");
}

/* /proc/self/cgroup: one {controllers, path} per hierarchy ("" controllers: cgroup v2). */
static void print_self_cgroup(void) {
  printf("\"selfCgroup\":[");
  char *t = read_text("/proc/self/cgroup");
  bool first = true;
  for (char *save = NULL, *line = t ? strtok_r(t, "\n", &save) : NULL; line; line = strtok_r(NULL, "\n", &save)) {
    char *ctl = strchr(line, ':');
    char *path = ctl ? strchr(ctl + 1, ':') : NULL;
    if (!path) continue;
    *path++ = '\0';
    printf("%s{\"controllers\":", first ? "" : ",");
    json_str(ctl + 1);
    printf(",\"path\":");
    json_str(path);
    putchar('}');
    first = false;
  }
  free(t);
  printf("],");
}

/* The per-user-namespace budgets this kernel keeps: /proc/sys/user/max_* without "max_". */
static void print_userns_limits(void) {
  DIR *d = opendir("/proc/sys/user");
  if (!d) {
    printf("\"usernsLimits\":null,");
    return;
  }
  printf("\"usernsLimits\":[");
  bool first = true;
  for (struct dirent *e; (e = readdir(d));) {
    if (strncmp(e->d_name, "max_", 4) != 0) continue;
    printf("%s", first ? "" : ",");
    json_str(e->d_name + 4);
    first = false;
  }
  closedir(d);
  printf("],");
}

/* One path's kind: {"type": "dir"|"file"|"other"|null (a dangling link), "link": target}. */
static bool print_path(const char *path, bool first) {
  struct stat lst, st;
  if (lstat(path, &lst) < 0) return false;
  printf("%s", first ? "" : ",");
  json_str(path);
  printf(":{\"type\":");
  if (stat(path, &st) < 0) printf("null");
  else printf("\"%s\"", S_ISDIR(st.st_mode) ? "dir" : S_ISREG(st.st_mode) ? "file" : "other");
  if (S_ISLNK(lst.st_mode)) {
    char target[4096];
    ssize_t n = readlink(path, target, sizeof target - 1);
    if (n >= 0) {
      target[n] = '\0';
      printf(",\"link\":");
      json_str(target);
    }
  }
  putchar('}');
  return true;
}

/* The paths asked about; "DIR/PREFIX*" stands for every entry of DIR whose name starts with
 * PREFIX. Absent paths are left out. */
static void print_paths(int n, char **paths) {
  printf("\"paths\":{");
  bool first = true;
  for (int i = 0; i < n; i++) {
    const char *p = paths[i];
    size_t len = strlen(p);
    if (len == 0 || len >= 4096) continue;
    if (p[len - 1] != '*') {
      if (print_path(p, first)) first = false;
      continue;
    }
    char dir[4096];
    memcpy(dir, p, len - 1);
    dir[len - 1] = '\0';
    char *slash = strrchr(dir, '/');
    if (!slash || strchr(dir, '*')) continue;
    *slash = '\0';
    const char *prefix = slash + 1;
    DIR *d = opendir(*dir ? dir : "/");
    if (!d) continue;
    for (struct dirent *e; (e = readdir(d));) {
      if (strncmp(e->d_name, prefix, strlen(prefix)) != 0 || !strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
      char full[4096];
      if (snprintf(full, sizeof full, "%s/%s", dir, e->d_name) >= (int)sizeof full) continue;
      if (print_path(full, first)) first = false;
    }
    closedir(d);
  }
  printf("}");
}

/* Why this binary's own path is not safe to run from, or NULL: the binary and every directory
 * above it must be owned by us or root and writable by nobody else (a root-owned sticky directory,
 * /tmp, excepted). The library checks the same before running us, but Deno may not read the
 * directories above a launcher that a narrow --allow-read names. */
static const char *exe_distrust(char *why, size_t size) {
  char real[PATH_MAX];
  if (!realpath("/proc/self/exe", real)) {
    snprintf(why, size, "its own path cannot be resolved (%s)", strerror(errno));
    return why;
  }
  for (size_t len = strlen(real);;) {
    struct stat st;
    if (lstat(real, &st) < 0) {
      snprintf(why, size, "\"%s\" cannot be checked (%s)", real, strerror(errno));
      return why;
    }
    bool sticky_root = S_ISDIR(st.st_mode) && st.st_uid == 0 && (st.st_mode & S_ISVTX);
    if (st.st_uid != geteuid() && st.st_uid != 0) {
      snprintf(why, size, "\"%s\" is owned by uid %u, not by uid %u or root", real, st.st_uid, geteuid());
      return why;
    }
    if ((st.st_mode & 022) && !sticky_root) {
      snprintf(why, size, "\"%s\" is writable by %s (mode %04o)", real, (st.st_mode & 02) ? "every user" : "its group",
               st.st_mode & 07777);
      return why;
    }
    if (len <= 1) return NULL;
    char *slash = strrchr(real, '/');
    len = slash == real ? 1 : (size_t)(slash - real);
    real[len] = '\0';
  }
}

void probe_host_print(int npaths, char **paths) {
  char why[PATH_MAX + 128];
  const char *distrust = exe_distrust(why, sizeof why);
  printf("\"exeDistrust\":");
  if (distrust) json_str(distrust);
  else printf("null");
  putchar(',');
  printf("\"egid\":%u,", getegid());
  print_userns_limits();
  char *swaps = read_text("/proc/swaps");
  int lines = 0;
  for (char *s = swaps; s && *s; s++) lines += *s == '\n';
  printf("\"swaps\":%s,", swaps && lines > 1 ? "true" : "false");
  free(swaps);
  char *fs = read_text("/proc/filesystems");
  printf("\"overlay\":%s,", fs && strstr(fs, "\toverlay\n") ? "true" : "false");
  free(fs);
  printf("\"apparmorRestrictUserns\":%ld,", file_long("/proc/sys/kernel/apparmor_restrict_unprivileged_userns"));
  printf("\"maxUserNamespaces\":%ld,", file_long("/proc/sys/user/max_user_namespaces"));
  print_cgroup_mounts();
  print_self_cgroup();
  print_paths(npaths, paths);
}

/* The pids in a cgroup.procs file but this process's own (the launcher asking is in the caller's
 * cgroup too), at most 64: enough to tell whether anyone else is there. */
static void print_procs(const char *path) {
  char *text = read_text(path);
  printf(",\"procs\":[");
  int n = 0;
  for (char *p = text, *end; p && *p && n < 64; p = end) {
    long pid = strtol(p, &end, 10);
    if (end == p) break;
    if (pid > 0 && pid != (long)getpid()) printf("%s%ld", n++ ? "," : "", pid);
  }
  putchar(']');
  free(text);
}

/* Whether systemd's system manager marked `dir` as delegated: since systemd 251 the cgroup of a
 * unit with Delegate=yes carries the xattr trusted.delegate=1 (only CAP_SYS_ADMIN may set a
 * trusted.* attribute, so an unprivileged owner cannot fake it). */
static bool delegated(const char *dir) {
  char v[8];
  ssize_t n = getxattr(dir, "trusted.delegate", v, sizeof v);
  return n == 1 && v[0] == '1';
}

/* One cgroup directory: its controllers, which are enabled for its children, whether this user
 * may move a process into it, whether systemd delegated it, and which swap knobs it has. */
static void print_cgroup_dir(const char *dir) {
  char path[4096];
  json_str(dir);
  printf(":{\"controllers\":");
  snprintf(path, sizeof path, "%s/cgroup.controllers", dir);
  json_file(path);
  printf(",\"subtreeControl\":");
  snprintf(path, sizeof path, "%s/cgroup.subtree_control", dir);
  json_file(path);
  snprintf(path, sizeof path, "%s/cgroup.subtree_control", dir);
  printf(",\"subtreeWritable\":%s", access(path, W_OK) == 0 ? "true" : "false");
  snprintf(path, sizeof path, "%s/cgroup.procs", dir);
  printf(",\"procsWritable\":%s", access(path, W_OK) == 0 ? "true" : "false");
  print_procs(path);
  printf(",\"delegated\":%s", delegated(dir) ? "true" : "false");
  snprintf(path, sizeof path, "%s/memory.swap.max", dir);
  printf(",\"swapMax\":%s", access(path, F_OK) == 0 ? "true" : "false");
  snprintf(path, sizeof path, "%s/memory.memsw.limit_in_bytes", dir);
  printf(",\"memsw\":%s}", access(path, F_OK) == 0 ? "true" : "false");
}

int probe_cgroup_info(int n, char **dirs) {
  putchar('{');
  for (int i = 0; i < n; i++) {
    if (i) putchar(',');
    print_cgroup_dir(dirs[i]);
  }
  printf("}\n");
  return 0;
}

/* A run cgroup's name: "<pid>-<n>-..." (lib/cgroups.ts runCgroupName). */
static bool run_cgroup_name(const char *s) {
  for (int part = 0; part < 2; part++) {
    if (!isdigit((unsigned char)*s)) return false;
    while (isdigit((unsigned char)*s)) s++;
    if (*s++ != '-') return false;
  }
  return true;
}

/* Removes the run cgroups in `dir` no launcher holds: each launcher keeps an flock on its cgroup
 * directory until it has removed it, so a lock taken here means the run is over. rmdir also
 * fails (EBUSY) while a cgroup is populated; failures leave the cgroup alone. */
static void sweep(const char *dir) {
  int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (dfd < 0) return;
  DIR *d = fdopendir(dfd);
  if (!d) {
    close(dfd);
    return;
  }
  for (struct dirent *e; (e = readdir(d));) {
    if (e->d_type != DT_DIR || !run_cgroup_name(e->d_name)) continue;
    __attribute__((cleanup(close_fdp))) int fd = openat(dfd, e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) continue; /* raced with its launcher's own removal */
    /* Removed while this lock is held: its launcher, if it just made it, sees it gone. */
    if (flock(fd, LOCK_EX | LOCK_NB) == 0) (void)unlinkat(dfd, e->d_name, AT_REMOVEDIR);
  }
  closedir(d);
}

/* Whether `name` is one of the controllers in the space-separated `list`. */
static bool has_word(const char *list, const char *name) {
  size_t n = strlen(name);
  for (const char *p = list; (p = strstr(p, name)); p += n) {
    bool start = p == list || isspace((unsigned char)p[-1]);
    if (start && (p[n] == '\0' || isspace((unsigned char)p[n]))) return true;
  }
  return false;
}

/* Checks a cgroup directory argument and creates the directory when missing; 0, or the launcher's
 * exit code for a setup failure (reported: the step, the path and errno). */
static int make_cgroup_dir(const char *dir, bool ok_args, const char *usage) {
  struct sbx_err e = SBX_ERR_NONE;
  if (!ok_args || strlen(dir) > 4000 || dir[0] != '/') {
    fail_input(&e, usage, NULL, -1);
    report_err(&e, NULL);
    return EXIT_SETUP;
  }
  if (mkdir(dir, 0755) < 0 && errno != EEXIST) {
    fail_path(&e, STEP_CGROUP, dir);
    report_err(&e, dir);
    return EXIT_SETUP;
  }
  return 0;
}

int probe_cgroup_container(const char *dir, int nctl, char **ctls) {
  struct sbx_err e = SBX_ERR_NONE;
  char path[4096];
  int rc = make_cgroup_dir(dir, true, "--cgroup-container needs an absolute directory");
  if (rc) return rc;
  snprintf(path, sizeof path, "%s/cgroup.procs", dir);
  if (access(path, W_OK) < 0) {
    fail_path(&e, STEP_CGROUP, path);
    report_err(&e, path);
    return EXIT_SETUP;
  }
  if (nctl > 0) {
    /* Enable the requested controllers that reach this directory, in one write. */
    snprintf(path, sizeof path, "%s/cgroup.controllers", dir);
    char *available = read_text(path);
    char line[256] = "";
    for (int i = 0; available && i < nctl; i++) {
      if (!has_word(available, ctls[i]) || strlen(line) + strlen(ctls[i]) + 3 > sizeof line) continue;
      snprintf(line + strlen(line), sizeof line - strlen(line), "%s+%s", *line ? " " : "", ctls[i]);
    }
    free(available);
    snprintf(path, sizeof path, "%s/cgroup.subtree_control", dir);
    if (*line && write_file(path, line) < 0) {
      fail_path(&e, STEP_CGROUP, path);
      report_err(&e, path);
      return EXIT_SETUP;
    }
  }
  sweep(dir);
  putchar('{');
  print_cgroup_dir(dir);
  printf("}\n");
  return 0;
}

int probe_cgroup_move(const char *dir, const char *pid) {
  struct sbx_err e = SBX_ERR_NONE;
  char path[4096];
  char *end;
  long n = strtol(pid, &end, 10);
  int rc = make_cgroup_dir(dir, *end == '\0' && end != pid && n > 0,
                           "--cgroup-move needs an absolute directory and a pid");
  if (rc) return rc;
  /* This process first ("0": the writer), then the caller: afterwards neither is left in the
   * cgroup they came from, which may then enable controllers for its children. */
  snprintf(path, sizeof path, "%s/cgroup.procs", dir);
  if (write_file(path, "0") < 0 || write_file(path, pid) < 0) {
    fail_path(&e, STEP_CGROUP, path);
    report_err(&e, path);
    return EXIT_SETUP;
  }
  putchar('{');
  print_cgroup_dir(dir);
  printf("}\n");
  return 0;
}
