#!/usr/bin/env bash
# The library and CLI inside a real container runtime: podman with crun (Debian packages), the
# image built from deploy/Containerfile offline — its base a debootstrap rootfs imported with
# `podman import`, its Deno the host's (no registry is reachable here). Two containers:
#   defaults: `podman run` with the runtime's defaults (its seccomp profile, masked /proc paths,
#             a read-only /proc/sys, the default capabilities);
#   full:     the smallest set of flags that gives the full sandbox — as a non-root user
#             (uid 65534): --security-opt seccomp=unconfined --security-opt unmask=/proc/*; as
#             the container's root: also --cap-add SYS_ADMIN --cap-add SYS_PTRACE (README
#             "Containers" says why each is needed).
#   cgroups:  full, as root, plus -v /sys/fs/cgroup:/sys/fs/cgroup:rw (cgroup v1 hosts only): the
#             host's cgroup tree for exact limits.
# In each, scripts/container/smoke.sh checks doctor's report and what a run really gets; in the
# full one tests/isolation_test.ts also runs as uid 65534.
# --runtime docker: the same with Debian's docker.io (runc) — a private dockerd (its own
# data-root in the cache, no bridge, no iptables rules) started for the stage and stopped after,
# unless DOCKER_HOST names one. Docker's flags: systempaths=unconfined for podman's
# unmask=/proc/*; under its defaults (a seccomp profile that refuses user namespaces and
# pidfd_getfd) a run gets Landlock and seccomp alone, loudly, as under podman's.
#
#   scripts/container-test.sh [--runtime podman|docker] [--no-deno-test]
#
# Ends with "container: N passed, M failed", or "container: skipped: REASON" and exit 77 where
# podman cannot run (not root and no podman, no debootstrap rootfs and no network).
# Cache: $SANDBOX_TS_CONTAINER_CACHE (default ~/.cache/sandbox-ts/container): the rootfs (about
# 3 minutes to build once); podman caches the images. SANDBOX_TS_CONTAINER=skip skips on purpose.
set -uo pipefail
. "$(dirname "$0")/_sbin_path.sh"
root=$(cd "$(dirname "$0")/.." && pwd -P)
cd "$root"
skip() { echo "container: skipped: $*"; exit 77; }
die() { echo "container: $*" >&2; echo "container: 0 passed, 1 failed"; exit 1; }
deno_test=1
rt=podman
while [ $# -gt 0 ]; do
  case "$1" in
    --no-deno-test) deno_test=0; shift ;;
    --runtime)
      case "${2:-}" in podman | docker) rt=$2 ;; *) die "--runtime needs podman or docker" ;; esac
      shift 2 ;;
    -h | --help) sed -n '2,/^set -uo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown argument \"$1\" (allowed: --runtime podman|docker, --no-deno-test)" ;;
  esac
done
[ "${SANDBOX_TS_CONTAINER:-}" = skip ] && skip "SANDBOX_TS_CONTAINER=skip"
[ "$(id -u)" = 0 ] || skip "rootful $rt needs root (rootless podman: scripts/container-rootless.sh)"
missing=()
if [ "$rt" = podman ]; then
  command -v podman >/dev/null || missing+=(podman)
  command -v crun >/dev/null || missing+=(crun)
else
  command -v dockerd >/dev/null || missing+=(docker.io)
fi
command -v debootstrap >/dev/null || missing+=(debootstrap)
if [ ${#missing[@]} -gt 0 ]; then
  command -v apt-get >/dev/null || skip "needs ${missing[*]} and there is no apt-get"
  echo "container: installing ${missing[*]}"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null 2>&1 ||
    skip "could not install ${missing[*]}"
fi
deno=$(scripts/ensure-deno.sh) || die "no Deno"
deno=$(readlink -f "$deno")
cache=${SANDBOX_TS_CONTAINER_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/sandbox-ts/container}
mkdir -p "$cache" || skip "cannot create $cache"
t0=$SECONDS

# --- this host's quirks, kept out of the containers' settings --------------------------------
# podman's default RLIMIT_NOFILE/NPROC (1048576 / 4194304) exceed this host's hard limits: crun's
# setrlimit fails with EPERM. Ask for the hard limits we have instead.
ulimits=(--ulimit "nofile=$(ulimit -Hn):$(ulimit -Hn)" --ulimit nproc=16384:16384)
# crun refuses a hybrid cgroup layout whose cgroup2 mount has controllers ("cgroups in hybrid
# mode not supported"): podman then runs in a private mount namespace without that mount (the
# host keeps it). The containers get the v1 hierarchies, read-only, as podman mounts them.
podman_() {
  if [ "$rt" = docker ]; then
    DOCKER_BUILDKIT=0 "$docker" "$@"
  elif grep -q . /sys/fs/cgroup/unified/cgroup.controllers 2>/dev/null; then
    unshare -m --propagation private sh -c 'umount /sys/fs/cgroup/unified && exec "$@"' sh podman "$@"
  else
    podman "$@"
  fi
}

# Docker: Debian's CLI (a newer one may be first in PATH) and a daemon: DOCKER_HOST's, or a
# private one for this stage.
docker=""
if [ "$rt" = docker ]; then
  docker=/usr/bin/docker
  [ -x "$docker" ] || docker=$(command -v docker) || skip "no docker CLI"
  if [ -z "${DOCKER_HOST:-}" ]; then
    sock=/run/sandbox-ts-docker.sock
    export DOCKER_HOST=unix://$sock
    if ! "$docker" info >/dev/null 2>&1; then
      mkdir -p "$cache/docker" /run/sandbox-ts-docker
      setsid dockerd --data-root "$cache/docker" --exec-root /run/sandbox-ts-docker \
        --pidfile /run/sandbox-ts-docker.pid -H "$DOCKER_HOST" --bridge=none --iptables=false \
        --ip6tables=false >"$cache/dockerd.log" 2>&1 &
      dockerd_pid=$!
      trap 'kill "$dockerd_pid" 2>/dev/null; wait "$dockerd_pid" 2>/dev/null' EXIT
      for _ in $(seq 60); do "$docker" info >/dev/null 2>&1 && break; sleep 0.5; done
      "$docker" info >/dev/null 2>&1 ||
        skip "dockerd did not start: $(grep -E 'level=(error|fatal)' "$cache/dockerd.log" | tail -1)"
    fi
  fi
  echo "container: docker $("$docker" version --format '{{.Server.Version}}') (runc $(runc --version 2>/dev/null | awk 'NR == 1 { print $3 }'))"
fi
exists() { if [ "$rt" = docker ]; then "$docker" image inspect "$1" >/dev/null 2>&1; else podman image exists "$1"; fi; }
import() { if [ "$rt" = docker ]; then "$docker" import - "$1" >/dev/null; else podman import -q - "$1" >/dev/null; fi; }

# --- images ----------------------------------------------------------------------------------
pkgs=make,gcc,libc6-dev,util-linux,ca-certificates,python3-minimal,procps,iproute2 # python3: the isolation tests
key=$(echo "$pkgs" | sha256sum | cut -c1-12)
rootfs=$cache/rootfs-$key
if [ ! -d "$rootfs" ]; then
  echo "container: building the base rootfs (debootstrap bookworm minbase + $pkgs, ~3 min once)"
  rm -rf "$rootfs.partial"
  debootstrap --variant=minbase --include="$pkgs" bookworm "$rootfs.partial" http://deb.debian.org/debian \
    >"$cache/debootstrap.log" 2>&1 || skip "debootstrap failed (no network? see $cache/debootstrap.log)"
  mv "$rootfs.partial" "$rootfs"
fi
base=localhost/sandbox-ts-base:$key
if ! exists "$base"; then
  tar -C "$rootfs" -c . | import "$base" || die "$rt import of the rootfs failed"
fi
# A one-file image with Deno at /deno, the layout of docker.io/denoland/deno:bin-*.
dver=$("$deno" --version | head -1 | awk '{ print $2 }')
denoimg=localhost/sandbox-ts-deno-bin:$dver
if ! exists "$denoimg"; then
  d=$(mktemp -d) && cp "$deno" "$d/deno" &&
    tar -C "$d" -c deno | import "$denoimg" || die "$rt import of deno failed"
  rm -rf "$d"
fi
# The image builds its own launcher: .containerignore keeps the host's build out of the context.
image=localhost/sandbox-ts:test
echo "container: $rt build -f deploy/Containerfile (BASE=$base)"
podman_ build -q "${ulimits[@]}" -f deploy/Containerfile --build-arg BASE="$base" \
  --build-arg DENO_IMAGE="$denoimg" -t "$image" . >"$cache/build.log" 2>&1 ||
  { tail -20 "$cache/build.log"; die "$rt build failed"; }
echo "container: images ready in $((SECONDS - t0)) s"

passed=0
failed=0
count() { # $1 = log, $2 = prefix of its "PREFIX: N passed, M failed" line
  local line
  line=$(grep -E "^$2: [0-9]+ passed, [0-9]+ failed" "$1" | tail -1)
  if [ -z "$line" ]; then failed=$((failed + 1)); return; fi
  passed=$((passed + $(sed -E 's/.*: ([0-9]+) passed.*/\1/' <<<"$line")))
  failed=$((failed + $(sed -E 's/.*, ([0-9]+) failed.*/\1/' <<<"$line")))
}
log=$(mktemp)
run_in() { # $1 = defaults|full, then podman run flags; runs the smoke checks
  local mode=$1
  shift
  echo "== container ($mode): $rt run $*"
  podman_ run --rm "${ulimits[@]}" "$@" -e SMOKE_RUNTIME="$rt" --user 0:0 --entrypoint /bin/sh "$image" \
    /opt/sandbox-ts/scripts/container/smoke.sh "$mode" 2>&1 | tee "$log"
  count "$log" smoke
}
full=(--security-opt seccomp=unconfined --security-opt "unmask=/proc/*")
[ "$rt" = docker ] && full=(--security-opt seccomp=unconfined --security-opt systempaths=unconfined)
run_in defaults
run_in full "${full[@]}" --cap-add SYS_ADMIN
# Exact limits for the container's root on cgroup v1: the host's cgroup tree, writable.
[ -d /sys/fs/cgroup/pids ] && [ -d /sys/fs/cgroup/memory ] &&
  run_in cgroups "${full[@]}" --cap-add SYS_ADMIN -v /sys/fs/cgroup:/sys/fs/cgroup:rw

if [ "$deno_test" = 1 ]; then
  # The isolation tests as uid 65534 under the non-root set of flags.
  echo "== container (full, uid 65534): deno test tests/isolation_test.ts"
  podman_ run --rm "${ulimits[@]}" "${full[@]}" --user 65534:65534 -e HOME=/tmp -e NO_COLOR=1 \
    --entrypoint /bin/sh "$image" -c \
    'cp -a /opt/sandbox-ts /tmp/tree && cd /tmp/tree && deno test --allow-all --quiet tests/isolation_test.ts' \
    2>&1 | tee "$log" | grep -vE '^(running|.* \.\.\. ok|$)'
  line=$(grep -E '^(ok|FAILED) \| [0-9]+ passed' "$log" | tail -1)
  if [ -z "$line" ]; then failed=$((failed + 1)); else
    passed=$((passed + $(sed -E 's/.*\| ([0-9]+) passed.*/\1/' <<<"$line")))
    failed=$((failed + $(sed -E 's/.*\| ([0-9]+) failed.*/\1/' <<<"$line")))
  fi
fi
rm -f "$log"
echo "(container stage: $((SECONDS - t0)) s)"
echo "container: $passed passed, $failed failed"
[ "$failed" = 0 ]
