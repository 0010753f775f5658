#!/usr/bin/env bash
# Verifies the launcher's cgroup v2 backend on a host with a real cgroup2 hierarchy and the
# memory, pids and cpu controllers (e.g. Ubuntu 24.04). Needs only gcc, make and root — no Deno:
# it builds the launcher and drives it with argv tokens.
#   sudo launcher/tests/cgroup_v2_device.sh
# Prints one line per check and ends with "cgroup-v2: N passed, M failed".
set -u
here=$(cd "$(dirname "$0")" && pwd)
make -s -C "$here/.." >/dev/null || { echo "cgroup-v2: 0 passed, 1 failed (build)"; exit 1; }
L="$here/../sandbox-launcher"
mnt=$(awk '$3 == "cgroup2" { print $2; exit }' /proc/self/mounts)
[ -n "$mnt" ] || { echo "skipped: no cgroup2 mount"; exit 0; }
for c in memory pids cpu; do
  grep -qw "$c" "$mnt/cgroup.controllers" || { echo "skipped: cgroup2 lacks $c"; exit 0; }
done
parent="$mnt/sandbox-ts-device-$$"
mkdir "$parent" && echo "+memory +pids +cpu" > "$parent/cgroup.subtree_control" || exit 1
tmp=$(mktemp -d)
pass=0 fail=0
check() { if eval "$2"; then pass=$((pass + 1)); echo "ok   $1"; else fail=$((fail + 1)); echo "FAIL $1"; fi; }
base=(unshare user unshare pid unshare mount unshare cgroup uid-map 1000 65534 gid-map 1000 65534 uid 1000 gid 1000)
run() { # name, extra ops..., -- program args...
  local name=$1; shift
  local ops=(status "$tmp/$name" cgroup-name "$name" cgroup-v2 "$parent" "${base[@]}")
  while [ "$1" != "--" ]; do ops+=("$1"); shift; done; shift
  ops+=(exec "$1"); for a in "$@"; do ops+=(arg "$a"); done
  "$L" "${ops[@]}" >"$tmp/$name.out" 2>&1; echo $? >"$tmp/$name.rc"
}
rec() { grep "\"type\":\"$2\"" "$tmp/$1" | head -1; }

run mem memory-max 33554432 -- /bin/sh -c 'head -c 200000000 /dev/zero | tail -c 1 >/dev/null; python3 -c "a = bytearray(200 << 20)"'
check "memory.max OOM-kills and is counted" '[[ "$(rec mem cgroup)" =~ \"oomKills\":[1-9] ]]'
check "memory.peak is read" '[[ "$(rec mem cgroup)" =~ \"memoryPeak\":[1-9] ]]'
run pids pids-max 8 -- /bin/sh -c 'for i in $(seq 30); do sleep 1 & done; wait'
check "pids.max refuses forks and is counted" '[[ "$(rec pids cgroup)" =~ \"pidsMaxHits\":[1-9] ]]'
run cpu cpu-max 20000 100000 -- /bin/sh -c 'i=0; while [ $i -lt 300000 ]; do i=$((i+1)); done'
cpu=$(rec cpu cgroup | sed -E 's/.*"cpuUs":([0-9]+).*/\1/')
wall=$(rec cpu exit | sed -E 's/.*"wallUs":([0-9]+).*/\1/')
check "cpu.max holds the share near 20% (cpu ${cpu}us / wall ${wall}us)" '[ $((cpu * 100 / wall)) -le 35 ]'
# Accounting on a sandbox-ended run: init kills and reaps the tree, cpu.stat holds the busy loop's
# time (not init's few ms), with the user/system split.
run tmo timeout 1500 -- /bin/sh -c 'while :; do :; done'
tcpu=$(rec tmo cgroup | sed -E 's/.*"cpuUs":([0-9]+).*/\1/')
tuser=$(rec tmo cgroup | sed -E 's/.*"userUs":([0-9]+).*/\1/')
check "a run the wall clock ended reports its CPU (cpu ${tcpu}us, user ${tuser}us)" \
  '[ "${tcpu:-0}" -ge 500000 ] && [ "${tuser:-0}" -ge 250000 ] && [ "$(cat "$tmp/tmo.rc")" = 124 ]'
run where -- /bin/cat /proc/self/cgroup
check "CLONE_INTO_CGROUP: the target starts in its cgroup, seen as the namespace root" 'grep -qx "0::/" "$tmp/where.out"'
check "the run cgroups are removed" '[ -z "$(find "$parent" -mindepth 1 -maxdepth 1 -type d)" ]'
run bad memory-max 33554432 pids-max 0 -- /bin/true
check "an invalid limit fails closed (125)" '[ "$(cat "$tmp/bad.rc")" = 125 ]'
rmdir "$parent"
rm -rf "$tmp"
echo "cgroup-v2: $pass passed, $fail failed"
[ "$fail" = 0 ]
