/* harness.c — libFuzzer targets for the launcher's input boundary (config.c).
 *
 * Built twice (see Makefile):
 *   -DHARNESS_FRAME  fuzz_frame: the input is what arrives on stdin; it is put in a memfd and
 *                    read with frame_read(), and the tokens go on to config_parse().
 *   -DHARNESS_ARGV   fuzz_argv:  the input is argv: split on NUL (a final NUL ends the last token,
 *                    like the frame format) and handed straight to config_parse(), without the
 *                    TOKENS_MAX cap that frame_read() applies (main.c does not cap argc either).
 *
 * After a successful parse the harness checks the invariants the rest of the launcher relies on
 * (after a refusal, that the error names a reason and an op in range) and abort()s when one
 * breaks, so logic errors surface as crashes next to ASan/UBSan ones. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>
#include <sched.h>

#include "config.h"
#include "util.h"

#if !defined(HARNESS_FRAME) && !defined(HARNESS_ARGV)
#error "build with -DHARNESS_FRAME or -DHARNESS_ARGV"
#endif

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* config is ~45 KiB: keep it off the stack. */
static struct config cfg;
static struct sbx_err err;

#define REQUIRE(cond)                                                                     \
  do {                                                                                    \
    if (!(cond)) {                                                                        \
      fprintf(stderr, "harness: invariant broken at %s:%d: %s\n", __FILE__, __LINE__, #cond); \
      abort();                                                                            \
    }                                                                                     \
  } while (0)

/* Is p exactly one of the tokens? (Every string in cfg must be a token, never a copy.) */
static int is_token(char **t, size_t count, const char *p) {
  for (size_t k = 0; k < count; k++)
    if (t[k] == p) return 1;
  return 0;
}

static int is_abs(const char *p) { return p && p[0] == '/'; }

static void check_config(char **t, size_t count) {
  REQUIRE(cfg.status_path && is_abs(cfg.status_path) && is_token(t, count, cfg.status_path));
  REQUIRE(cfg.exec && cfg.exec[0] && is_token(t, count, cfg.exec));
  REQUIRE(cfg.exec_op >= 0 && (size_t)cfg.exec_op < count);
  REQUIRE(config_op_path(&cfg, cfg.exec_op) == cfg.exec);

  REQUIRE(cfg.argv && cfg.argc >= 1 && cfg.argc <= count && cfg.argv[cfg.argc] == NULL);
  for (size_t k = 0; k < cfg.argc; k++) REQUIRE(cfg.argv[k] && is_token(t, count, cfg.argv[k]));
  REQUIRE(cfg.envp && cfg.envc <= count && cfg.envp[cfg.envc] == NULL);
  for (size_t k = 0; k < cfg.envc; k++) {
    REQUIRE(cfg.envp[k] && is_token(t, count, cfg.envp[k]));
    REQUIRE(cfg.envp[k][0] != '=' && strchr(cfg.envp[k], '='));
  }

  REQUIRE(cfg.n_mounts <= MOUNTS_MAX);
  if (cfg.n_mounts) REQUIRE(cfg.newroot);
  int last_op = -1;
  for (size_t k = 0; k < cfg.n_mounts; k++) {
    const struct mount_op *m = &cfg.mounts[k];
    REQUIRE(m->kind >= M_RO_BIND && m->kind <= M_MASK);
    REQUIRE(m->op > last_op && (size_t)m->op < count); /* in op order */
    last_op = m->op;
    REQUIRE(is_abs(m->dst) && is_token(t, count, m->dst) && strlen(m->dst) < 4096);
    REQUIRE(config_op_path(&cfg, m->op) == m->dst);
    REQUIRE(!strstr(m->dst, "/../") && !strstr(m->dst, "/./"));
    switch (m->kind) {
    case M_RO_BIND:
    case M_BIND:
    case M_RO_BIND_TRY:
    case M_OVERLAY: REQUIRE(is_abs(m->src) && is_token(t, count, m->src)); break;
    case M_SYMLINK: REQUIRE(m->src && m->src[0] && is_token(t, count, m->src)); break;
    default: REQUIRE(m->src == NULL); break;
    }
    if (m->kind == M_OVERLAY && m->upper) {
      REQUIRE(is_abs(m->upper) && is_token(t, count, m->upper));
      REQUIRE(is_abs(m->work) && is_token(t, count, m->work));
      REQUIRE(m->size == 0);
    } else {
      REQUIRE(m->upper == NULL && m->work == NULL);
    }
    if (m->kind != M_TMPFS && m->kind != M_OVERLAY) REQUIRE(m->size == 0);
    if (m->kind != M_TMPFS && m->kind != M_DIR) REQUIRE(m->mode == 0);
    REQUIRE(m->mode <= 07777);
  }

  /* landlock */
  REQUIRE(cfg.n_landlock_rules <= LANDLOCK_RULES_MAX);
  if (cfg.landlock) REQUIRE(cfg.landlock_fs | cfg.landlock_net | cfg.landlock_scope);
  for (size_t k = 0; k < cfg.n_landlock_rules; k++) {
    const struct landlock_rule *r = &cfg.landlock_rules[k];
    REQUIRE(cfg.landlock && r->rights && !(r->rights & ~cfg.landlock_fs));
    REQUIRE(is_abs(r->path) && is_token(t, count, r->path));
    REQUIRE(r->op >= 0 && (size_t)r->op < count && config_op_path(&cfg, r->op) == r->path);
  }

  /* cgroups */
  int have_cgroup = cfg.cgroup_v2_parent || cfg.n_cgroup_v1;
  REQUIRE(!(cfg.cgroup_v2_parent && cfg.n_cgroup_v1));
  REQUIRE(have_cgroup == (cfg.cgroup_name != NULL));
  if (cfg.cgroup_name) {
    size_t n = strlen(cfg.cgroup_name);
    REQUIRE(n >= 1 && n <= 128 && cfg.cgroup_name[0] != '.' && !strchr(cfg.cgroup_name, '/'));
  }
  if (cfg.cgroup_v2_parent) {
    REQUIRE(is_abs(cfg.cgroup_v2_parent) && is_token(t, count, cfg.cgroup_v2_parent));
    REQUIRE(config_op_path(&cfg, cfg.cgroup_v2_op) == cfg.cgroup_v2_parent);
  }
  REQUIRE(cfg.n_cgroup_v1 <= 4 && cfg.n_cgroup_v1 <= CGROUP_V1_MAX);
  for (size_t k = 0; k < cfg.n_cgroup_v1; k++) {
    REQUIRE(is_abs(cfg.cgroup_v1[k].parent) && is_token(t, count, cfg.cgroup_v1[k].parent));
    REQUIRE(config_op_path(&cfg, cfg.cgroup_v1[k].op) == cfg.cgroup_v1[k].parent);
    for (size_t j = 0; j < k; j++)
      REQUIRE(strcmp(cfg.cgroup_v1[j].controller, cfg.cgroup_v1[k].controller) != 0);
  }
  if (cfg.limits.memory_max || cfg.limits.pids_max || cfg.limits.cpu_quota) REQUIRE(have_cgroup);
  REQUIRE(cfg.limits.memory_max == 0 || cfg.limits.memory_max >= 4096);
  REQUIRE(cfg.limits.pids_max <= 4194304);
  REQUIRE((cfg.limits.cpu_quota == 0 && cfg.limits.cpu_period == 0) ||
          (cfg.limits.cpu_quota >= 1000 && cfg.limits.cpu_period >= 1000 &&
           cfg.limits.cpu_period <= 1000000));
  if (cfg.seccomp_notify) REQUIRE(cfg.bpf_len > 0);

  if (cfg.cwd) REQUIRE(is_abs(cfg.cwd) && is_token(t, count, cfg.cwd));
  if (cfg.hostname) {
    size_t n = strlen(cfg.hostname);
    REQUIRE(n >= 1 && n <= 64 && (cfg.ns_flags & CLONE_NEWUTS));
  }
  if (cfg.loopback) REQUIRE(cfg.ns_flags & CLONE_NEWNET);
  if (cfg.newroot) REQUIRE(cfg.ns_flags & CLONE_NEWNS);
  if (cfg.uid_map_set || cfg.gid_map_set) REQUIRE(cfg.ns_flags & CLONE_NEWUSER);
  REQUIRE((cfg.ns_flags & ~(unsigned long)(CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNS |
                                           CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWNET |
                                           CLONE_NEWCGROUP)) == 0);
  REQUIRE(!cfg.uid_map_set || (cfg.uid_inside < UINT32_MAX && cfg.uid_outside < UINT32_MAX));
  REQUIRE(!cfg.gid_map_set || (cfg.gid_inside < UINT32_MAX && cfg.gid_outside < UINT32_MAX));
  REQUIRE(!cfg.run_uid_set || cfg.run_uid < UINT32_MAX);
  REQUIRE(!cfg.run_gid_set || cfg.run_gid < UINT32_MAX);
  REQUIRE(cfg.timeout_ms <= 1000ull * 86400 * 365);

  REQUIRE(cfg.n_rlimits <= RLIMITS_MAX);
  for (size_t k = 0; k < cfg.n_rlimits; k++) {
    REQUIRE(cfg.rlimits[k].soft <= cfg.rlimits[k].hard);
    for (size_t j = 0; j < k; j++) REQUIRE(cfg.rlimits[j].resource != cfg.rlimits[k].resource);
  }
  REQUIRE(cfg.bpf_len % 8 == 0 && cfg.bpf_len <= sizeof cfg.bpf);

  /* Out-of-range op indices must be refused, not read. */
  REQUIRE(config_op_path(&cfg, -1) == NULL);
  REQUIRE(config_op_path(&cfg, (int)TOKENS_MAX) == NULL);
}

/* A refusal is a parse error with a reason, about op -1 (none) .. count (a missing op). */
static void check_refusal(size_t count) {
  REQUIRE(err.step == STEP_PARSE && err.err == EINVAL && err.why && err.why[0]);
  REQUIRE(err.op >= -1 && (size_t)(err.op + 1) <= count + 1);
}

#ifdef HARNESS_FRAME
static int memfd = -1;

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc;
  (void)argv;
  memfd = memfd_create("sbx-frame", MFD_CLOEXEC);
  if (memfd < 0) {
    perror("memfd_create");
    abort();
  }
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (ftruncate(memfd, 0) < 0 || pwrite(memfd, data, size, 0) != (ssize_t)size ||
      lseek(memfd, 0, SEEK_SET) != 0)
    abort();
  char **t = NULL;
  size_t count = 0;
  if (frame_read(memfd, &t, &count, &err) < 0) {
    check_refusal(0);
    return 0;
  }

  /* A frame was accepted: re-derive it from the input and compare. */
  REQUIRE(size >= 8 && memcmp(data, FRAME_MAGIC, 4) == 0);
  uint32_t len = (uint32_t)data[4] | (uint32_t)data[5] << 8 | (uint32_t)data[6] << 16 |
                 (uint32_t)data[7] << 24;
  REQUIRE(len >= 1 && len <= FRAME_MAX && size >= 8 + (size_t)len && data[8 + len - 1] == 0);
  /* Exactly the frame was consumed: what follows belongs to the target. */
  REQUIRE(lseek(memfd, 0, SEEK_CUR) == (off_t)(8 + len));
  REQUIRE(t && count <= TOKENS_MAX && t[count] == NULL);
  size_t off = 0;
  for (size_t k = 0; k < count; k++) {
    size_t n = strlen(t[k]);
    REQUIRE(memcmp(t[k], data + 8 + off, n + 1) == 0);
    off += n + 1;
  }
  REQUIRE(off == len);

  if (config_parse(t, count, &cfg, &err) == 0) check_config(t, count);
  else check_refusal(count);
  return 0;
}
#endif

#ifdef HARNESS_ARGV
/* Split buf[0..len) (buf[len] == '\0') into tokens the way frame_read does. */
static char **split(char *buf, size_t len, size_t *count) {
  size_t c = 0;
  for (size_t i = 0; i < len; i += strlen(&buf[i]) + 1) c++;
  char **t = malloc((c + 1) * sizeof *t);
  if (!t) abort();
  c = 0;
  for (size_t i = 0; i < len; i += strlen(&buf[i]) + 1) t[c++] = &buf[i];
  t[c] = NULL;
  *count = c;
  return t;
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc;
  (void)argv;
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  /* A private, exactly-sized copy so ASan sees any read past the tokens. */
  char *buf = malloc(size + 1);
  if (!buf) abort();
  if (size) memcpy(buf, data, size);
  buf[size] = '\0';
  size_t count = 0;
  char **t = split(buf, size, &count);
  if (config_parse(t, count, &cfg, &err) == 0) check_config(t, count);
  else check_refusal(count);
  free(t);
  free(buf);
  return 0;
}
#endif
