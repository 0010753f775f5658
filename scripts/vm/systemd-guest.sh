#!/usr/bin/env bash
# The test unit of `scripts/vm-test.sh --systemd` (real systemd 252, logind, a user manager).
# Root: in this unit (a service without Delegate=yes: the runs' cgroups at the top, no cpu, and
# doctor's Delegate=yes fix), in `systemd-run --scope -p Delegate=yes` (the limits, lifecycle and
# isolation tests, memory, pids and cpu all enforced) and in deploy/sandbox-ts.service as
# shipped (ExecStart= replaced). The normal user "tester" (uid 1000), the two ways users get a
# delegated cgroup from systemd: a transient scope (`systemd-run --user --scope -p Delegate=yes`:
# the limits, lifecycle and isolation tests) and a transient service (`systemd-run --user --wait
# -p Delegate=yes`: the limits tests of placement, memory, pids, the sweep and doctor). Then powers the machine off. Output format as guest-tests.sh.
# VM_SYSTEMD_FILES: the files of the two full passes (default: limits, lifecycle, isolation).
set -uo pipefail
. /etc/vm-env
cd "$VM_TREE" || exit 1
export HOME=/root NO_COLOR=1 DENO_NO_UPDATE_CHECK=1
chmod -R a+rX .
read -r -a full <<<"${VM_SYSTEMD_FILES:-tests/limits_test.ts tests/lifecycle_test.ts tests/isolation_test.ts}"
deleg=tests/systemd_delegation_test.ts
echo "vm-expect 5"
echo "== systemd $(systemctl --version | head -1 | cut -d' ' -f2), kernel $(uname -r)"
log=$(mktemp)
chmod 644 "$log"
summary() {
  local line p=0 f=1
  line=$(grep -E '^(ok|FAILED) \| [0-9]+ passed' "$log" | tail -1)
  if [ -n "$line" ]; then
    p=$(sed -E 's/.*\| ([0-9]+) passed.*/\1/' <<<"$line")
    f=$(sed -E 's/.*\| ([0-9]+) failed.*/\1/' <<<"$line")
  fi
  echo "vm-pass $1: $p passed, $f failed ($(($SECONDS - t0)) s)"
}
# Prints the cgroup the command runs in, then execs it (so that Deno is the unit's only process).
where='echo "cgroup: $(cut -d: -f3 /proc/self/cgroup)"; exec "$0" "$@"'
dt=("$VM_DENO" test --allow-all --no-check --quiet)

echo "== [systemd] root in this unit (no Delegate=yes)"
t0=$SECONDS
sh -c "$where" "${dt[@]}" "$deleg" 2>&1 | tee "$log"
summary "systemd root, not delegated"

echo "== [systemd] root in systemd-run --scope -p Delegate=yes: ${full[*]}"
t0=$SECONDS
systemd-run --scope --quiet -p Delegate=yes sh -c "$where" "${dt[@]}" "$deleg" "${full[@]}" 2>&1 | tee "$log"
summary "systemd root, Delegate=yes scope"

echo "== [systemd] root in deploy/sandbox-ts.service as shipped (ExecStart= replaced)"
t0=$SECONDS
cp deploy/sandbox-ts.service /run/systemd/system/sandbox-ts.service
mkdir -p /run/systemd/system/sandbox-ts.service.d
# The unit's command: a script that execs Deno, so Deno is the unit's only process.
{
  echo '#!/bin/sh'
  printf 'exec >%q 2>&1\n' "$log"
  echo 'echo "cgroup: $(cut -d: -f3 /proc/self/cgroup)"'
  printf 'exec'
  printf ' %q' "${dt[@]}" "$deleg"
  echo
} >/run/sandbox-ts-test.sh
chmod 755 /run/sandbox-ts-test.sh
cat >/run/systemd/system/sandbox-ts.service.d/test.conf <<UNIT
[Service]
Type=oneshot
Restart=no
WorkingDirectory=$VM_TREE
Environment=HOME=/root NO_COLOR=1 DENO_NO_UPDATE_CHECK=1
ExecStart=
ExecStart=/run/sandbox-ts-test.sh
UNIT
systemctl daemon-reload
systemctl start sandbox-ts.service
cat "$log"
summary "systemd root, deploy/sandbox-ts.service"

loginctl enable-linger tester
for _ in $(seq 120); do [ -S /run/user/1000/bus ] && break; sleep 0.5; done
as_user() {
  runuser -u tester -- env HOME=/home/tester DENO_DIR=/home/tester/deno NO_COLOR=1 \
    DENO_NO_UPDATE_CHECK=1 XDG_RUNTIME_DIR=/run/user/1000 \
    DBUS_SESSION_BUS_ADDRESS=unix:path=/run/user/1000/bus "$@"
}
echo "== [systemd] tester in systemd-run --user --scope -p Delegate=yes: ${full[*]}"
t0=$SECONDS
as_user systemd-run --user --scope --quiet -p Delegate=yes sh -c "$where" "${dt[@]}" "${full[@]}" 2>&1 |
  tee "$log"
summary "systemd tester, Delegate=yes scope"
# A service: what differs from the scope is the placement (and cleanup), so only those tests.
echo "== [systemd] tester in systemd-run --user --wait -p Delegate=yes (a service): placement"
t0=$SECONDS
as_user systemd-run --user --wait --pipe --quiet -p Delegate=yes -p WorkingDirectory="$VM_TREE" \
  -E HOME=/home/tester -E DENO_DIR=/home/tester/deno -E NO_COLOR=1 \
  sh -c "$where" "${dt[@]}" --filter "/own delegated cgroup|memory bomb|fork bomb|stale run cgroups|doctor checks/" \
  tests/limits_test.ts 2>&1 | tee "$log"
summary "systemd tester, Delegate=yes service"
echo "== [systemd] the user's cgroups afterwards"
find /sys/fs/cgroup/user.slice/user-1000.slice -maxdepth 4 -type d | sed 's|/sys/fs/cgroup||'
echo 0 >"$VM_OUT/rc"
systemctl poweroff --no-block
