#!/usr/bin/env bash
# run_unit.sh — builds and runs the parser unit tests (config_test.c, ASan + UBSan) and the relay's
# (relay_test.c), then the
# fuzz regression run (make -C launcher/fuzz regress) when clang with libFuzzer is available.
# Last line: "unit: N passed, M failed" (config_test cases + regress files); exit 1 on failure.
#   CC=gcc (default; clang works too)   KEEP_GOING is implied: every part runs.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
launcher=$(dirname "$here")
build=$here/build
mkdir -p "$build"
CC=${CC:-gcc}
pass=0
fail=0

# ---- 1. config_test ----
echo "== config_test ($CC -fsanitize=address,undefined)"
if ! "$CC" -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes \
  -g -O1 -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all \
  -iquote "$launcher" -o "$build/config_test" \
  "$here/config_test.c" "$launcher/config.c" "$launcher/util.c" "$launcher/buf.c"; then
  echo "config_test: build failed"
  fail=$((fail + 1))
else
  # The parser reports each refusal on stderr; keep it out of the way unless a test fails.
  ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1} "$build/config_test" "$launcher/fuzz/corpus" 2>"$build/config_test.stderr" |
    tee "$build/config_test.out" | grep -v '^ok '
  rc=${PIPESTATUS[0]}
  summary=$(grep -E '^config_test: [0-9]+ passed, [0-9]+ failed$' "$build/config_test.out" | tail -n 1)
  if [ -n "$summary" ]; then
    p=$(echo "$summary" | sed -E 's/^config_test: ([0-9]+) passed.*/\1/')
    f=$(echo "$summary" | sed -E 's/.* ([0-9]+) failed$/\1/')
    pass=$((pass + p))
    fail=$((fail + f))
    if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then fail=$((fail + 1)); echo "config_test: exit $rc"; fi
  else
    echo "config_test: crashed (exit $rc) before its summary; stderr tail:"
    fail=$((fail + 1))
  fi
  if [ "$rc" -ne 0 ]; then
    grep -E 'ERROR: |SUMMARY: |runtime error' "$build/config_test.stderr" | head -n 10 | sed 's/^/    /'
  fi
fi

# ---- 1b. relay_test: the byte relay (relay.c) on real sockets ----
echo "== relay_test ($CC -fsanitize=address,undefined)"
if ! "$CC" -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes \
  -g -O1 -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all \
  -iquote "$launcher" -o "$build/relay_test" "$here/relay_test.c" "$launcher/relay.c"; then
  echo "relay_test: build failed"
  fail=$((fail + 1))
else
  timeout 120 "$build/relay_test" | tee "$build/relay_test.out" | grep -v '^ok '
  rc=${PIPESTATUS[0]}
  summary=$(grep -E '^relay_test: [0-9]+ passed, [0-9]+ failed$' "$build/relay_test.out" | tail -n 1)
  if [ -n "$summary" ]; then
    pass=$((pass + $(echo "$summary" | sed -E 's/^relay_test: ([0-9]+) passed.*/\1/')))
    fail=$((fail + $(echo "$summary" | sed -E 's/.* ([0-9]+) failed$/\1/')))
    if [ "$rc" -ne 0 ] && ! echo "$summary" | grep -q ' [1-9][0-9]* failed$'; then fail=$((fail + 1)); fi
  else
    echo "relay_test: crashed or hung (exit $rc) before its summary"
    fail=$((fail + 1))
  fi
fi

# ---- 2. fuzz regress (needs clang + libFuzzer) ----
echo "== fuzz regress"
CLANG=${CLANG:-clang}
probe=$build/probe-fuzzer
if ! command -v "$CLANG" >/dev/null 2>&1; then
  echo "fuzz regress: SKIPPED — $CLANG not found (Debian: apt-get install clang libclang-rt-14-dev)"
elif ! printf 'int LLVMFuzzerTestOneInput(const unsigned char *d, unsigned long n) { (void)d; (void)n; return 0; }\n' |
  "$CLANG" -x c -fsanitize=fuzzer,address,undefined -o "$probe" - >/dev/null 2>&1; then
  echo "fuzz regress: SKIPPED — $CLANG cannot link -fsanitize=fuzzer (Debian: apt-get install libclang-rt-14-dev)"
else
  make -s -C "$launcher/fuzz" CLANG="$CLANG" regress | tee "$build/regress.out"
  summary=$(grep -E '^regress: [0-9]+ passed, [0-9]+ failed$' "$build/regress.out" | tail -n 1)
  if [ -n "$summary" ]; then
    pass=$((pass + $(echo "$summary" | sed -E 's/^regress: ([0-9]+) passed.*/\1/')))
    fail=$((fail + $(echo "$summary" | sed -E 's/.* ([0-9]+) failed$/\1/')))
  else
    echo "fuzz regress: did not run (build failed?)"
    fail=$((fail + 1))
  fi
fi
rm -f "$probe"

echo "unit: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
