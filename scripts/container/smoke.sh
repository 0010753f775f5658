#!/bin/sh
# Runs inside the image of deploy/Containerfile (scripts/container-test.sh starts it): checks as
# uid 65534 — the way the image is meant to be used — and as the container's root, what a run
# gets under the container's settings. $1 is "defaults", "full" or "cgroups" (full plus the
# host's cgroup v1 tree mounted writable; root only) — see container-test.sh.
# Prints one "ok NAME" or "FAIL NAME: why" line per check and ends with
# "smoke: N passed, M failed". SMOKE_RUNTIME: the runtime doctor should name (default podman).
# "rootless" (full's flags in rootless podman): full for uid 65534; the container's root is then
# in a user namespace that maps no per-run host id range, so its runs fail closed at "setuid".
set -u
mode=$1
runtime=${SMOKE_RUNTIME:-podman}
cli="deno run --allow-all /opt/sandbox-ts/cli.ts"
passed=0
failed=0
ok() { echo "ok $1"; passed=$((passed + 1)); }
bad() { echo "FAIL $1: $2"; failed=$((failed + 1)); }
mkdir -p /tmp/h && chown 65534:65534 /tmp/h
as_user() { setpriv --reuid 65534 --regid 65534 --clear-groups env HOME=/tmp/h "$@"; }

# doctor names the container and, where the full sandbox does not work, the flags that give it.
for who in user root; do
  if [ $who = user ]; then out=$(as_user $cli doctor 2>&1); else out=$($cli doctor 2>&1); fi
  echo "$out" | sed "s/^/  [$who doctor] /"
  echo "$out" | grep -q "^  \\[ok\\] Container: $runtime" || bad "doctor-$who-container" "no Container line"
  if [ "$mode" = defaults ]; then
    echo "$out" | grep -q '^  \[--\] Sandbox run:' &&
      echo "$out" | grep -q -- '--security-opt' && ok "doctor-$who-defaults-names-flags" ||
      bad "doctor-$who-defaults-names-flags" "expected a failed trial run and the podman flags"
  elif [ "$mode" = rootless ] && [ $who = root ]; then
    echo "$out" | grep -q '^  \[--\] Sandbox run: .* fails at step "setuid"' &&
      echo "$out" | grep -q 'fix: .*rootless runtime.*non-root user' && ok "doctor-root-rootless-names-fix" ||
      bad "doctor-root-rootless-names-fix" "expected the trial run to fail at setuid, and the non-root fix"
  else
    echo "$out" | grep -q '^  \[ok\] Sandbox run:' && ok "doctor-$who-full-trial-run" ||
      bad "doctor-$who-full-trial-run" "expected the trial run to work"
  fi
done

# The filesystem is confined: a file of the image outside the sandbox's view cannot be read; the
# probe exits 77 only when it could be.
probe='cat /opt/sandbox-ts/README.md >/dev/null 2>&1 && exit 77; echo confined'
if [ "$mode" = defaults ]; then
  # Landlock alone works under the defaults for a non-root user, and says so.
  out=$(as_user $cli run --no-namespaces -- /bin/sh -c "$probe" 2>&1)
  echo "$out" | grep -q '^confined$' && echo "$out" | grep -q 'only Landlock confines' &&
    ok "user-landlock-only-confines" || bad "user-landlock-only-confines" "$out"
  # auto: the probe finds that namespaces cannot work here, so the run gets Landlock alone — and
  # says so on stderr.
  out=$(as_user $cli run -- /bin/sh -c "$probe" 2>&1)
  echo "  [auto run as uid 65534] $(echo "$out" | tr '\n' ' ')"
  echo "$out" | grep -q '^confined$' && echo "$out" | grep -q 'only Landlock confines' &&
    ok "user-auto-landlock-only-loudly" || bad "user-auto-landlock-only-loudly" "$out"
  # The container's root gets the same (the listener's hand-over needs no CAP_SYS_PTRACE); in a
  # rootless runtime (SMOKE_ROOTLESS=1) it has no host id to give a run, and fails closed.
  out=$($cli run -- /bin/sh -c "$probe" 2>&1)
  echo "  [auto run as root] $(echo "$out" | tr '\n' ' ')"
  if [ "${SMOKE_ROOTLESS:-0}" = 1 ]; then
    echo "$out" | grep -q 'setgid' && ! echo "$out" | grep -q '^confined$' &&
      ok "root-rootless-defaults-fails-closed" || bad "root-rootless-defaults-fails-closed" "$out"
  else
    echo "$out" | grep -q '^confined$' && echo "$out" | grep -q 'only Landlock confines' &&
      ok "root-auto-landlock-only-loudly" || bad "root-auto-landlock-only-loudly" "$out"
  fi
  # The seccomp filter holds there too, its refusals named (the listener's hand-over needs no
  # pidfd_getfd, which Docker's profile refuses): ptrace, which the runtimes' profiles allow and
  # every sandbox profile refuses.
  printf '#include <sys/ptrace.h>\nint main(void) { return ptrace(PTRACE_TRACEME, 0, 0, 0) != 0; }\n' |
    gcc -x c -o /usr/local/bin/sandbox-ts-traceme -
  out=$(as_user $cli run -- sandbox-ts-traceme 2>&1)
  echo "  [auto run as uid 65534, ptrace] $(echo "$out" | tail -1)"
  echo "$out" | grep -q 'seccomp=ptrace' && ok "user-defaults-seccomp-named" ||
    bad "user-defaults-seccomp-named" "$(echo "$out" | tail -2)"
else
  whos="user root"
  if [ "$mode" = rootless ]; then
    whos=user
    out=$($cli run -- /bin/sh -c "$probe" 2>&1)
    echo "$out" | grep -q 'setuid' && ! echo "$out" | grep -q '^confined$' &&
      ok "root-rootless-fails-closed" || bad "root-rootless-fails-closed" "$out"
  fi
  for who in $whos; do
    if [ $who = user ]; then out=$(as_user $cli run -- /bin/sh -c "$probe; hostname; id -u" 2>&1)
    else out=$($cli run -- /bin/sh -c "$probe; hostname; id -u" 2>&1); fi
    echo "$out" | grep -q '^confined$' && echo "$out" | grep -q '^sandbox$' &&
      ok "$who-full-namespaces-confined" || bad "$who-full-namespaces-confined" "$out"
    # Limits without a writable cgroup: best effort's RLIMIT_NPROC stops a fork bomb.
    bomb='for i in $(seq 40); do sleep 5 & done; wait'
    if [ $who = user ]; then out=$(as_user $cli run --limits best-effort --pids 20 --timeout 20s -- /bin/sh -c "$bomb" 2>&1)
    else out=$($cli run --limits best-effort --pids 20 --timeout 20s -- /bin/sh -c "$bomb" 2>&1); fi
    echo "$out" | grep -qiE "can't fork|cannot fork|resource temporarily" && ok "$who-full-pids-best-effort" ||
      bad "$who-full-pids-best-effort" "$(echo "$out" | tail -2)"
  done
fi
if [ "$mode" = cgroups ]; then
  # Exact limits through the cgroup (strict: refused at build() if the cgroup were not usable).
  bomb='for i in $(seq 40); do sleep 5 & done; wait'
  out=$($cli run --pids 20 --memory 64M --timeout 20s -- /bin/sh -c "$bomb" 2>&1)
  echo "$out" | grep -qiE "cannot fork|can.t fork" && echo "$out" | grep -q "reason=pids" && ok "root-cgroup-pids-exact" ||
    bad "root-cgroup-pids-exact" "$(echo "$out" | tail -2)"
  out=$($cli run --memory 64M --timeout 20s -- /bin/sh -c 'x=$(head -c 200000000 /dev/zero | tr "\\0" a); echo survived' 2>&1)
  if echo "$out" | grep -q '^survived'; then bad "root-cgroup-memory-exact" "a 200 MB string survived --memory 64M"
  elif echo "$out" | grep -qiE 'oom|memory'; then ok "root-cgroup-memory-exact"
  else bad "root-cgroup-memory-exact" "not reported as a memory limit: $(echo "$out" | tail -2)"; fi
fi
echo "smoke: $passed passed, $failed failed"
