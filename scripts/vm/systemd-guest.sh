#!/usr/bin/env bash
# The test unit of `scripts/vm-test.sh --systemd` (real systemd 252, logind, a user manager):
# the limits tests as root in the unit's own cgroup, then as the normal user "tester" (uid 1000)
# the two ways users get a delegated cgroup from systemd — a transient scope
# (`systemd-run --user --scope -p Delegate=yes`) and a transient service (`systemd-run --user
# --wait -p Delegate=yes`); then powers the machine off. Output format as guest-tests.sh.
set -uo pipefail
. /etc/vm-env
cd "$VM_TREE" || exit 1
export HOME=/root NO_COLOR=1 DENO_NO_UPDATE_CHECK=1
chmod -R a+rX .
files=(tests/limits_test.ts)
echo "vm-expect 3"
echo "== systemd $(systemctl --version | head -1 | cut -d' ' -f2), kernel $(uname -r)"
log=$(mktemp)
summary() {
  local line p=0 f=1
  line=$(grep -E '^(ok|FAILED) \| [0-9]+ passed' "$log" | tail -1)
  if [ -n "$line" ]; then
    p=$(sed -E 's/.*\| ([0-9]+) passed.*/\1/' <<<"$line")
    f=$(sed -E 's/.*\| ([0-9]+) failed.*/\1/' <<<"$line")
  fi
  echo "vm-pass $1: $p passed, $f failed"
}
echo "== [systemd] deno test as root in $(cut -d: -f3 /proc/self/cgroup)"
"$VM_DENO" test --allow-all --no-check --quiet "${files[@]}" 2>&1 | tee "$log"
summary "systemd root"
loginctl enable-linger tester
for _ in $(seq 120); do [ -S /run/user/1000/bus ] && break; sleep 0.5; done
as_user() {
  runuser -u tester -- env HOME=/home/tester DENO_DIR=/home/tester/deno NO_COLOR=1 \
    DENO_NO_UPDATE_CHECK=1 XDG_RUNTIME_DIR=/run/user/1000 \
    DBUS_SESSION_BUS_ADDRESS=unix:path=/run/user/1000/bus "$@"
}
echo "== [systemd] deno test as tester in systemd-run --user --scope -p Delegate=yes"
as_user systemd-run --user --scope --quiet -p Delegate=yes \
  sh -c 'echo "cgroup: $(cut -d: -f3 /proc/self/cgroup)"; exec "$0" "$@"' \
  "$VM_DENO" test --allow-all --no-check --quiet "${files[@]}" 2>&1 | tee "$log"
summary "systemd tester, Delegate=yes scope"
echo "== [systemd] deno test as tester in systemd-run --user --wait -p Delegate=yes (a service)"
as_user systemd-run --user --wait --pipe --quiet -p Delegate=yes -p WorkingDirectory="$VM_TREE" \
  -E HOME=/home/tester -E DENO_DIR=/home/tester/deno -E NO_COLOR=1 \
  sh -c 'echo "cgroup: $(cut -d: -f3 /proc/self/cgroup)"; exec "$0" "$@"' \
  "$VM_DENO" test --allow-all --no-check --quiet "${files[@]}" 2>&1 | tee "$log"
summary "systemd tester, Delegate=yes service"
echo "== [systemd] the user's cgroups afterwards"
find /sys/fs/cgroup/user.slice/user-1000.slice -maxdepth 4 -type d | sed 's|/sys/fs/cgroup||'
echo 0 >"$VM_OUT/rc"
systemctl poweroff --no-block
