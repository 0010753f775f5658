#!/bin/bash
# PID 1 of the aarch64 guest of `scripts/arm64-test.sh --suite`, in the Debian arm64 root
# (scripts/arm64/rootfs.sh), the run's disk at /sbx (the tree, Deno's arm64 build, the kernel's
# modules; scripts/arm64/suite-init.sh mounted both): the kernel filesystems, cgroup2 laid out as
# systemd lays it out (as scripts/vm/stage2.sh does), then `deno test -A` over tests/ as root
# and as uid 65534 (setpriv, as scripts/test.sh does), each pass's output on the console with
# "@@t " before each line and in /sbx/out, one "@@pass LABEL: N passed, M failed (S s)" line per
# pass; then power off. /sbx/env: SUITE_KVER, SUITE_PASSES ("root 65534"), SUITE_FILTER.
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export LANG=C.UTF-8 TERM=dumb NO_COLOR=1 DENO_NO_UPDATE_CHECK=1
. /sbx/env
up() { cut -d' ' -f1 /proc/uptime; }
finish() {
  echo "@@done uptime=$(up)"
  sync
  umount /sbx 2>/dev/null
  echo o >/proc/sysrq-trigger
  poweroff -f
  while :; do sleep 60; done
}
mount -t proc -o nosuid,nodev,noexec proc /proc
mount -t sysfs -o nosuid,nodev,noexec sysfs /sys
mkdir -p /dev/pts /dev/shm
mount -t devpts -o newinstance,ptmxmode=0666,mode=620,gid=5 devpts /dev/pts
mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs /dev/shm
# Not nosuid: as on the x86_64 CI host, where a test plants a setuid file under /tmp.
mount -t tmpfs -o mode=1777,nodev tmpfs /tmp
mount -t tmpfs -o mode=0755,nosuid,nodev tmpfs /run
ln -sf /proc/self/fd /dev/fd
ln -sf /proc/self/fd/0 /dev/stdin
ln -sf /proc/self/fd/1 /dev/stdout
ln -sf /proc/self/fd/2 /dev/stderr
mount -t securityfs securityfs /sys/kernel/security 2>/dev/null
mount -t cgroup2 -o nsdelegate,memory_recursiveprot cgroup2 /sys/fs/cgroup ||
  mount -t cgroup2 -o nsdelegate cgroup2 /sys/fs/cgroup || echo "@@info cannot mount cgroup2"
mkdir -p "/lib/modules/$SUITE_KVER"
mount --bind "/sbx/modules/$SUITE_KVER" "/lib/modules/$SUITE_KVER"
for m in overlay loop tun veth; do modprobe -q "$m" 2>/dev/null || echo "@@info modprobe $m failed"; done
hostname arm64-guest
ip link set lo up
. /sbx/tree/scripts/vm/cgroup-layout.sh
echo "@@guest kernel=$(uname -r) machine=$(uname -m) cpus=$(nproc) mem=$(free -m | awk '/^Mem:/ { print $2 }')M" \
  "cgroup2=$(cat $cg/cgroup.controllers | tr ' ' ,) uptime=$(up)"
echo "@@guest $(/sbx/deno --version | head -1), $(gcc --version | head -1), $(python3 --version)"
cd /sbx/tree || finish
chmod -R a+rX /sbx/tree /sbx/deno
chmod a+x /sbx
mkdir -p /sbx/out /sbx/home-65534 && chown 65534:65534 /sbx/home-65534
echo "@@guest launcher: $(launcher/sandbox-launcher --version 2>&1)"
filter=()
[ -n "${SUITE_FILTER:-}" ] && filter=(--filter "$SUITE_FILTER")
# Types are checked on the host (deno check in scripts/test.sh); under emulation checking again
# costs minutes.
pass() { # LABEL, then the command prefix's words
  local label=$1 t0 line p=0 f=1 ig=0
  shift
  t0=$(up)
  echo "@@info deno test as $label: start uptime=$t0"
  "$@" /sbx/deno test --allow-all --no-check --quiet "${filter[@]}" ${SUITE_FILES:-tests/} </dev/null 2>&1 |
    tee "/sbx/out/$label.log" | sed -u 's/^/@@t /'
  line=$(grep -E '^(ok|FAILED) \| [0-9]+ passed' "/sbx/out/$label.log" | tail -1)
  if [ -n "$line" ]; then
    p=$(sed -E 's/.*\| ([0-9]+) passed.*/\1/' <<<"$line")
    f=$(sed -E 's/.*\| ([0-9]+) failed.*/\1/' <<<"$line")
    ig=$(grep -oE '[0-9]+ ignored' <<<"$line" | cut -d' ' -f1)
  fi
  echo "@@pass $label: $p passed, $f failed, ${ig:-0} ignored ($(awk -v a="$t0" '{ printf "%d", $1 - a }' /proc/uptime) s)"
  sync
}
# Both passes in a root login's session scope (not delegated: uid 65534 gets no cgroup of its own,
# as on CI's x86_64 host).
scope=(sh -c 'echo $$ >"$0/cgroup.procs" && exec "$@"' $cg/user.slice/user-0.slice/session-1.scope)
for who in ${SUITE_PASSES:-root 65534}; do
  case "$who" in
    root) pass root "${scope[@]}" env HOME=/root ;;
    65534)
      pass 65534 "${scope[@]}" setpriv --reuid 65534 --regid 65534 --clear-groups \
        env HOME=/sbx/home-65534 DENO_DIR=/sbx/home-65534/deno
      ;;
  esac
done
finish
