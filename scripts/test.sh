#!/usr/bin/env bash
# The whole test suite (README's second quick-start command; .ci/run calls exactly this).
# Installs what is missing, builds the launcher, checks formatting/lint/types, then runs every
# test twice on the real kernel: as the current user and — when that is root — again as the
# unprivileged uid 65534 (setpriv), because most users run without root.
# Ends with one line: "tests: N passed, M failed".
set -uo pipefail
. "$(dirname "$0")/_sbin_path.sh"
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
deno=$(scripts/ensure-deno.sh) || exit 1
export DENO_NO_UPDATE_CHECK=1 NO_COLOR=1

# Debian tools some tests cross-check with: scmp_sys_resolver (syscall tables), clang with
# libFuzzer (the fuzz corpus regression), and the workloads. Missing ones are skipped with a
# printed reason.
need=()
command -v scmp_sys_resolver >/dev/null 2>&1 || need+=(seccomp)
command -v clang >/dev/null 2>&1 || need+=(clang libclang-rt-14-dev)
# The programs tests/workloads_test.ts runs under the defaults (each skipped with a reason when
# missing). The JDK is the large one (~200 MB); the rest are small.
command -v make >/dev/null 2>&1 || need+=(make)
command -v c++ >/dev/null 2>&1 || need+=(g++)
command -v cmake >/dev/null 2>&1 || need+=(cmake)
command -v javac >/dev/null 2>&1 || need+=(default-jdk-headless)
command -v node >/dev/null 2>&1 || need+=(nodejs)
command -v git >/dev/null 2>&1 || need+=(git)
command -v curl >/dev/null 2>&1 || need+=(curl) # tests/egress_test.ts: clients through the proxy
command -v python3 >/dev/null 2>&1 || need+=(python3) # tests/tty_test.ts, tests/cli_shell_test.ts: a REPL and a pty driver
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need+=(postgresql)
if [ "$(id -u)" = 0 ] && [ ${#need[@]} -gt 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "== installing ${need[*]} from Debian"
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}") >/dev/null 2>&1 ||
    echo "note: could not install ${need[*]}; the tests that need them print why they are skipped"
fi

echo "== building the launcher (-Wall -Wextra -Werror)"
make -s -C launcher || { echo "tests: 0 passed, 1 failed"; exit 1; }

passed=0
failed=0
# Every failure's name (and the first line of its error) also goes to $digest, printed just before
# the last line: CI's report shows the end of the output, and a failure far above it is lost.
digest=$(mktemp)
stage_name="setup"
stages=() # "STAGE: PASSED/FAILED", printed before the last line too
note_failures() { # $1 = log; deno's "NAME => FILE:L:C" error headers and the stage scripts' FAIL lines
  awk -v stage="$stage_name" '
    function flush() { printf "  [%s] %s: %s\n", stage, name, substr(msg, 1, 240); want = 0 }
    { gsub(/\033\[[0-9;]*m/, "") }
    # The error: its first line and the next non-blank ones, up to 4 lines and 240 characters.
    want == 2 && (lines >= 4 || /^    at / || / => / || / ERRORS $/ || / FAILURES $/) { flush() }
    / ERRORS $/ { errors = 1; next }
    / FAILURES $/ { errors = 0; next }
    errors && / => \.?\/?[^ ]*:[0-9]+:[0-9]+$/ { name = $0; sub(/ => [^ ]*$/, "", name); want = 1; next }
    want == 1 && /^error: / { msg = substr($0, 8); lines = 1; want = 2; next }
    want == 2 && NF { msg = msg " | " $0; lines++ }
    /^([a-z0-9-]+ )?(FAIL|RETRY) / || /^not ok / || /^vm-pass .*, [1-9][0-9]* failed/ {
      printf "  [%s] %s\n", stage, substr($0, 1, 200)
    }
    END { if (want == 2) flush() }
  ' "$1" >>"$digest"
}
# Adds one summary line's counts to the totals; a missing line is one failure, said in the digest.
tally() { # $1 = log, $2 = its summary line or "", $3 = what is missing when it is ""
  local p f
  note_failures "$1"
  if [ -z "$2" ]; then
    failed=$((failed + 1))
    echo "  [$stage_name] $3: $(grep -v '^$' "$1" | tail -1 | cut -c1-160)" >>"$digest"
    return
  fi
  p=$(sed -E 's/.* ([0-9]+) passed.*/\1/' <<<"$2")
  f=$(sed -E 's/.* ([0-9]+) failed.*/\1/' <<<"$2")
  passed=$((passed + p))
  failed=$((failed + f))
  stages+=("$stage_name: $p/$f")
}
count_line() { # $1 = log, $2 = prefix of a "PREFIX: N passed, M failed" line
  tally "$1" "$(grep -E "^$2: [0-9]+ passed, [0-9]+ failed" "$1" | tail -1)" "no \"$2: N passed, M failed\" line"
}
count() { # $1 = log file; adds deno test's summary to the totals
  tally "$1" "$(grep -E '^(ok|FAILED) \| [0-9]+ passed' "$1" | tail -1)" "deno test printed no summary"
}

echo "== deno fmt --check, deno lint, deno check, deno doc --lint, deno publish --dry-run"
dirs=(mod.ts cli.ts)
for d in lib tests scripts bench; do [ -d "$d" ] && dirs+=("$d/"); done
# The JSR checks run offline in a few seconds: JSDoc on every export, no private type in the
# public API, no slow types, a license, every file the package needs.
if "$deno" fmt --check >/dev/null 2>&1 && "$deno" lint -q && "$deno" check -q "${dirs[@]}" &&
  "$deno" doc --lint mod.ts >/dev/null && "$deno" publish --dry-run --allow-dirty -q >/dev/null; then
  passed=$((passed + 1))
else
  "$deno" fmt --check 2>&1 | tail -5
  failed=$((failed + 1))
  echo "  [static checks] fmt, lint, check, doc --lint or publish --dry-run failed" >>"$digest"
fi

log=$(mktemp)
echo "== launcher unit tests (ASan + UBSan) and the fuzz corpus"
stage_name="launcher unit"
launcher/tests/run_unit.sh 2>&1 | tee "$log" | grep -E "^(unit|config_test|regress|skipped|note)"
count_line "$log" unit

# The defaults: a sandbox used twice gets a warm launcher (README "Warm launcher").
echo "== deno test as uid $(id -u) (the defaults)"
stage_name="uid $(id -u)"
"$deno" test --allow-all --doc --quiet tests/ lib/ mod.ts 2>&1 | tee "$log"
count "$log"

# The whole suite again with every run going through a warm launcher (prepared runs, FIFO stdio;
# README "Warm launcher"), as root and as uid 65534.
echo "== deno test as uid $(id -u), through warm launchers (SANDBOX_TS_WARM=1)"
stage_name="uid $(id -u) warm"
SANDBOX_TS_WARM=1 "$deno" test --allow-all --quiet tests/ 2>&1 | tee "$log"
count "$log"

if [ "$(id -u)" = 0 ]; then
  if command -v setpriv >/dev/null 2>&1; then
    # uid 65534 needs to read the tree and the deno binary; copy them where it can if needed.
    work=$(mktemp -d /tmp/sandbox-ts-unpriv.XXXXXX)
    chmod 755 "$work"
    tree="$root"
    deno_u="$deno"
    if ! setpriv --reuid 65534 --regid 65534 --clear-groups test -r "$root/mod.ts" -a -x "$deno"; then
      mkdir -p "$work/tree" && cp -a "$root/." "$work/tree/" && rm -rf "$work/tree/.git"
      cp "$deno" "$work/deno"
      tree="$work/tree"
      deno_u="$work/deno"
      chmod -R a+rX "$work"
    fi
    mkdir -p "$work/home" && chown 65534:65534 "$work/home"
    # Unprivileged, every run the cold way (no warm launcher), then every run through one.
    echo "== deno test as uid 65534 (unprivileged mode, no warm launcher: SANDBOX_TS_WARM=0)"
    stage_name="uid 65534 cold"
    (cd "$tree" && setpriv --reuid 65534 --regid 65534 --clear-groups \
      env HOME="$work/home" DENO_DIR="$work/home/deno" NO_COLOR=1 DENO_NO_UPDATE_CHECK=1 \
      SANDBOX_TS_WARM=0 "$deno_u" test --allow-all --quiet tests/) 2>&1 | tee "$log"
    count "$log"
    echo "== deno test as uid 65534, through warm launchers (SANDBOX_TS_WARM=1)"
    stage_name="uid 65534 warm"
    (cd "$tree" && setpriv --reuid 65534 --regid 65534 --clear-groups \
      env HOME="$work/home" DENO_DIR="$work/home/deno" NO_COLOR=1 DENO_NO_UPDATE_CHECK=1 \
      SANDBOX_TS_WARM=1 "$deno_u" test --allow-all --quiet tests/) 2>&1 | tee "$log"
    count "$log"
    rm -rf "$work"
  else
    echo "note: setpriv is missing (util-linux); the unprivileged pass was skipped"
    failed=$((failed + 1))
  fi
fi
# Most users are on cgroup v2 (under systemd), this host may not be: the limits, lifecycle and
# isolation tests again on real cgroup v2 kernels under qemu, as root and as a delegated uid
# 65534, and under real systemd (see scripts/vm-test.sh; about 21 minutes under emulation on a
# 2-core host shared at load 4 to 20). SANDBOX_TS_VM=skip
# leaves it out; a host where qemu cannot run prints why and is not counted.
# One run of a stage script; its "NAME: N passed, M failed" line is counted. Exit 77: skipped,
# and it said why (not counted).
stage() { # $1 = NAME, $2 = script, then its arguments
  local name=$1 script=$2
  shift 2
  stage_name="${script#scripts/} $*"
  "$script" "$@" 2>&1 | tee "$log"
  case ${PIPESTATUS[0]} in
    77) ;;
    *) count_line "$log" "$name" ;;
  esac
}
vm_stage() { stage vm scripts/vm-test.sh "$@"; }
echo "== cgroup v2 kernels under qemu (scripts/vm-test.sh; SANDBOX_TS_VM=skip leaves this out)"
t_vm=$SECONDS
# The limits as root, a delegated uid 65534 and a pids-only uid 65533 (the lifecycle and isolation
# tests on this kernel run in the systemd stage below, as root and a delegated user).
vm_stage --kernel newest tests/limits_test.ts
# A JVM sizes its heap from the run's own cgroup, visible read-only inside (about 45 s).
vm_stage --kernel newest --filter "/JVM's max heap/" tests/workloads_test.ts
# Debian 12's own kernel, 6.1: the limits as root (the delegated passes above cover delegation).
vm_stage --kernel debian12 --root-only tests/limits_test.ts
# Real systemd 252 and logind (a debootstrap image, cached): the limits, lifecycle and isolation
# tests as root in `systemd-run --scope -p Delegate=yes` and as a normal user in `systemd-run
# --user --scope -p Delegate=yes`; root without delegation and in deploy/sandbox-ts.service; the
# user's placement in a Delegate=yes service (~6 min).
vm_stage --systemd
echo "(cgroup v2 stage: $((SECONDS - t_vm)) s)"
# Inside a container runtime (rootful podman with crun): the runtime's defaults, the minimal flags
# for the full sandbox, root with the host's cgroups (scripts/container-test.sh; ~50 s with its
# images cached, ~4 min more the first time for the debootstrap rootfs). SANDBOX_TS_CONTAINER=skip
# leaves it out; a host where podman cannot run prints why and is not counted.
echo "== inside podman (scripts/container-test.sh; SANDBOX_TS_CONTAINER=skip leaves this out)"
stage container scripts/container-test.sh
# The same inside Debian's docker.io (runc), a private dockerd for the stage (~80 s; the isolation
# tests as uid 65534 under the full flags run in the podman pass only).
echo "== inside docker (scripts/container-test.sh --runtime docker)"
stage container scripts/container-test.sh --runtime docker --no-deno-test
# Rootless podman as a normal user with subuids (the user "sandbox-ts-rootless" is created once;
# ~20 s, ~65 s with a fresh image store).
echo "== inside rootless podman (scripts/container-rootless.sh)"
stage container scripts/container-rootless.sh
# aarch64: the launcher cross-built static and the seccomp profiles (filters compiled for
# aarch64 by the library here) on Debian's arm64 6.12 and 6.1 kernels under qemu-system-aarch64,
# as root and as uid 65534, and on 6.12 the CLI under Deno's own arm64 build (scripts/arm64-test.sh;
# about 2 minutes, a little more with cold caches). SANDBOX_TS_ARM64=skip leaves it out; a host
# where it cannot run prints why and is not counted.
arm64_stage() { stage arm64 scripts/arm64-test.sh "$@"; }
echo "== aarch64 kernels under qemu (scripts/arm64-test.sh; SANDBOX_TS_ARM64=skip leaves this out)"
t_arm=$SECONDS
arm64_stage --kernel debian12
arm64_stage --kernel newest --deno
echo "(aarch64 stage: $((SECONDS - t_arm)) s)"
rm -f "$log"
echo "== passed/failed by stage: $(printf '%s; ' "${stages[@]}")"
if [ -s "$digest" ]; then
  echo "== what failed, or died and was run again (the first 40; each stage's output above has the whole message)"
  head -40 "$digest"
fi
rm -f "$digest"
echo "tests: $passed passed, $failed failed"
[ "$failed" = 0 ]
