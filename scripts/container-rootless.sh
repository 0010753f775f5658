#!/usr/bin/env bash
# The sandbox inside rootless podman: a normal user (with /etc/subuid and /etc/subgid ranges)
# runs podman, so the container's root is that user outside and the container's ids are the
# user's subordinate range. Run as root: it creates the user "sandbox-ts-rootless" once (useradd
# gives it a 65536-id subuid/subgid range), copies the tree where that user can read it, imports
# the debootstrap rootfs of scripts/container-test.sh (built there once) and the host's Deno,
# builds deploy/Containerfile as that user (no network: --network none), and runs
# scripts/container/smoke.sh with the runtime's defaults (Landlock alone, loudly) and with the
# non-root flags (the full sandbox for uid 65534; the container's root fails closed: no per-run
# host id range is mapped in a rootless user namespace).
#
#   scripts/container-rootless.sh
#
# Ends with "container: N passed, M failed", or "container: skipped: REASON" and exit 77.
# SANDBOX_TS_CONTAINER=skip skips on purpose.
set -uo pipefail
. "$(dirname "$0")/_sbin_path.sh"
root=$(cd "$(dirname "$0")/.." && pwd -P)
cd "$root"
skip() { echo "container: skipped: $*"; exit 77; }
die() { echo "container: $*" >&2; echo "container: 0 passed, 1 failed"; exit 1; }
[ "${SANDBOX_TS_CONTAINER:-}" = skip ] && skip "SANDBOX_TS_CONTAINER=skip"
[ "$(id -u)" = 0 ] || skip "needs root to set up its user (or run scripts/container/smoke.sh by hand)"
missing=()
command -v podman >/dev/null || missing+=(podman)
command -v newuidmap >/dev/null || missing+=(uidmap)
if [ ${#missing[@]} -gt 0 ]; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null 2>&1 ||
    skip "could not install ${missing[*]}"
fi
cache=${SANDBOX_TS_CONTAINER_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/sandbox-ts/container}
pkgs=make,gcc,libc6-dev,util-linux,ca-certificates,python3-minimal,procps,iproute2 # as container-test.sh
rootfs=$cache/rootfs-$(echo "$pkgs" | sha256sum | cut -c1-12)
[ -d "$rootfs" ] || skip "no rootfs yet: run scripts/container-test.sh once (it builds $rootfs)"
deno=$(scripts/ensure-deno.sh) || die "no Deno"
deno=$(readlink -f "$deno")
t0=$SECONDS

u=sandbox-ts-rootless
if ! id "$u" >/dev/null 2>&1; then
  useradd -m -s /bin/sh "$u" || skip "cannot add the user $u"
fi
grep -q "^$u:" /etc/subuid || usermod --add-subuids 100000-165535 "$u" || skip "no subuid range for $u"
grep -q "^$u:" /etc/subgid || usermod --add-subgids 100000-165535 "$u" || skip "no subgid range for $u"
home=$(getent passwd "$u" | cut -d: -f6)
work=$(mktemp -d /tmp/sandbox-ts-rootless.XXXXXX)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/tree" "$work/run"
git ls-files -co --exclude-standard -z | tar --null -T - -c | tar -C "$work/tree" -x ||
  die "cannot copy the tree"
chown -R "$u:" "$work/tree" "$work/run"
chmod 755 "$work"
chmod 700 "$work/run"
# podman as the user, in a private mount namespace: crun refuses a hybrid cgroup layout whose
# cgroup2 mount has controllers (as in container-test.sh); the user's own storage, overlay.
p() {
  unshare -m --propagation private sh -c '
    if grep -q . /sys/fs/cgroup/unified/cgroup.controllers 2>/dev/null; then umount /sys/fs/cgroup/unified; fi
    d=$0 user=$1 h=$2 r=$3
    shift 3
    cd "$d" && exec runuser -u "$user" -- env HOME="$h" XDG_RUNTIME_DIR="$r" podman --storage-driver overlay "$@"' \
    "$work/tree" "$u" "$home" "$work/run" "$@" 2> >(grep -v 'is not a shared mount' >&2)
}
p info --format '{{.Host.CgroupsVersion}}' >/dev/null 2>&1 || {
  p system reset -f >/dev/null 2>&1
  p info >/dev/null 2>&1 || skip "rootless podman does not start for $u: $(p info 2>&1 | tail -1)"
}
echo "container: rootless podman $(p version --format '{{.Client.Version}}') as $u ($(grep "^$u:" /etc/subuid))"
key=$(basename "$rootfs")
base=localhost/sandbox-ts-base:${key#rootfs-}
p image exists "$base" || { tar -C "$rootfs" -c . | p import -q - "$base" >/dev/null; } ||
  die "podman import of the rootfs failed"
dver=$("$deno" --version | head -1 | awk '{ print $2 }')
denoimg=localhost/sandbox-ts-deno-bin:$dver
if ! p image exists "$denoimg"; then
  mkdir "$work/deno" && cp "$deno" "$work/deno/deno" &&
    tar -C "$work/deno" -c deno | p import -q - "$denoimg" >/dev/null || die "podman import of deno failed"
fi
ulimits=(--ulimit "nofile=$(ulimit -Hn):$(ulimit -Hn)" --ulimit nproc=16384:16384)
image=localhost/sandbox-ts:test
p build -q --network none "${ulimits[@]}" -f deploy/Containerfile --build-arg BASE="$base" \
  --build-arg DENO_IMAGE="$denoimg" -t "$image" . >"$work/build.log" 2>&1 ||
  { tail -20 "$work/build.log"; die "podman build failed"; }
echo "container: images ready in $((SECONDS - t0)) s"

passed=0
failed=0
log=$(mktemp)
run_in() { # $1 = smoke mode, then podman run flags
  local mode=$1
  shift
  echo "== container (rootless, $mode): podman run $*"
  p run --rm --network none "${ulimits[@]}" "$@" -e SMOKE_ROOTLESS=1 --user 0:0 --entrypoint /bin/sh "$image" \
    /opt/sandbox-ts/scripts/container/smoke.sh "$mode" 2>&1 | tee "$log"
  local line
  line=$(grep -E "^smoke: [0-9]+ passed, [0-9]+ failed" "$log" | tail -1)
  if [ -z "$line" ]; then failed=$((failed + 1)); return; fi
  passed=$((passed + $(sed -E 's/.*: ([0-9]+) passed.*/\1/' <<<"$line")))
  failed=$((failed + $(sed -E 's/.*, ([0-9]+) failed.*/\1/' <<<"$line")))
}
run_in defaults
run_in rootless --security-opt seccomp=unconfined --security-opt "unmask=/proc/*" --cap-add SYS_ADMIN
rm -f "$log"
echo "(rootless container stage: $((SECONDS - t0)) s)"
echo "container: $passed passed, $failed failed"
[ "$failed" = 0 ]
