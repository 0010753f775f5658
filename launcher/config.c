/* config.c — frame reading and op parsing. Validate at the boundary, then trust:
 * unknown ops, wrong arity, repeated single-use ops, bad numbers and oversized input are all
 * refused here with exit 125 — an ignored restriction would be an escape. */
#include "config.h"

#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>

#include "buf.h"
#include "util.h"

/* On the heap, sized to the frame and its tokens (buf.h says why). */
static char *frame_buf;
static size_t frame_cap;
static uint32_t frame_len; /* of the last frame read */
static char **token_ptrs;
static size_t token_cap;
static char **argv_store, **envp_store;
static size_t argv_cap, envp_cap;

/* op index -> path, for messages; entries [0, op_paths_len) belong to the last parse */
static const char **op_paths;
static size_t op_paths_len, op_paths_cap;

/* Refusals whose reason carries a number are formatted here (one refusal per parse). */
static char why_buf[96];

/* Reads one frame from fd into frame_buf; at >= 0: with pread from that offset (a file many
 * processes read through one open file description), else with read. */
static int frame_read_at(int fd, off_t at, char ***tokens, size_t *count, struct sbx_err *e) {
  unsigned char header[8];
  ssize_t n = read_full_at(fd, header, sizeof header, at);
  if (n != (ssize_t)sizeof header || memcmp(header, FRAME_MAGIC, 4) != 0)
    return fail_input(e, "malformed frame: expected magic \"" FRAME_MAGIC "\" and a length",
                      NULL, -1);
  uint32_t len = (uint32_t)header[4] | (uint32_t)header[5] << 8 | (uint32_t)header[6] << 16 |
                 (uint32_t)header[7] << 24;
  if (len == 0 || len > FRAME_MAX) {
    snprintf(why_buf, sizeof why_buf, "oversized frame: %u bytes (max %u)", len, FRAME_MAX);
    return fail_input(e, why_buf, NULL, -1);
  }
  if (buf_reserve(&frame_buf, &frame_cap, len, 1) < 0) return fail(e, STEP_PARSE, -1);
  /* Read exactly the frame: what follows on stdin belongs to the target. */
  n = read_full_at(fd, frame_buf, len, at < 0 ? at : at + (off_t)sizeof header);
  if (n != (ssize_t)len) return fail_input(e, "malformed frame: truncated", NULL, -1);
  if (frame_buf[len - 1] != '\0')
    return fail_input(e, "malformed frame: last token not terminated", NULL, -1);
  frame_len = len;
  ssize_t c = buf_split(frame_buf, len, TOKENS_MAX, &token_ptrs, &token_cap);
  if (c < 0 && errno == E2BIG) {
    snprintf(why_buf, sizeof why_buf, "oversized frame: more than %u tokens", TOKENS_MAX);
    return fail_input(e, why_buf, NULL, -1);
  }
  if (c < 0) return fail(e, STEP_PARSE, -1);
  *tokens = token_ptrs;
  *count = (size_t)c;
  return 0;
}

int frame_read(int fd, char ***tokens, size_t *count, struct sbx_err *e) {
  return frame_read_at(fd, -1, tokens, count, e);
}

int frame_pread(int fd, char ***tokens, size_t *count, struct sbx_err *e) {
  return frame_read_at(fd, 0, tokens, count, e);
}

int frame_save(int fd) {
  unsigned char header[8];
  memcpy(header, FRAME_MAGIC, 4);
  for (int i = 0; i < 4; i++) header[4 + i] = (unsigned char)(frame_len >> (8 * i));
  if (write_full(fd, header, sizeof header) < 0) return -1;
  return write_full(fd, frame_buf, frame_len);
}

struct ns_name {
  const char *name;
  unsigned long flag;
};
static const struct ns_name NS_NAMES[] = {
    {"user", CLONE_NEWUSER}, {"pid", CLONE_NEWPID}, {"mount", CLONE_NEWNS},
    {"uts", CLONE_NEWUTS},   {"ipc", CLONE_NEWIPC}, {"net", CLONE_NEWNET},
    {"cgroup", CLONE_NEWCGROUP},
};

struct rlimit_name {
  const char *name;
  int resource;
};
static const struct rlimit_name RLIMIT_NAMES[] = {
    {"as", RLIMIT_AS},       {"core", RLIMIT_CORE},       {"cpu", RLIMIT_CPU},
    {"data", RLIMIT_DATA},   {"fsize", RLIMIT_FSIZE},     {"memlock", RLIMIT_MEMLOCK},
    {"nofile", RLIMIT_NOFILE}, {"nproc", RLIMIT_NPROC},   {"stack", RLIMIT_STACK},
    {"msgqueue", RLIMIT_MSGQUEUE}, {"sigpending", RLIMIT_SIGPENDING},
};

/* Paths the launcher handles are absolute, without "." or ".." components. */
static bool path_ok(const char *p) {
  if (p[0] != '/') return false;
  size_t len = strlen(p);
  if (len >= 4096) return false;
  for (const char *s = p; *s;) {
    while (*s == '/') s++;
    const char *e = s;
    while (*e && *e != '/') e++;
    size_t n = (size_t)(e - s);
    if ((n == 1 && s[0] == '.') || (n == 2 && s[0] == '.' && s[1] == '.')) return false;
    s = e;
  }
  return true;
}

static bool parse_limit(const char *s, uint64_t *out) {
  if (strcmp(s, "inf") == 0) {
    *out = UINT64_MAX;
    return true;
  }
  return parse_u64(s, out) && *out != UINT64_MAX;
}

enum op_id {
  OP_STATUS, OP_UNSHARE, OP_UID_MAP, OP_GID_MAP, OP_UID, OP_GID, OP_HOSTNAME, OP_LOOPBACK,
  OP_NEWROOT, OP_RO_BIND, OP_BIND, OP_RO_BIND_TRY, OP_TMPFS, OP_PROC, OP_DEV, OP_SYMLINK,
  OP_DIR, OP_CHDIR, OP_TIMEOUT, OP_RLIMIT, OP_SECCOMP, OP_SECCOMP_NOTIFY, OP_ENV, OP_ARG, OP_EXEC,
  OP_CGROUP_NAME, OP_CGROUP_V2, OP_CGROUP_V1, OP_MEMORY_MAX, OP_PIDS_MAX, OP_CPU_MAX,
  OP_OVERLAY, OP_OVERLAY_KEEP, OP_REMOUNT_RO, OP_MASK, OP_LANDLOCK, OP_LANDLOCK_PATH,
  OP_LANDLOCK_PATH_TRY,
  OP_COPY_TRY,
  OP_HOST_DIR,
  OP_HOST_IDS, OP_USERNS_LIMIT, OP_PTY_MAX,
  OP_SECCOMP_ERRNO, OP_FILE, OP_CGROUPFS,
  OP_IDMAP, OP_BIND_IDMAP, OP_RO_BIND_IDMAP, OP_OVERLAY_IDMAP, OP_OVERLAY_KEEP_IDMAP,
  OP_TTY, OP_TTY_CONTROL,
  OP_EGRESS,
  OP_STDIO_FIFOS,
  OP_COUNT
};

struct op_spec {
  const char *name;
  unsigned arity;
  bool single; /* may appear at most once */
};

static const struct op_spec OPS[OP_COUNT] = {
    [OP_STATUS] = {"status", 1, true},       [OP_UNSHARE] = {"unshare", 1, false},
    [OP_UID_MAP] = {"uid-map", 2, true},     [OP_GID_MAP] = {"gid-map", 2, true},
    [OP_UID] = {"uid", 1, true},             [OP_GID] = {"gid", 1, true},
    [OP_HOSTNAME] = {"hostname", 1, true},   [OP_LOOPBACK] = {"loopback", 0, true},
    [OP_NEWROOT] = {"newroot", 0, true},     [OP_RO_BIND] = {"ro-bind", 2, false},
    [OP_BIND] = {"bind", 2, false},          [OP_RO_BIND_TRY] = {"ro-bind-try", 2, false},
    [OP_TMPFS] = {"tmpfs", 3, false},        [OP_PROC] = {"proc", 1, false},
    [OP_DEV] = {"dev", 1, false},            [OP_SYMLINK] = {"symlink", 2, false},
    [OP_DIR] = {"dir", 2, false},            [OP_CHDIR] = {"chdir", 1, true},
    [OP_TIMEOUT] = {"timeout", 1, true},     [OP_RLIMIT] = {"rlimit", 3, false},
    [OP_SECCOMP] = {"seccomp", 1, true},     [OP_SECCOMP_NOTIFY] = {"seccomp-notify", 1, true},
    [OP_ENV] = {"env", 1, false},
    [OP_ARG] = {"arg", 1, false},            [OP_EXEC] = {"exec", 1, true},
    [OP_CGROUP_NAME] = {"cgroup-name", 1, true}, [OP_CGROUP_V2] = {"cgroup-v2", 1, true},
    [OP_CGROUP_V1] = {"cgroup-v1", 2, false}, [OP_MEMORY_MAX] = {"memory-max", 1, true},
    [OP_PIDS_MAX] = {"pids-max", 1, true},
    [OP_COPY_TRY] = {"copy-try", 2, false},   [OP_CPU_MAX] = {"cpu-max", 2, true},
    [OP_OVERLAY] = {"overlay", 3, false},     [OP_OVERLAY_KEEP] = {"overlay-keep", 4, false},
    [OP_REMOUNT_RO] = {"remount-ro", 1, false}, [OP_MASK] = {"mask", 1, false},
    [OP_LANDLOCK] = {"landlock", 3, true},   [OP_LANDLOCK_PATH] = {"landlock-path", 2, false},
    [OP_LANDLOCK_PATH_TRY] = {"landlock-path-try", 2, false},
    [OP_HOST_DIR] = {"host-dir", 2, false},
    [OP_HOST_IDS] = {"host-ids", 3, true},   [OP_USERNS_LIMIT] = {"userns-limit", 2, false},
    [OP_PTY_MAX] = {"pty-max", 1, true},
    [OP_SECCOMP_ERRNO] = {"seccomp-errno", 3, false}, [OP_FILE] = {"file", 2, false},
    [OP_CGROUPFS] = {"cgroupfs", 1, true},
    [OP_IDMAP] = {"idmap", 1, true},          [OP_BIND_IDMAP] = {"bind-idmap", 2, false},
    [OP_RO_BIND_IDMAP] = {"ro-bind-idmap", 2, false},
    [OP_OVERLAY_IDMAP] = {"overlay-idmap", 3, false},
    [OP_OVERLAY_KEEP_IDMAP] = {"overlay-keep-idmap", 4, false},
    [OP_TTY] = {"tty", 2, true},              [OP_TTY_CONTROL] = {"tty-control", 1, true},
    [OP_EGRESS] = {"egress", 2, true},
    [OP_STDIO_FIFOS] = {"stdio-fifos", 2, true},
};

/* The budgets a user namespace has in /proc/sys/user (max_<name>). */
static const char *const USERNS_LIMIT_NAMES[] = {
    "inotify_instances", "inotify_watches",  "fanotify_groups",  "fanotify_marks",
    "user_namespaces",   "pid_namespaces",   "mnt_namespaces",   "net_namespaces",
    "uts_namespaces",    "ipc_namespaces",   "cgroup_namespaces", "time_namespaces",
};

static int add_mount(struct config *cfg, enum mount_kind kind, int op, const char *src,
                     const char *dst, const char *name, struct sbx_err *e) {
  if (cfg->n_mounts == MOUNTS_MAX) return fail_input(e, "too many mounts", name, op);
  if (!path_ok(dst))
    return fail_input(e, "destination must be an absolute path without . or ..", name, op);
  if (kind == M_FILE && strlen(src) > FILE_CONTENT_MAX)
    return fail_input(e, "file content too large", name, op);
  if (src && kind != M_SYMLINK && kind != M_FILE && !path_ok(src))
    return fail_input(e, "source must be an absolute path without . or ..", name, op);
  if (kind == M_SYMLINK && (!src[0] || strlen(src) >= 4096))
    return fail_input(e, "bad symlink target", name, op);
  struct mount_op *m = &cfg->mounts[cfg->n_mounts++];
  memset(m, 0, sizeof *m);
  m->kind = kind;
  m->op = op;
  m->src = src;
  m->dst = dst;
  m->tree_fd = m->upper_tree_fd = -1;
  op_paths[op] = dst;
  return 0;
}

/* tty against the rest: its pseudo-terminal comes from the devpts instance of a dev mount (the
 * first), never from the host's. */
static int check_tty_ops(struct config *cfg, int op, struct sbx_err *e) {
  if (cfg->tty_control && !cfg->tty) return fail_input(e, "tty-control needs", "tty", op);
  if (!cfg->tty) return 0;
  for (size_t k = 0; k < cfg->n_mounts && !cfg->tty_dev; k++)
    if (cfg->mounts[k].kind == M_DEV) cfg->tty_dev = cfg->mounts[k].dst;
  if (!cfg->tty_dev) return fail_input(e, "tty needs", "dev", op);
  op_paths[cfg->tty_op] = cfg->tty_dev;
  return 0;
}

/* host-ids, userns-limit and pty-max against the rest of the config. With host-ids the maps are
 * the launcher's: the inside ids are those of uid/gid, the outside ones allocated (ids.c). */
static int check_identity_ops(struct config *cfg, int op, struct sbx_err *e) {
  bool userns = cfg->ns_flags & CLONE_NEWUSER;
  if (cfg->n_userns_limits && !userns) return fail_input(e, "userns-limit needs", "unshare user", op);
  if (cfg->pty_max) {
    bool dev = false;
    for (size_t k = 0; k < cfg->n_mounts; k++)
      if (cfg->mounts[k].kind == M_DEV) {
        cfg->mounts[k].pty_max = cfg->pty_max;
        dev = true;
      }
    if (!dev) return fail_input(e, "pty-max needs", "dev", op);
  }
  for (size_t k = 0; k < cfg->n_mounts; k++)
    if (cfg->mounts[k].idmap && !cfg->idmap_set) return fail_input(e, "*-idmap mounts need", "idmap", op);
  if (cfg->idmap_set && !userns) return fail_input(e, "idmap needs", "unshare user", op);
  if (!cfg->host_ids_count) {
    if (cfg->idmap_set && (!cfg->uid_map_set || !cfg->gid_map_set))
      return fail_input(e, "idmap needs", "host-ids, or uid-map and gid-map", op);
    return 0;
  }
  if (cfg->uid_map_set || cfg->gid_map_set)
    return fail_input(e, "host-ids replaces", "uid-map and gid-map", op);
  if (!userns) {
    if (cfg->run_uid_set || cfg->run_gid_set)
      return fail_input(e, "without a user namespace host-ids replaces", "uid and gid", op);
    return 0;
  }
  if (!cfg->run_uid_set || !cfg->run_gid_set)
    return fail_input(e, "host-ids with a user namespace needs", "uid and gid", op);
  cfg->uid_map_set = cfg->gid_map_set = true;
  cfg->uid_inside = cfg->run_uid;
  cfg->gid_inside = cfg->run_gid;
  return 0;
}

int config_parse(char **t, size_t count, struct config *cfg, struct sbx_err *e) {
  /* The launcher's own argv is not capped by frame_read: the same bound applies to it. */
  if (count > TOKENS_MAX) {
    snprintf(why_buf, sizeof why_buf, "too many tokens: %zu (max %u)", count, TOKENS_MAX);
    return fail_input(e, why_buf, NULL, -1);
  }
  /* Room for every op's path (every op index is below count), with an earlier parse's
   * forgotten, and for argv and envp (at most one entry per token, the exec's name, and NULL):
   * a parse that follows another (a warm run's request) replaces its arrays. */
  if (buf_reserve(&op_paths, &op_paths_cap, count, sizeof op_paths[0]) < 0 ||
      buf_reserve(&argv_store, &argv_cap, count + 2, sizeof argv_store[0]) < 0 ||
      buf_reserve(&envp_store, &envp_cap, count + 1, sizeof envp_store[0]) < 0)
    return fail(e, STEP_PARSE, -1);
  memset(op_paths, 0, count * sizeof op_paths[0]);
  op_paths_len = count;
  memset(cfg, 0, offsetof(struct config, mounts)); /* the tables: see struct config */
  cfg->exec_op = -1;
  bool seen[OP_COUNT] = {0};
  size_t i = 0;
  int op = 0;
  for (; i < count; op++) {
    const char *name = t[i];
    enum op_id id = OP_COUNT;
    for (int k = 0; k < OP_COUNT; k++)
      if (strcmp(OPS[k].name, name) == 0) id = (enum op_id)k;
    if (id == OP_COUNT) return fail_input(e, "unknown op", name, op);
    if (OPS[id].single && seen[id]) return fail_input(e, "repeated single-use op", name, op);
    seen[id] = true;
    if (OPS[id].arity > 0 && i + OPS[id].arity >= count)
      return fail_input(e, "missing arguments for", name, op);
    char *a = OPS[id].arity > 0 ? t[i + 1] : NULL;
    char *b = OPS[id].arity > 1 ? t[i + 2] : NULL;
    char *c = OPS[id].arity > 2 ? t[i + 3] : NULL;
    char *d = OPS[id].arity > 3 ? t[i + 4] : NULL;
    i += 1 + OPS[id].arity;
    uint64_t v1, v2;
    switch (id) {
    case OP_STATUS:
      if (!path_ok(a)) return fail_input(e, "status path must be absolute", name, op);
      cfg->status_path = a;
      break;
    case OP_UNSHARE: {
      unsigned long flag = 0;
      for (size_t k = 0; k < sizeof NS_NAMES / sizeof NS_NAMES[0]; k++)
        if (strcmp(NS_NAMES[k].name, a) == 0) flag = NS_NAMES[k].flag;
      if (!flag)
        return fail_input(e, "unknown namespace (user pid mount uts ipc net cgroup)", name, op);
      if (cfg->ns_flags & flag) return fail_input(e, "repeated namespace", name, op);
      cfg->ns_flags |= flag;
      break;
    }
    case OP_UID_MAP:
    case OP_GID_MAP:
      if (!parse_u64(a, &v1) || !parse_u64(b, &v2) || v1 >= UINT32_MAX || v2 >= UINT32_MAX)
        return fail_input(e, "bad id", name, op);
      if (id == OP_UID_MAP) {
        cfg->uid_map_set = true;
        cfg->uid_inside = (uint32_t)v1;
        cfg->uid_outside = (uint32_t)v2;
      } else {
        cfg->gid_map_set = true;
        cfg->gid_inside = (uint32_t)v1;
        cfg->gid_outside = (uint32_t)v2;
      }
      break;
    case OP_UID:
    case OP_GID:
      if (!parse_u64(a, &v1) || v1 >= UINT32_MAX) return fail_input(e, "bad id", name, op);
      if (id == OP_UID) {
        cfg->run_uid_set = true;
        cfg->run_uid = (uint32_t)v1;
      } else {
        cfg->run_gid_set = true;
        cfg->run_gid = (uint32_t)v1;
      }
      break;
    case OP_HOSTNAME:
      if (!a[0] || strlen(a) > 64) return fail_input(e, "hostname must be 1-64 bytes", name, op);
      cfg->hostname = a;
      break;
    case OP_LOOPBACK: cfg->loopback = true; break;
    case OP_NEWROOT: cfg->newroot = true; break;
    case OP_RO_BIND:
    case OP_BIND:
    case OP_RO_BIND_TRY:
    case OP_RO_BIND_IDMAP:
    case OP_BIND_IDMAP: {
      enum mount_kind k = id == OP_RO_BIND || id == OP_RO_BIND_IDMAP ? M_RO_BIND
                          : id == OP_BIND || id == OP_BIND_IDMAP   ? M_BIND
                                                                   : M_RO_BIND_TRY;
      if (add_mount(cfg, k, op, a, b, name, e) < 0) return -1;
      cfg->mounts[cfg->n_mounts - 1].idmap = id == OP_RO_BIND_IDMAP || id == OP_BIND_IDMAP;
      break;
    }
    case OP_TMPFS: {
      unsigned mode;
      if (!parse_u64(b, &v1)) return fail_input(e, "bad tmpfs size", name, op);
      if (!parse_octal(c, &mode) || mode > 07777) return fail_input(e, "bad tmpfs mode", name, op);
      if (add_mount(cfg, M_TMPFS, op, NULL, a, name, e) < 0) return -1;
      cfg->mounts[cfg->n_mounts - 1].size = v1;
      cfg->mounts[cfg->n_mounts - 1].mode = mode;
      break;
    }
    case OP_PROC:
    case OP_DEV:
      if (add_mount(cfg, id == OP_PROC ? M_PROC : M_DEV, op, NULL, a, name, e) < 0) return -1;
      break;
    case OP_SYMLINK:
      if (add_mount(cfg, M_SYMLINK, op, a, b, name, e) < 0) return -1;
      break;
    case OP_DIR: {
      unsigned mode;
      if (!parse_octal(b, &mode) || mode > 07777) return fail_input(e, "bad dir mode", name, op);
      if (add_mount(cfg, M_DIR, op, NULL, a, name, e) < 0) return -1;
      cfg->mounts[cfg->n_mounts - 1].mode = mode;
      break;
    }
    case OP_CHDIR:
      if (!path_ok(a)) return fail_input(e, "cwd must be an absolute path", name, op);
      cfg->cwd = a;
      op_paths[op] = a;
      break;
    case OP_TIMEOUT:
      if (!parse_u64(a, &v1) || v1 == 0 || v1 > 1000ull * 86400 * 365)
        return fail_input(e, "timeout must be 1..31536000000 ms", name, op);
      cfg->timeout_ms = v1;
      break;
    case OP_RLIMIT: {
      int res = -1;
      for (size_t k = 0; k < sizeof RLIMIT_NAMES / sizeof RLIMIT_NAMES[0]; k++)
        if (strcmp(RLIMIT_NAMES[k].name, a) == 0) res = RLIMIT_NAMES[k].resource;
      if (res < 0) return fail_input(e, "unknown rlimit resource", name, op);
      for (size_t k = 0; k < cfg->n_rlimits; k++)
        if (cfg->rlimits[k].resource == res)
          return fail_input(e, "repeated rlimit resource", name, op);
      if (!parse_limit(b, &v1) || !parse_limit(c, &v2) || v1 > v2)
        return fail_input(e, "rlimit values must be numbers or inf with soft <= hard", name, op);
      cfg->rlimits[cfg->n_rlimits++] = (struct rlimit_op){res, v1, v2};
      break;
    }
    case OP_SECCOMP: {
      size_t len = strlen(a);
      /* bubblewrap's rule: a BPF program is a whole number of 8-byte instructions. */
      if (len == 0 || len % 16 != 0 || len / 2 > sizeof cfg->bpf)
        return fail_input(e, "seccomp program must be 1..4096 instructions of 8 bytes, in hex",
                          name, op);
      if (hex_decode(a, cfg->bpf, sizeof cfg->bpf) < 0)
        return fail_input(e, "seccomp program is not lowercase hex", name, op);
      cfg->bpf_len = len / 2;
      break;
    }
    case OP_SECCOMP_NOTIFY:
      if (strcmp(a, "kill") == 0) cfg->seccomp_notify = SECCOMP_NOTIFY_KILL;
      else if (strcmp(a, "errno") == 0) cfg->seccomp_notify = SECCOMP_NOTIFY_ERRNO;
      else return fail_input(e, "seccomp-notify action must be kill or errno", name, op);
      break;
    case OP_ENV:
      if (!strchr(a, '=') || a[0] == '=') return fail_input(e, "env must be KEY=VALUE", name, op);
      envp_store[cfg->envc++] = a;
      break;
    case OP_ARG: argv_store[cfg->argc++] = a; break;
    case OP_OVERLAY:
    case OP_OVERLAY_IDMAP:
      if (!parse_u64(c, &v1)) return fail_input(e, "bad overlay tmpfs size", name, op);
      if (add_mount(cfg, M_OVERLAY, op, a, b, name, e) < 0) return -1;
      cfg->mounts[cfg->n_mounts - 1].size = v1;
      cfg->mounts[cfg->n_mounts - 1].idmap = id == OP_OVERLAY_IDMAP;
      break;
    case OP_OVERLAY_KEEP:
    case OP_OVERLAY_KEEP_IDMAP:
      if (!path_ok(b) || !path_ok(c))
        return fail_input(e, "overlay upper and work dirs must be absolute paths", name, op);
      if (add_mount(cfg, M_OVERLAY, op, a, d, name, e) < 0) return -1;
      cfg->mounts[cfg->n_mounts - 1].upper = b;
      cfg->mounts[cfg->n_mounts - 1].work = c;
      cfg->mounts[cfg->n_mounts - 1].idmap = id == OP_OVERLAY_KEEP_IDMAP;
      break;
    case OP_IDMAP: /* try | required: what a filesystem that refuses id-mapping does (idmap.c) */
      if (strcmp(a, "try") != 0 && strcmp(a, "required") != 0)
        return fail_input(e, "idmap must be try or required", name, op);
      cfg->idmap_set = true;
      cfg->idmap_required = strcmp(a, "required") == 0;
      cfg->idmap_op = op;
      break;
    case OP_REMOUNT_RO:
    case OP_MASK:
      if (add_mount(cfg, id == OP_MASK ? M_MASK : M_REMOUNT_RO, op, NULL, a, name, e) < 0) return -1;
      break;
    case OP_LANDLOCK:
      if (!parse_u64(a, &cfg->landlock_fs) || !parse_u64(b, &cfg->landlock_net) ||
          !parse_u64(c, &cfg->landlock_scope) ||
          !(cfg->landlock_fs | cfg->landlock_net | cfg->landlock_scope))
        return fail_input(e, "landlock needs FS NET SCOPE bitmasks, not all 0", name, op);
      cfg->landlock = true;
      break;
    case OP_LANDLOCK_PATH:
    case OP_LANDLOCK_PATH_TRY: {
      if (cfg->n_landlock_rules == LANDLOCK_RULES_MAX)
        return fail_input(e, "too many landlock rules", name, op);
      if (!path_ok(a))
        return fail_input(e, "landlock path must be absolute, without . or ..", name, op);
      if (!parse_u64(b, &v1) || v1 == 0)
        return fail_input(e, "landlock rights must be a non-zero bitmask", name, op);
      struct landlock_rule *r = &cfg->landlock_rules[cfg->n_landlock_rules++];
      *r = (struct landlock_rule){a, v1, id == OP_LANDLOCK_PATH_TRY, op};
      op_paths[op] = a;
      break;
    }
    case OP_EXEC:
      if (!a[0]) return fail_input(e, "empty program", name, op);
      cfg->exec = a;
      cfg->exec_op = op;
      op_paths[op] = a;
      break;
    case OP_CGROUP_NAME:
      if (!a[0] || strlen(a) > 128 || strspn(a, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-") != strlen(a) ||
          a[0] == '.')
        return fail_input(e, "cgroup name must be 1-128 of A-Z a-z 0-9 _ . - (not starting with .)",
                          name, op);
      cfg->cgroup_name = a;
      break;
    case OP_CGROUP_V2:
      if (!path_ok(a)) return fail_input(e, "cgroup parent must be an absolute path", name, op);
      cfg->cgroup_v2_parent = a;
      cfg->cgroup_v2_op = op;
      op_paths[op] = a;
      break;
    case OP_CGROUP_V1: {
      static const char *const ctls[] = {"memory", "pids", "cpu", "cpuacct"};
      bool known = false;
      for (size_t k = 0; k < sizeof ctls / sizeof ctls[0]; k++) known |= strcmp(ctls[k], a) == 0;
      if (!known)
        return fail_input(e, "cgroup-v1 controller must be memory, pids, cpu or cpuacct", name, op);
      for (size_t k = 0; k < cfg->n_cgroup_v1; k++)
        if (strcmp(cfg->cgroup_v1[k].controller, a) == 0)
          return fail_input(e, "repeated cgroup-v1 controller", name, op);
      if (!path_ok(b)) return fail_input(e, "cgroup parent must be an absolute path", name, op);
      if (cfg->n_cgroup_v1 == CGROUP_V1_MAX)
        return fail_input(e, "too many cgroup-v1 hierarchies", name, op);
      cfg->cgroup_v1[cfg->n_cgroup_v1].controller = a;
      cfg->cgroup_v1[cfg->n_cgroup_v1].parent = b;
      cfg->cgroup_v1[cfg->n_cgroup_v1].op = op;
      cfg->n_cgroup_v1++;
      op_paths[op] = b;
      break;
    }
    case OP_MEMORY_MAX:
      if (!parse_u64(a, &v1) || v1 < 4096)
        return fail_input(e, "memory-max must be >= 4096 bytes", name, op);
      cfg->limits.memory_max = v1;
      cfg->limits.memory_op = op;
      break;
    case OP_PIDS_MAX:
      if (!parse_u64(a, &v1) || v1 == 0 || v1 > 4194304)
        return fail_input(e, "pids-max must be 1..4194304", name, op);
      cfg->limits.pids_max = v1;
      cfg->limits.pids_op = op;
      break;
    case OP_CPU_MAX:
      /* cgroup bounds: period 1 ms..1 s, quota >= 1 ms */
      if (!parse_u64(a, &v1) || !parse_u64(b, &v2) || v1 < 1000 || v2 < 1000 || v2 > 1000000 ||
          v1 > 1000000ull * 1000000)
        return fail_input(e, "cpu-max needs quota >= 1000 us and period 1000..1000000 us",
                          name, op);
      cfg->limits.cpu_quota = v1;
      cfg->limits.cpu_period = v2;
      cfg->limits.cpu_op = op;
      break;
    case OP_CGROUPFS: /* DST: the run's own cgroup (its cgroup namespace's root), read-only */
      if (!(cfg->ns_flags & CLONE_NEWCGROUP)) return fail_input(e, "cgroupfs needs", "unshare cgroup", op);
      if (add_mount(cfg, M_CGROUPFS, op, NULL, a, name, e) < 0) return -1;
      break;
    case OP_FILE: /* DST CONTENT: a read-only file made on the new root (synthesized /etc files) */
      if (add_mount(cfg, M_FILE, op, b, a, name, e) < 0) return -1;
      break;
    case OP_SECCOMP_ERRNO: {
      /* NR, ARG0 ("*" = any), ERRNO */
      uint64_t nr, arg0 = 0, err;
      bool any = strcmp(b, "*") == 0;
      if (!parse_u64(a, &nr) || nr > 0xffffffffu || (!any && (!parse_u64(b, &arg0) || arg0 > 0xffffffffu)) ||
          !parse_u64(c, &err) || err == 0 || err > 4095)
        return fail_input(e, "seccomp-errno needs NR, ARG0 or *, ERRNO 1..4095", name, op);
      if (cfg->n_seccomp_answers == SECCOMP_ANSWERS_MAX) return fail_input(e, "too many seccomp-errno", name, op);
      cfg->seccomp_answers[cfg->n_seccomp_answers++] =
          (struct seccomp_answer){(uint32_t)nr, (uint32_t)arg0, any, (int)err};
      break;
    }
    case OP_COPY_TRY:
      if (add_mount(cfg, M_COPY_TRY, op, a, b, name, e) < 0) return -1;
      break;
    case OP_HOST_DIR: {
      unsigned mode;
      if (!path_ok(a)) return fail_input(e, "host dir must be an absolute path without . or ..", name, op);
      if (!parse_octal(b, &mode) || mode > 0777) return fail_input(e, "bad host dir mode (0..777)", name, op);
      if (cfg->n_host_dirs == MOUNTS_MAX) return fail_input(e, "too many host dirs", name, op);
      cfg->host_dirs[cfg->n_host_dirs++] = (struct host_dir){a, mode, op};
      op_paths[op] = a;
      break;
    }
    case OP_HOST_IDS: {
      uint64_t n;
      /* Never id 0 (host root), never (uid_t)-1. */
      if (!parse_u64(a, &v1) || !parse_u64(b, &v2) || !parse_u64(c, &n) || v1 == 0 || v2 == 0 ||
          n == 0 || v1 + n > UINT32_MAX || v2 + n > UINT32_MAX)
        return fail_input(e, "host-ids needs UID_START GID_START COUNT, ids 1..4294967294", name, op);
      cfg->host_uid_start = (uint32_t)v1;
      cfg->host_gid_start = (uint32_t)v2;
      cfg->host_ids_count = (uint32_t)n;
      cfg->host_ids_op = op;
      break;
    }
    case OP_USERNS_LIMIT: {
      const char *known = NULL;
      for (size_t k = 0; k < sizeof USERNS_LIMIT_NAMES / sizeof USERNS_LIMIT_NAMES[0]; k++)
        if (strcmp(USERNS_LIMIT_NAMES[k], a) == 0) known = USERNS_LIMIT_NAMES[k];
      if (!known) return fail_input(e, "unknown userns-limit (a max_* entry of /proc/sys/user)", name, op);
      for (size_t k = 0; k < cfg->n_userns_limits; k++)
        if (cfg->userns_limits[k].name == known) return fail_input(e, "repeated userns-limit", name, op);
      if (!parse_u64(b, &v1) || v1 > INT32_MAX)
        return fail_input(e, "userns-limit must be 0..2147483647", name, op);
      cfg->userns_limits[cfg->n_userns_limits++] = (struct userns_limit){known, v1, op};
      break;
    }
    case OP_PTY_MAX:
      if (!parse_u64(a, &v1) || v1 == 0 || v1 > (1u << 20))
        return fail_input(e, "pty-max must be 1..1048576", name, op);
      cfg->pty_max = v1;
      break;
    case OP_TTY: /* COLS ROWS: the target on a pseudo-terminal of the sandbox's devpts */
      if (!parse_u64(a, &v1) || !parse_u64(b, &v2) || !v1 || !v2 || v1 > 65535 || v2 > 65535)
        return fail_input(e, "tty needs COLS and ROWS, 1..65535", name, op);
      cfg->tty = true;
      cfg->tty_cols = (unsigned short)v1;
      cfg->tty_rows = (unsigned short)v2;
      cfg->tty_op = op;
      break;
    case OP_TTY_CONTROL: /* PATH: a FIFO the monitor makes for window-size records */
      if (!path_ok(a)) return fail_input(e, "tty-control must be an absolute path without . or ..", name, op);
      cfg->tty_control = a;
      cfg->tty_control_op = op;
      op_paths[op] = a;
      break;
    case OP_EGRESS: /* PORT SOCKET-PATH: the listener inside, the proxy's socket outside */
      if (!parse_u64(a, &v1) || v1 == 0 || v1 > 65535) return fail_input(e, "egress port must be 1..65535", name, op);
      /* sockaddr_un.sun_path holds 108 bytes with the NUL. */
      if (!path_ok(b) || strlen(b) >= 108)
        return fail_input(e, "egress socket must be an absolute path under 108 bytes", name, op);
      cfg->egress_port = (uint16_t)v1;
      cfg->egress_path = b;
      cfg->egress_op = op;
      op_paths[op] = b;
      break;
    case OP_STDIO_FIFOS: /* DIR MODE: the run's stdio as FIFOs in DIR, sent to init (request.c) */
      if (!path_ok(a)) return fail_input(e, "stdio dir must be an absolute path without . or ..", name, op);
      if (strcmp(b, "fifo") != 0 && strcmp(b, "null") != 0)
        return fail_input(e, "stdin mode must be fifo or null", name, op);
      cfg->stdio_dir = a;
      cfg->stdin_fifo = strcmp(b, "fifo") == 0;
      cfg->stdio_op = op;
      op_paths[op] = a;
      break;
    case OP_COUNT: break;
    }
  }
  if (!cfg->exec) return fail_input(e, "missing required op", "exec", op);
  if (!cfg->status_path) return fail_input(e, "missing required op", "status", op);
  if (cfg->argc == 0) argv_store[cfg->argc++] = (char *)cfg->exec;
  argv_store[cfg->argc] = NULL;
  envp_store[cfg->envc] = NULL;
  cfg->argv = argv_store;
  cfg->envp = envp_store;
  if ((cfg->uid_map_set || cfg->gid_map_set) && !(cfg->ns_flags & CLONE_NEWUSER))
    return fail_input(e, "id maps need", "unshare user", op);
  if (cfg->n_mounts && !cfg->newroot) return fail_input(e, "mounts need", "newroot", op);
  if (cfg->n_host_dirs && !cfg->newroot) return fail_input(e, "host dirs need", "newroot", op);
  if (cfg->newroot && !(cfg->ns_flags & CLONE_NEWNS))
    return fail_input(e, "newroot needs", "unshare mount", op);
  if (cfg->hostname && !(cfg->ns_flags & CLONE_NEWUTS))
    return fail_input(e, "hostname needs", "unshare uts", op);
  if (cfg->loopback && !(cfg->ns_flags & CLONE_NEWNET))
    return fail_input(e, "loopback needs", "unshare net", op);
  /* The listener lives in the sandbox's own network namespace, on its loopback. */
  if (cfg->egress_path && !cfg->loopback) return fail_input(e, "egress needs", "loopback", op);
  if (cfg->seccomp_notify && !cfg->bpf_len)
    return fail_input(e, "seccomp-notify needs", "seccomp", op);
  for (size_t k = 0; k < cfg->n_landlock_rules; k++) {
    if (!cfg->landlock)
      return fail_input(e, "landlock rules need", "landlock", cfg->landlock_rules[k].op);
    if (cfg->landlock_rules[k].rights & ~cfg->landlock_fs)
      return fail_input(e, "landlock rule grants rights the ruleset does not handle",
                        "landlock-path",
                 cfg->landlock_rules[k].op);
  }
  if (cfg->cgroup_v2_parent && cfg->n_cgroup_v1)
    return fail_input(e, "cgroup v1 and v2 are exclusive", "cgroup-v2", op);
  bool have_cgroup = cfg->cgroup_v2_parent || cfg->n_cgroup_v1;
  if (have_cgroup != (cfg->cgroup_name != NULL))
    return fail_input(e, "a cgroup needs both a parent and", "cgroup-name", op);
  if ((cfg->limits.memory_max || cfg->limits.pids_max || cfg->limits.cpu_quota) && !have_cgroup)
    return fail_input(e, "cgroup limits need", "cgroup-v2 or cgroup-v1", op);
  if (check_tty_ops(cfg, op, e) < 0) return -1;
  return check_identity_ops(cfg, op, e);
}

const char *config_op_path(const struct config *cfg, int op) {
  (void)cfg;
  if (op < 0 || (size_t)op >= op_paths_len) return NULL;
  return op_paths[op];
}

const char *config_err_path(const struct config *cfg, const struct sbx_err *e) {
  if (e->path) return e->path;
  if (e->step == STEP_BIND)
    for (size_t i = 0; i < cfg->n_mounts; i++)
      if (cfg->mounts[i].op == e->op && cfg->mounts[i].src) return cfg->mounts[i].src;
  return config_op_path(cfg, e->op);
}
