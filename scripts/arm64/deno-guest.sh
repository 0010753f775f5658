#!/bin/sh
# Runs in the aarch64 guest after the launcher's cases when scripts/arm64-test.sh --deno put
# Deno's arm64 build (/opt/deno, with glibc from Debian's arm64 packages) and a copy of the
# tree (/tree, the launcher cross-built in it) into the image: the library and the CLI on
# aarch64 themselves — Deno.build.arch is aarch64, the filters are compiled in the guest, the
# library finds and trusts the launcher by its build id — as root and as uid 65534. Each
# check prints "@@deno ok|FAIL NAME"; the host counts them.
export HOME=/tmp/deno-home DENO_DIR=/tmp/deno-home/cache NO_COLOR=1 DENO_NO_UPDATE_CHECK=1
mkdir -p "$HOME" && chmod 0777 "$HOME" /tmp/deno-home
cd /tree || exit 1
chmod -R a+rX /tree /opt
t0=$(cut -d' ' -f1 /proc/uptime)
v=$(/opt/deno --version 2>&1 | head -1)
echo "@@deno info $v (uptime $t0)"
check() { # NAME, EXPECTED OUTPUT, COMMAND...
  name=$1 want=$2
  shift 2
  got=$("$@" 2>/tmp/deno-err | tr '\n' '|')
  if [ "$got" = "$want" ]; then echo "@@deno ok $name"; else
    echo "@@deno FAIL $name: got \"$got\", want \"$want\"; stderr: $(head -c 600 /tmp/deno-err | tr '\n' '|')"
  fi
}
as() { # UID COMMAND... (the uid's own HOME: the library keeps its state under it)
  u=$1
  shift
  mkdir -p /tmp/home-$u && chown $u:$u /tmp/home-$u
  /bin/sysprobe -u "$u" /bin/env HOME=/tmp/home-$u DENO_DIR=/tmp/home-$u/cache "$@"
}
cli="/opt/deno run -A --no-check cli.ts"
for u in 0 65534; do
  check "uid $u: sandbox run: hostname and uid inside, exit 0" "sandbox|1000|exit=0|" \
    as $u /bin/sh -c "$cli run -- /bin/sh -c 'hostname; id -u'; echo exit=\$?"
  check "uid $u: a ptrace under essential is killed, exit 159, named ptrace (aarch64 nr 117)" \
    "exit=159 seccomp=ptrace|" \
    as $u /bin/sh -c "$cli run --seccomp essential --json -- /bin/sysprobe 117 2>/tmp/j-$u; echo exit=\$? \$(grep -o 'seccompViolation\":{\"syscall\":\"[a-z_]*\",\"number\":117,\"arch\":\"aarch64' /tmp/j-$u | sed 's/.*syscall\":\"\\([a-z_]*\\)\".*/seccomp=\\1/')"
done
echo "@@deno info done in $(awk -v a="$t0" '{ printf "%d", $1 - a }' /proc/uptime) s"
# Deno test files (SANDBOX_TS_ARM64_DENO_TESTS on the host, written to /tree/deno-tests), as root.
if [ -f /tree/deno-tests ]; then
  t1=$(cut -d' ' -f1 /proc/uptime)
  # shellcheck disable=SC2046 # a word list
  /opt/deno test --allow-all --no-check --quiet $(cat /tree/deno-tests) >/tmp/deno-test.log 2>&1
  sed 's/^/@@dtest /' /tmp/deno-test.log
  echo "@@deno info deno test: $(awk -v a="$t1" '{ printf "%d", $1 - a }' /proc/uptime) s"
fi
