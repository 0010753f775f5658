#!/usr/bin/env bash
# Prints the path of a Deno 2.x binary. Uses $DENO or a `deno` on PATH when they are 2.x;
# otherwise installs the npm package `deno@2` into .tools/ (npm ships the real binary).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
is_deno2() { [ -x "$1" ] && "$1" --version 2>/dev/null | head -1 | grep -q '^deno 2\.'; }
if [ -n "${DENO:-}" ] && is_deno2 "$DENO"; then echo "$DENO"; exit 0; fi
if command -v deno >/dev/null 2>&1 && is_deno2 "$(command -v deno)"; then command -v deno; exit 0; fi
case "$(uname -m)" in
  x86_64) pkg=linux-x64-glibc ;;
  aarch64) pkg=linux-arm64-glibc ;;
  *) echo "sandbox-ts: no Deno build for $(uname -m)" >&2; exit 1 ;;
esac
bin="$root/.tools/node_modules/@deno/$pkg/deno"
if ! is_deno2 "$bin"; then
  if ! command -v npm >/dev/null 2>&1; then
    echo "sandbox-ts: Deno is missing and npm is not installed to fetch it (Debian: apt-get install npm)" >&2
    exit 1
  fi
  echo "sandbox-ts: installing Deno 2 from npm into .tools/ ..." >&2
  npm install --prefix "$root/.tools" --no-save --no-audit --no-fund --loglevel=error "deno@^2" >&2
fi
is_deno2 "$bin" || { echo "sandbox-ts: Deno install failed ($bin)" >&2; exit 1; }
echo "$bin"
