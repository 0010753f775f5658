#!/usr/bin/env bash
# Runs inside the guest (scripts/vm-test.sh), in the project tree's private copy, as root in a
# session scope: the given test files as root, then as uid 65534 in a delegated scope
# (vm-delegate). Prints one "vm-pass LABEL: N passed, M failed" line per pass.
set -uo pipefail
deno=$1
shift
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
run_as() { # $1 = label, then the command prefix
  local label=$1
  shift
  echo "== [vm $(uname -r)] deno test as $label: $*"
  local t0=$SECONDS
  "$@" "$deno" test --allow-all --no-check --quiet "${files[@]}" 2>&1 | tee "$log"
  echo "($label: $((SECONDS - t0)) s)"
  summary "$label"
}
files=("$@")
chmod -R a+rX .
run_as root env
run_as "uid 65534" vm-delegate 65534 env
rm -f "$log"
