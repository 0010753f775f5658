#!/usr/bin/env bash
# gen_corpus.sh — writes the seed corpus: corpus/frame/* (stdin frames: "SBX1", u32 LE length,
# NUL-terminated tokens) and corpus/argv/* (the same tokens, NUL-separated, as fuzz_argv reads
# them). Valid configs exercise every op; malformed ones cover each refusal in config.c.
# Also writes the reproducer crashes/argv/overflow-tokens-over-max (see README.md).
set -euo pipefail
cd "$(dirname "$0")"
rm -rf corpus/frame corpus/argv
mkdir -p corpus/frame corpus/argv crashes/argv crashes/frame

le32() { # u32 little-endian
  local n=$1
  printf "\\x$(printf %02x $((n & 255)))\\x$(printf %02x $((n >> 8 & 255)))"
  printf "\\x$(printf %02x $((n >> 16 & 255)))\\x$(printf %02x $((n >> 24 & 255)))"
}

# tokens NAME TOK... : tokens as a frame and as argv
tokens() {
  local name=$1
  shift
  printf '%s\0' "$@" >"corpus/argv/$name"
  { printf 'SBX1'; le32 "$(wc -c <"corpus/argv/$name")"; cat "corpus/argv/$name"; } \
    >"corpus/frame/$name"
}
# raw NAME : stdin bytes for the frame reader only
raw() { cat >"corpus/frame/$1"; }

B=(status /run/sbx/status)     # the two required ops
E=(exec /bin/true)
NS=(unshare user unshare mount) # enough for newroot and id maps
INSN=0600000000000000           # BPF_RET|BPF_K 0 — one 8-byte instruction, lowercase hex
ALLOW=06000000000000ff          # (byte order is irrelevant to the parser)

# ---- valid: every op ----
tokens ok-minimal "${B[@]}" "${E[@]}"
tokens ok-exec-first "${E[@]}" "${B[@]}"
tokens ok-all-ops "${B[@]}" \
  unshare user unshare pid unshare mount unshare uts unshare ipc unshare net unshare cgroup \
  uid-map 0 1000 gid-map 0 1000 uid 0 gid 0 hostname sandbox loopback newroot \
  ro-bind /usr /usr bind /tmp/work /work ro-bind-try /lib64 /lib64 tmpfs /tmp 67108864 1777 \
  proc /proc dev /dev symlink usr/lib /lib dir /home 0755 chdir /work timeout 5000 \
  rlimit nofile 1024 1024 rlimit as inf inf seccomp "$INSN$ALLOW" seccomp-notify errno \
  overlay /usr /ovl 0 host-dir /var/up 700 overlay-keep /opt /var/up /var/work /opt \
  remount-ro /usr mask /proc/kcore \
  landlock 65535 3 3 landlock-path /usr 4095 landlock-path-try /lib64 1 \
  cgroup-name sbx-1.a_b cgroup-v2 /sys/fs/cgroup/sbx memory-max 67108864 pids-max 64 \
  cpu-max 50000 100000 \
  env PATH=/usr/bin env HOME=/work arg sh arg -c arg 'echo hi; exit 0' exec /bin/sh
tokens ok-status "${B[@]}" "${E[@]}"
for ns in user pid mount uts ipc net cgroup; do tokens "ok-unshare-$ns" "${B[@]}" unshare $ns "${E[@]}"; done
tokens ok-uid-map "${B[@]}" unshare user uid-map 0 4294967294 "${E[@]}"
tokens ok-gid-map "${B[@]}" unshare user gid-map 4294967294 0 "${E[@]}"
tokens ok-uid "${B[@]}" uid 65534 "${E[@]}"
tokens ok-gid "${B[@]}" gid 65534 "${E[@]}"
tokens ok-hostname "${B[@]}" unshare uts hostname "$(printf 'h%.0s' {1..64})" "${E[@]}"
tokens ok-loopback "${B[@]}" unshare net loopback "${E[@]}"
tokens ok-newroot "${B[@]}" unshare mount newroot "${E[@]}"
tokens ok-ro-bind "${B[@]}" "${NS[@]}" newroot ro-bind / / "${E[@]}"
tokens ok-bind "${B[@]}" "${NS[@]}" newroot bind /tmp/a/...b /x/.hidden "${E[@]}"
tokens ok-ro-bind-try "${B[@]}" "${NS[@]}" newroot ro-bind-try //etc// /etc "${E[@]}"
tokens ok-tmpfs "${B[@]}" "${NS[@]}" newroot tmpfs /tmp 0 0 tmpfs /t2 18446744073709551615 7777 "${E[@]}"
tokens ok-proc "${B[@]}" "${NS[@]}" newroot proc /proc "${E[@]}"
tokens ok-dev "${B[@]}" "${NS[@]}" newroot dev /dev "${E[@]}"
tokens ok-symlink "${B[@]}" "${NS[@]}" newroot symlink ../x/./y /lib "${E[@]}"
tokens ok-dir "${B[@]}" "${NS[@]}" newroot dir /home 0700 dir /var/tmp 1777 "${E[@]}"
tokens ok-chdir "${B[@]}" chdir /work "${E[@]}"
tokens ok-timeout "${B[@]}" timeout 31536000000 "${E[@]}"
tokens ok-timeout-1 "${B[@]}" timeout 1 "${E[@]}"
rl=()
for r in as core cpu data fsize memlock nofile nproc stack msgqueue sigpending; do rl+=(rlimit $r 0 inf); done
tokens ok-rlimit-all "${B[@]}" "${rl[@]}" "${E[@]}"
tokens ok-rlimit-equal "${B[@]}" rlimit nofile 18446744073709551614 18446744073709551614 "${E[@]}"
tokens ok-seccomp "${B[@]}" seccomp "$INSN" "${E[@]}"
tokens ok-env "${B[@]}" env A=B env 'C==' env 'D=' "${E[@]}"
tokens ok-arg "${B[@]}" arg prog arg '' arg 'with space' "${E[@]}"
tokens ok-exec-relative "${B[@]}" exec true
tokens ok-seccomp-notify-kill "${B[@]}" seccomp "$INSN" seccomp-notify kill "${E[@]}"
tokens ok-seccomp-notify-errno "${B[@]}" seccomp-notify errno seccomp "$INSN" "${E[@]}"
tokens ok-overlay "${B[@]}" "${NS[@]}" newroot overlay /usr /usr 0 overlay / /o 18446744073709551615 "${E[@]}"
tokens ok-overlay-keep "${B[@]}" "${NS[@]}" newroot overlay-keep /srv /var/up /var/wk /srv "${E[@]}"
tokens ok-host-dir "${B[@]}" "${NS[@]}" newroot host-dir /var/up 700 host-dir /var/wk 0 "${E[@]}"
tokens ok-remount-ro "${B[@]}" "${NS[@]}" newroot ro-bind / / remount-ro /etc "${E[@]}"
tokens ok-mask "${B[@]}" "${NS[@]}" newroot mask /proc/kcore mask /sys/firmware "${E[@]}"
tokens ok-landlock "${B[@]}" landlock 1 0 0 "${E[@]}"
tokens ok-landlock-net-only "${B[@]}" landlock 0 3 0 "${E[@]}"
tokens ok-landlock-path "${B[@]}" landlock 8191 0 3 landlock-path /usr 4095 landlock-path-try /nope 1 "${E[@]}"
tokens ok-cgroup-v2 "${B[@]}" cgroup-name sbx cgroup-v2 /sys/fs/cgroup/user "${E[@]}"
tokens ok-cgroup-v2-limits "${B[@]}" cgroup-name a-B_9.x cgroup-v2 /cg memory-max 4096 pids-max 4194304 cpu-max 1000 1000000 "${E[@]}"
tokens ok-cgroup-v1 "${B[@]}" cgroup-name sbx cgroup-v1 memory /sys/fs/cgroup/memory cgroup-v1 pids /p cgroup-v1 cpu /c cgroup-v1 cpuacct /ca memory-max 1048576 "${E[@]}"
tokens ok-cpu-max-big "${B[@]}" cgroup-name n cgroup-v2 /cg cpu-max 1000000000000 1000 "${E[@]}"
tokens ok-cgroup-name-128 "${B[@]}" cgroup-name "$(printf 'n%.0s' {1..128})" cgroup-v2 /cg "${E[@]}"
tokens ok-host-ids "${B[@]}" unshare user host-ids 2130706432 2130771968 65536 uid 1000 gid 1000 "${E[@]}"
tokens ok-host-ids-no-userns "${B[@]}" host-ids 4294967294 1 1 "${E[@]}"
tokens ok-userns-limit "${B[@]}" unshare user userns-limit inotify_instances 0 \
  userns-limit time_namespaces 2147483647 "${E[@]}"
tokens ok-pty-max "${B[@]}" "${NS[@]}" newroot dev /dev pty-max 1048576 "${E[@]}"
{ cat corpus/frame/ok-minimal; printf 'bytes that belong to the target\0\0'; } >corpus/frame/ok-trailing-stdin

# ---- malformed frames (frame reader only) ----
printf '' | raw bad-empty
printf 'SBX' | raw bad-short-magic
printf 'SBX1\x05\x00\x00' | raw bad-short-length
{ printf 'SBX2'; tail -c +5 corpus/frame/ok-minimal; } | raw bad-magic
{ printf 'sbx1'; tail -c +5 corpus/frame/ok-minimal; } | raw bad-magic-case
{ printf 'SBX1'; le32 0; } | raw bad-len-zero
{ printf 'SBX1'; le32 4294967295; printf 'status\0'; } | raw bad-len-huge
{ printf 'SBX1'; le32 $(((8 << 20) + 1)); printf 'status\0'; } | raw bad-len-frame-max-plus-1
{ printf 'SBX1'; le32 $((8 << 20)); printf 'status\0/s\0exec\0/x\0'; } | raw bad-len-frame-max-truncated
{ printf 'SBX1'; le32 100; printf 'status\0/s\0exec\0/x\0'; } | raw bad-truncated
{ printf 'SBX1'; le32 17; printf 'status\0/s\0exec\0/x'; } | raw bad-unterminated
{ printf 'SBX1'; le32 1; printf 'x'; } | raw bad-unterminated-1
{ printf 'SBX1'; le32 1; printf '\0'; } | raw bad-one-empty-token
{ printf 'SBX1'; le32 131072; head -c 131072 /dev/zero; } | raw bad-tokens-max-empty
{ printf 'SBX1'; le32 131073; head -c 131073 /dev/zero; } | raw bad-tokens-over-max

# ---- malformed configs (both) ----
tokens bad-no-tokens-exec-missing status /s
tokens bad-missing-status "${E[@]}"
tokens bad-unknown-op "${B[@]}" frobnicate "${E[@]}"
tokens bad-empty-op "${B[@]}" '' "${E[@]}"
tokens bad-op-case "${B[@]}" Exec /bin/true
# repeated single-use ops
tokens dup-status "${B[@]}" "${B[@]}" "${E[@]}"
tokens dup-uid-map "${B[@]}" unshare user uid-map 0 0 uid-map 0 0 "${E[@]}"
tokens dup-gid-map "${B[@]}" unshare user gid-map 0 0 gid-map 0 0 "${E[@]}"
tokens dup-uid "${B[@]}" uid 0 uid 0 "${E[@]}"
tokens dup-gid "${B[@]}" gid 0 gid 0 "${E[@]}"
tokens dup-hostname "${B[@]}" unshare uts hostname a hostname b "${E[@]}"
tokens dup-loopback "${B[@]}" unshare net loopback loopback "${E[@]}"
tokens dup-newroot "${B[@]}" unshare mount newroot newroot "${E[@]}"
tokens dup-chdir "${B[@]}" chdir / chdir / "${E[@]}"
tokens dup-timeout "${B[@]}" timeout 1 timeout 1 "${E[@]}"
tokens dup-seccomp "${B[@]}" seccomp "$INSN" seccomp "$INSN" "${E[@]}"
tokens dup-exec "${B[@]}" "${E[@]}" "${E[@]}"
tokens dup-namespace "${B[@]}" unshare pid unshare pid "${E[@]}"
tokens dup-rlimit "${B[@]}" rlimit cpu 1 2 rlimit cpu 1 2 "${E[@]}"
# missing arguments (op at the end, one token short)
tokens miss-status "${E[@]}" status
tokens miss-unshare "${B[@]}" "${E[@]}" unshare
tokens miss-uid-map "${B[@]}" "${E[@]}" uid-map 0
tokens miss-gid-map "${B[@]}" "${E[@]}" gid-map 0
tokens miss-uid "${B[@]}" "${E[@]}" uid
tokens miss-gid "${B[@]}" "${E[@]}" gid
tokens miss-hostname "${B[@]}" "${E[@]}" hostname
tokens miss-ro-bind "${B[@]}" "${E[@]}" ro-bind /usr
tokens miss-bind "${B[@]}" "${E[@]}" bind /usr
tokens miss-ro-bind-try "${B[@]}" "${E[@]}" ro-bind-try /usr
tokens miss-tmpfs "${B[@]}" "${E[@]}" tmpfs /tmp 0
tokens miss-proc "${B[@]}" "${E[@]}" proc
tokens miss-dev "${B[@]}" "${E[@]}" dev
tokens miss-symlink "${B[@]}" "${E[@]}" symlink a
tokens miss-dir "${B[@]}" "${E[@]}" dir /d
tokens miss-chdir "${B[@]}" "${E[@]}" chdir
tokens miss-timeout "${B[@]}" "${E[@]}" timeout
tokens miss-rlimit "${B[@]}" "${E[@]}" rlimit nofile 1
tokens miss-seccomp "${B[@]}" "${E[@]}" seccomp
tokens miss-env "${B[@]}" "${E[@]}" env
tokens miss-arg "${B[@]}" "${E[@]}" arg
tokens miss-exec "${B[@]}" exec
# bad values
tokens val-status-relative status run/s "${E[@]}"
tokens val-status-dotdot status /run/../s "${E[@]}"
tokens val-unshare-unknown "${B[@]}" unshare time "${E[@]}"
tokens val-uid-u32max "${B[@]}" uid 4294967295 "${E[@]}"
tokens val-uid-negative "${B[@]}" uid -1 "${E[@]}"
tokens val-uid-plus "${B[@]}" uid +1 "${E[@]}"
tokens val-uid-empty "${B[@]}" uid '' "${E[@]}"
tokens val-uid-u64-overflow "${B[@]}" uid 18446744073709551616 "${E[@]}"
tokens val-uid-map-bad "${B[@]}" unshare user uid-map 0 0x10 "${E[@]}"
tokens val-hostname-empty "${B[@]}" unshare uts hostname '' "${E[@]}"
tokens val-hostname-65 "${B[@]}" unshare uts hostname "$(printf 'h%.0s' {1..65})" "${E[@]}"
tokens val-bind-dst-relative "${B[@]}" "${NS[@]}" newroot bind /a b "${E[@]}"
tokens val-bind-dst-dot "${B[@]}" "${NS[@]}" newroot bind /a /b/./c "${E[@]}"
tokens val-bind-dst-dotdot "${B[@]}" "${NS[@]}" newroot bind /a /b/.. "${E[@]}"
tokens val-bind-src-relative "${B[@]}" "${NS[@]}" newroot ro-bind usr /usr "${E[@]}"
tokens val-tmpfs-size "${B[@]}" "${NS[@]}" newroot tmpfs /t 1k 0755 "${E[@]}"
tokens val-tmpfs-mode-8 "${B[@]}" "${NS[@]}" newroot tmpfs /t 0 0758 "${E[@]}"
tokens val-tmpfs-mode-big "${B[@]}" "${NS[@]}" newroot tmpfs /t 0 17777 "${E[@]}"
tokens val-dir-mode-empty "${B[@]}" "${NS[@]}" newroot dir /d '' "${E[@]}"
tokens val-symlink-empty "${B[@]}" "${NS[@]}" newroot symlink '' /l "${E[@]}"
tokens val-chdir-relative "${B[@]}" chdir work "${E[@]}"
tokens val-timeout-0 "${B[@]}" timeout 0 "${E[@]}"
tokens val-timeout-over "${B[@]}" timeout 31536000001 "${E[@]}"
tokens val-rlimit-unknown "${B[@]}" rlimit rss 1 1 "${E[@]}"
tokens val-rlimit-soft-gt-hard "${B[@]}" rlimit nofile 2 1 "${E[@]}"
tokens val-rlimit-inf-case "${B[@]}" rlimit nofile INF INF "${E[@]}"
tokens val-rlimit-u64max "${B[@]}" rlimit nofile 18446744073709551615 inf "${E[@]}"
tokens val-seccomp-short "${B[@]}" seccomp 06000000 "${E[@]}"
tokens val-seccomp-empty "${B[@]}" seccomp '' "${E[@]}"
tokens val-seccomp-upper "${B[@]}" seccomp 06000000000000FF "${E[@]}"
tokens val-seccomp-nonhex "${B[@]}" seccomp 060000000000000g "${E[@]}"
tokens val-env-no-eq "${B[@]}" env PATH "${E[@]}"
tokens val-env-eq-first "${B[@]}" env =x "${E[@]}"
tokens val-exec-empty "${B[@]}" exec ''
# missing prerequisites
tokens dep-uid-map-no-userns "${B[@]}" uid-map 0 0 "${E[@]}"
tokens dep-gid-map-no-userns "${B[@]}" gid-map 0 0 "${E[@]}"
tokens dep-mount-no-newroot "${B[@]}" unshare mount proc /proc "${E[@]}"
tokens dep-newroot-no-mountns "${B[@]}" newroot "${E[@]}"
tokens dep-hostname-no-uts "${B[@]}" hostname h "${E[@]}"
tokens dep-loopback-no-net "${B[@]}" loopback "${E[@]}"
# newer ops: bad values, repeats, prerequisites
tokens dup-seccomp-notify "${B[@]}" seccomp "$INSN" seccomp-notify kill seccomp-notify kill "${E[@]}"
tokens dup-landlock "${B[@]}" landlock 1 0 0 landlock 1 0 0 "${E[@]}"
tokens dup-cgroup-name "${B[@]}" cgroup-name a cgroup-name a cgroup-v2 /cg "${E[@]}"
tokens dup-cgroup-v2 "${B[@]}" cgroup-name a cgroup-v2 /cg cgroup-v2 /cg "${E[@]}"
tokens dup-cgroup-v1-ctl "${B[@]}" cgroup-name a cgroup-v1 pids /a cgroup-v1 pids /b "${E[@]}"
tokens dup-memory-max "${B[@]}" cgroup-name a cgroup-v2 /cg memory-max 4096 memory-max 4096 "${E[@]}"
tokens dup-pids-max "${B[@]}" cgroup-name a cgroup-v2 /cg pids-max 1 pids-max 1 "${E[@]}"
tokens dup-cpu-max "${B[@]}" cgroup-name a cgroup-v2 /cg cpu-max 1000 1000 cpu-max 1000 1000 "${E[@]}"
tokens miss-seccomp-notify "${B[@]}" "${E[@]}" seccomp-notify
tokens miss-overlay "${B[@]}" "${E[@]}" overlay /a /b
tokens miss-overlay-keep "${B[@]}" "${E[@]}" overlay-keep /a /b /c
tokens miss-host-dir "${B[@]}" "${E[@]}" host-dir /a
tokens miss-remount-ro "${B[@]}" "${E[@]}" remount-ro
tokens miss-mask "${B[@]}" "${E[@]}" mask
tokens miss-landlock "${B[@]}" "${E[@]}" landlock 1 0
tokens miss-landlock-path "${B[@]}" "${E[@]}" landlock-path /a
tokens miss-landlock-path-try "${B[@]}" "${E[@]}" landlock-path-try /a
tokens miss-cgroup-name "${B[@]}" "${E[@]}" cgroup-name
tokens miss-cgroup-v2 "${B[@]}" "${E[@]}" cgroup-v2
tokens miss-cgroup-v1 "${B[@]}" "${E[@]}" cgroup-v1 memory
tokens miss-memory-max "${B[@]}" "${E[@]}" memory-max
tokens miss-pids-max "${B[@]}" "${E[@]}" pids-max
tokens miss-cpu-max "${B[@]}" "${E[@]}" cpu-max 1000
tokens val-seccomp-notify-action "${B[@]}" seccomp "$INSN" seccomp-notify trap "${E[@]}"
tokens val-overlay-size "${B[@]}" "${NS[@]}" newroot overlay /a /b -1 "${E[@]}"
tokens val-overlay-lower-relative "${B[@]}" "${NS[@]}" newroot overlay a /b 0 "${E[@]}"
tokens val-overlay-keep-upper "${B[@]}" "${NS[@]}" newroot overlay-keep /a up /w /d "${E[@]}"
tokens val-overlay-keep-work-dotdot "${B[@]}" "${NS[@]}" newroot overlay-keep /a /u /w/.. /d "${E[@]}"
tokens val-host-dir-relative "${B[@]}" "${NS[@]}" newroot host-dir up 700 "${E[@]}"
tokens val-host-dir-mode "${B[@]}" "${NS[@]}" newroot host-dir /up 4700 "${E[@]}"
tokens val-mask-relative "${B[@]}" "${NS[@]}" newroot mask proc "${E[@]}"
tokens val-remount-ro-dot "${B[@]}" "${NS[@]}" newroot remount-ro /. "${E[@]}"
tokens val-landlock-all-zero "${B[@]}" landlock 0 0 0 "${E[@]}"
tokens val-landlock-nonnum "${B[@]}" landlock fs 0 0 "${E[@]}"
tokens val-landlock-path-rights-0 "${B[@]}" landlock 1 0 0 landlock-path /a 0 "${E[@]}"
tokens val-landlock-path-relative "${B[@]}" landlock 1 0 0 landlock-path a 1 "${E[@]}"
tokens val-landlock-path-unhandled "${B[@]}" landlock 1 0 0 landlock-path /a 3 "${E[@]}"
tokens val-cgroup-name-slash "${B[@]}" cgroup-name a/b cgroup-v2 /cg "${E[@]}"
tokens val-cgroup-name-dot "${B[@]}" cgroup-name .. cgroup-v2 /cg "${E[@]}"
tokens val-cgroup-name-empty "${B[@]}" cgroup-name '' cgroup-v2 /cg "${E[@]}"
tokens val-cgroup-name-129 "${B[@]}" cgroup-name "$(printf 'n%.0s' {1..129})" cgroup-v2 /cg "${E[@]}"
tokens val-cgroup-v2-relative "${B[@]}" cgroup-name a cgroup-v2 cg "${E[@]}"
tokens val-cgroup-v1-ctl "${B[@]}" cgroup-name a cgroup-v1 blkio /b "${E[@]}"
tokens val-memory-max-small "${B[@]}" cgroup-name a cgroup-v2 /cg memory-max 4095 "${E[@]}"
tokens val-pids-max-0 "${B[@]}" cgroup-name a cgroup-v2 /cg pids-max 0 "${E[@]}"
tokens val-pids-max-big "${B[@]}" cgroup-name a cgroup-v2 /cg pids-max 4194305 "${E[@]}"
tokens val-cpu-max-period "${B[@]}" cgroup-name a cgroup-v2 /cg cpu-max 1000 1000001 "${E[@]}"
tokens val-cpu-max-quota "${B[@]}" cgroup-name a cgroup-v2 /cg cpu-max 999 1000 "${E[@]}"
tokens val-cpu-max-quota-big "${B[@]}" cgroup-name a cgroup-v2 /cg cpu-max 1000000000001 1000 "${E[@]}"
tokens dep-seccomp-notify-no-seccomp "${B[@]}" seccomp-notify kill "${E[@]}"
tokens dep-landlock-path-no-landlock "${B[@]}" landlock-path /a 1 "${E[@]}"
tokens dep-cgroup-v1-and-v2 "${B[@]}" cgroup-name a cgroup-v2 /cg cgroup-v1 pids /p "${E[@]}"
tokens dep-cgroup-name-only "${B[@]}" cgroup-name a "${E[@]}"
tokens dep-cgroup-parent-only "${B[@]}" cgroup-v2 /cg "${E[@]}"
tokens dep-limits-no-cgroup "${B[@]}" pids-max 10 "${E[@]}"
tokens dep-overlay-no-newroot "${B[@]}" unshare mount overlay /a /b 0 "${E[@]}"
tokens dep-host-dir-no-newroot "${B[@]}" unshare mount host-dir /a 700 "${E[@]}"
# host identity and budgets (ids.c, budget.c)
tokens dup-host-ids "${B[@]}" host-ids 1 1 1 host-ids 1 1 1 "${E[@]}"
tokens dup-pty-max "${B[@]}" "${NS[@]}" newroot dev /dev pty-max 1 pty-max 1 "${E[@]}"
tokens dup-userns-limit "${B[@]}" unshare user userns-limit fanotify_marks 1 userns-limit fanotify_marks 1 "${E[@]}"
tokens miss-host-ids "${B[@]}" "${E[@]}" host-ids 1 1
tokens miss-userns-limit "${B[@]}" "${E[@]}" userns-limit inotify_watches
tokens miss-pty-max "${B[@]}" "${E[@]}" pty-max
tokens val-host-ids-root "${B[@]}" host-ids 0 1 1 "${E[@]}"
tokens val-host-ids-count-0 "${B[@]}" host-ids 1 1 0 "${E[@]}"
tokens val-host-ids-wrap "${B[@]}" host-ids 4294967294 1 2 "${E[@]}"
tokens val-userns-limit-unknown "${B[@]}" unshare user userns-limit ../../kernel/x 1 "${E[@]}"
tokens val-userns-limit-big "${B[@]}" unshare user userns-limit inotify_instances 2147483648 "${E[@]}"
tokens val-pty-max-0 "${B[@]}" "${NS[@]}" newroot dev /dev pty-max 0 "${E[@]}"
tokens dep-host-ids-uid-map "${B[@]}" unshare user host-ids 1 1 1 uid 1 gid 1 uid-map 1 1 "${E[@]}"
tokens dep-host-ids-no-uid "${B[@]}" unshare user host-ids 1 1 1 "${E[@]}"
tokens dep-host-ids-uid-no-userns "${B[@]}" host-ids 1 1 1 uid 1 "${E[@]}"
tokens dep-userns-limit-no-userns "${B[@]}" userns-limit inotify_instances 1 "${E[@]}"
tokens dep-pty-max-no-dev "${B[@]}" pty-max 5 "${E[@]}"
# limits
m=()
for i in $(seq 1 257); do m+=(dir "/d$i" 0755); done
tokens lim-mounts-257 "${B[@]}" "${NS[@]}" newroot "${m[@]}" "${E[@]}"
tokens ok-lim-mounts-256 "${B[@]}" "${NS[@]}" newroot "${m[@]:3}" "${E[@]}"
tokens lim-path-4096 "${B[@]}" chdir "/$(head -c 4095 /dev/zero | tr '\0' a)" "${E[@]}"
ll=()
for i in $(seq 1 1025); do ll+=(landlock-path "/l$i" 1); done
tokens lim-landlock-rules-1025 "${B[@]}" landlock 1 0 0 "${ll[@]}" "${E[@]}"
tokens ok-lim-landlock-rules-1024 "${B[@]}" landlock 1 0 0 "${ll[@]:3}" "${E[@]}"
tokens ok-lim-path-4095 "${B[@]}" chdir "/$(head -c 4094 /dev/zero | tr '\0' a)" "${E[@]}"

# ---- reproducer: argv with more than TOKENS_MAX tokens overflows argv_store (config.c) ----
# 131073 "arg ''" ops: argc reaches TOKENS_MAX + 1 and argv_store[argc] = NULL is written one
# past the end. main.c hands argc - 1 tokens to config_parse without the frame's TOKENS_MAX cap.
{ printf 'status\0/s\0exec\0/x\0'; printf 'arg\0\0%.0s' $(seq 131073); } >crashes/argv/overflow-argv-store
echo "gen_corpus: $(ls corpus/frame | wc -l) frame seeds, $(ls corpus/argv | wc -l) argv seeds"
