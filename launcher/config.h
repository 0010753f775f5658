/* config.h — the launcher's whole input: one frame of NUL-separated tokens (or argv).
 * The launcher knows verbs, not policy: every op below is a mechanism TypeScript asks for. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Hard caps: a frame larger than this, or with more tokens, is refused (fail closed). */
#define FRAME_MAGIC "SBX1"
#define FRAME_MAX (8u << 20)
#define TOKENS_MAX (1u << 17)
#define MOUNTS_MAX 256
#define RLIMITS_MAX 16
#define BPF_MAX_INSNS 4096 /* BPF_MAXINSNS */
#define USERNS_LIMITS_MAX 16
#define SECCOMP_ANSWERS_MAX 64
#define FILE_CONTENT_MAX (64u << 10)

enum seccomp_notify_mode { SECCOMP_NOTIFY_NONE, SECCOMP_NOTIFY_KILL, SECCOMP_NOTIFY_ERRNO };

enum mount_kind {
  M_RO_BIND, M_BIND, M_RO_BIND_TRY, M_TMPFS, M_PROC, M_DEV, M_SYMLINK, M_DIR,
  M_OVERLAY, M_REMOUNT_RO, M_MASK, M_COPY_TRY, M_FILE, M_CGROUPFS
};

struct mount_op {
  enum mount_kind kind;
  int op;          /* op index, for error reports */
  const char *src; /* bind source (host path), symlink target, or a file's content */
  const char *dst; /* path inside the new root */
  uint64_t size;   /* tmpfs size in bytes, 0 = kernel default */
  unsigned mode;   /* tmpfs / dir mode */
  const char *upper, *work; /* overlay: kept-changes dirs (host paths), or NULL = private tmpfs */
  uint64_t pty_max;         /* dev: the devpts instance's max= (pty-max), 0 = kernel default */
  /* Binds and overlay layers (idmap.c). idmap: id-map it (the *-idmap ops); cleared by the
   * monitor when the filesystem refused and the idmap op allows falling back. tree_fd: the
   * source (an overlay's lower layer) as a detached mount the monitor cloned, or -1 (init opens
   * it). upper_tree_fd: an id-mapped overlay's upper and work dirs' parent, or -1. */
  bool idmap;
  int tree_fd, upper_tree_fd;
};

/* A host directory made before the sandbox starts (an overlay's upper or work dir): created when
 * missing, owned by the ids the sandbox maps to, with this mode; an existing one must be a real
 * directory (launcher/hostpath.c). */
struct host_dir {
  const char *path;
  unsigned mode;
  int op;
};

/* Landlock: handled rights (decimal bitmasks computed by TypeScript for the kernel's ABI) and
 * path rules, applied by the target after no_new_privs (launcher/landlock.c). */
#define LANDLOCK_RULES_MAX 1024
struct landlock_rule {
  const char *path; /* inside the final root (or the host's, without a mount namespace) */
  uint64_t rights;
  bool optional;    /* landlock-path-try: a missing path is skipped */
  int op;
};

struct rlimit_op {
  int resource;
  uint64_t soft, hard; /* UINT64_MAX = RLIM_INFINITY */
};

struct cgroup_limits {
  uint64_t memory_max, pids_max, cpu_quota, cpu_period; /* 0 = not limited */
  int memory_op, pids_op, cpu_op;
};

#define CGROUP_V1_MAX 8 /* also the most cgroup dirs a run has (v2: one) */

/* userns-limit: /proc/sys/user/max_<name> of the sandbox's user namespace (budget.c). */
struct userns_limit {
  const char *name; /* one of the names config.c accepts */
  uint64_t value;
  int op;
};

struct seccomp_answer {
  uint32_t nr, arg0;
  bool any_arg0;
  int err;
};

struct config {
  const char *status_path;
  unsigned long ns_flags; /* CLONE_NEW* */
  bool uid_map_set, gid_map_set;
  uint32_t uid_inside, uid_outside, gid_inside, gid_outside;
  bool run_uid_set, run_gid_set;
  uint32_t run_uid, run_gid; /* ids the target runs as (inside) */
  const char *hostname;
  bool loopback;
  bool newroot;
  size_t n_mounts;
  size_t n_host_dirs;
  bool landlock;
  uint64_t landlock_fs, landlock_net, landlock_scope;
  size_t n_landlock_rules;
  const char *cwd;
  uint64_t timeout_ms; /* 0 = none */
  /* cgroup: a v2 parent dir, or one parent dir per v1 controller hierarchy; the launcher
   * creates cgroup_name under each and removes it after the run. */
  const char *cgroup_name;
  const char *cgroup_v2_parent;
  int cgroup_v2_op;
  struct {
    const char *controller;
    const char *parent;
    int op;
  } cgroup_v1[CGROUP_V1_MAX];
  size_t n_cgroup_v1;
  struct cgroup_limits limits;
  /* Set by the monitor: v1 joins after clone, so init creates its cgroup namespace itself
   * once it is inside its cgroup (else the sandbox would see the path of the launcher's). */
  bool late_cgroupns;
  struct rlimit_op rlimits[RLIMITS_MAX];
  size_t n_rlimits;
  size_t bpf_len;
  /* The filter returns USER_NOTIF for refusals; the monitor names the syscall, then kills the
   * sandbox (SECCOMP_NOTIFY_KILL) or answers EPERM (SECCOMP_NOTIFY_ERRNO). */
  int seccomp_notify;
  /* seccomp-errno: refusals of the filter's argument checks, answered with their own errno in
   * either mode (they never kill): by syscall number and, when any_arg0 is false, the low 32
   * bits of args[0]; an exact match wins over an any_arg0 entry. */
  size_t n_seccomp_answers;
  const char *exec;
  char **argv; /* NULL-terminated, into the token storage */
  char **envp;
  size_t argc, envc;
  int exec_op;
  /* host-ids: one host uid/gid pair allocated per run from these ranges (ids.c); with a user
   * namespace it is what uid/gid map to, without one what the target runs as. 0 = not set. */
  uint32_t host_uid_start, host_gid_start, host_ids_count;
  int host_ids_op;
  struct userns_limit userns_limits[USERNS_LIMITS_MAX];
  size_t n_userns_limits;
  uint64_t pty_max; /* pty-max: the devpts instance's max=, 0 = not set */
  /* idmap: the *-idmap mounts show the launcher's own euid/egid (the caller) as the ids the
   * sandbox's uid/gid map to; idmap_required: a filesystem that refuses fails the run instead
   * of falling back (idmap.c). */
  bool idmap_set, idmap_required;
  int idmap_op;
  /* tty COLS ROWS: the target runs on a pseudo-terminal of the devpts instance under tty_dev
   * (the dst of the dev mount); tty-control PATH: the monitor's control FIFO (tty.c). */
  bool tty;
  unsigned short tty_cols, tty_rows;
  const char *tty_dev;
  const char *tty_control;
  int tty_op, tty_control_op;
  /* egress: init listens on 127.0.0.1:egress_port inside the network namespace and the monitor
   * relays each connection to the unix socket egress_path on the host (egress.c). NULL: none. */
  const char *egress_path;
  uint16_t egress_port;
  int egress_op;
  /* stdio-fifos: the target's stdin/stdout/stderr are FIFOs the monitor makes in this dir (the
   * run's private state dir) and sends to init with the per-run request (request.c); NULL = the
   * launcher's own stdio. stdin_fifo false: stdin is an empty pipe. */
  const char *stdio_dir;
  bool stdin_fifo;
  int stdio_op;
  /* Set by warm.c before a prepared run's clone: init waits for the request (which brings the
   * stdio) although the static config names no stdio dir. */
  bool await_request;
  /* The tables (80 KiB) come last: config_parse() zeroes only what is above them, and each
   * entry below its count is set whole when added. A parse then writes only the pages it
   * fills: a prepared run's monitor parses each request into fresh memory, where every page
   * written costs a page fault (11 us each on a paravirtualised VM). */
  struct mount_op mounts[MOUNTS_MAX];          /* n_mounts */
  struct host_dir host_dirs[MOUNTS_MAX];       /* n_host_dirs */
  struct landlock_rule landlock_rules[LANDLOCK_RULES_MAX]; /* n_landlock_rules */
  unsigned char bpf[BPF_MAX_INSNS * 8];        /* bpf_len */
  struct seccomp_answer seccomp_answers[SECCOMP_ANSWERS_MAX]; /* n_seccomp_answers */
};

struct sbx_err;

/* Reads one frame from fd into static storage and returns its tokens (NULL-terminated
 * array) and their count; -1 with a refusal in *e (util.h) on a malformed frame. */
int frame_read(int fd, char ***tokens, size_t *count, struct sbx_err *e);
/* The same from the start of a file (pread: processes sharing its open file description do not
 * move each other's offset), e.g. the memfd frame_save() wrote. */
int frame_pread(int fd, char ***tokens, size_t *count, struct sbx_err *e);
/* Writes the last frame read, header and all, to fd (0, or -1 with errno). */
int frame_save(int fd);

/* Parses tokens into cfg; -1 with a refusal in *e naming the op and why. argv/envp point into
 * arrays of config.c's that the next parse replaces. */
int config_parse(char **tokens, size_t count, struct config *cfg, struct sbx_err *e);

/* The path an op refers to (for error messages), or NULL. */
const char *config_op_path(const struct config *cfg, int op);
/* The path an error was about, for its message: the one the failure recorded; for a bind, its
 * source (the host path that could not be opened or attached); else what the op names. */
const char *config_err_path(const struct config *cfg, const struct sbx_err *e);
