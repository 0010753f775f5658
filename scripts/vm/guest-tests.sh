#!/usr/bin/env bash
# Runs inside the guest (scripts/vm-test.sh), in the project tree's private copy, as root in a
# login's session scope: the given test files as root, then as uid 65534 in a scope delegated
# with memory, pids and cpu (vm-delegate), then — when tests/limits_test.ts is among them — its
# fallback and doctor tests as uid 65533 in a scope delegated with pids only (a subtree without
# memory and cpu, as in a container or under an older systemd). Prints "vm-expect N" first and
# one "vm-pass LABEL: N passed, M failed" line per pass. VM_FILTER: deno test's --filter for the
# root and uid 65534 passes. VM_ROOT_ONLY=1: the root pass alone.
set -uo pipefail
deno=$1
shift
files=("$@")
partial=0
for f in "${files[@]}"; do [ "$f" = tests/limits_test.ts ] && [ -z "${VM_FILTER:-}" ] && partial=1; done
users=1
[ "${VM_ROOT_ONLY:-0}" = 1 ] && users=0 partial=0
echo "vm-expect $((1 + users + partial))"
log=$(mktemp)
summary() { # $1 = label; deno test's last summary line in $log, or one failure if none
  local line p=0 f=1
  line=$(grep -E '^(ok|FAILED) \| [0-9]+ passed' "$log" | tail -1)
  if [ -n "$line" ]; then
    p=$(sed -E 's/.*\| ([0-9]+) passed.*/\1/' <<<"$line")
    f=$(sed -E 's/.*\| ([0-9]+) failed.*/\1/' <<<"$line")
  fi
  echo "vm-pass $1: $p passed, $f failed"
}
# Types are checked on the host (scripts/test.sh); under emulation checking again costs minutes.
run_as() { # $1 = label, $2 = command prefix (a word list), then deno test's arguments
  local label=$1 prefix=$2
  shift 2
  echo "== [vm $(uname -r)] deno test as $label: $*"
  local t0=$SECONDS
  # shellcheck disable=SC2086 # the prefix is a word list
  $prefix "$deno" test --allow-all --no-check --quiet "$@" 2>&1 | tee "$log"
  echo "($label: $((SECONDS - t0)) s)"
  summary "$label"
}
chmod -R a+rX .
# The tree (and Deno in it) may sit under a directory other users cannot enter (a checkout under
# a directory of mode 0700): the unprivileged passes need to reach it. The guest's root is an
# overlay, so this changes nothing on the host.
d=$PWD
while [ "$d" != / ]; do d=$(dirname "$d"); chmod o+x "$d"; done
if ! setpriv --reuid 65534 --regid 65534 --clear-groups test -x "$deno"; then
  install -m 755 "$deno" /tmp/vm-deno && deno=/tmp/vm-deno
fi
filter=()
[ -n "${VM_FILTER:-}" ] && filter=(--filter "$VM_FILTER")
run_as root env "${filter[@]}" "${files[@]}"
[ "$users" = 1 ] && run_as "uid 65534" "vm-delegate 65534 env" "${filter[@]}" "${files[@]}"
if [ "$partial" = 1 ] && [ -z "${VM_FILTER:-}" ]; then
  VM_DELEGATE_CONTROLLERS=pids run_as "uid 65533, pids only" "vm-delegate 65533 env" \
    --filter "/best effort|doctor checks/" tests/limits_test.ts
fi
rm -f "$log"
