#!/usr/bin/env bash
# Runs test files on real cgroup v2 kernels: each kernel boots under qemu (software emulation,
# TCG, unless /dev/kvm is usable) with cgroup v1 off and cgroup2 mounted and laid out as a
# systemd host lays it out; in it the files run as root (in a login's session scope) and as
# uid 65534 in a delegated scope (scripts/vm/delegate.sh), like scripts/test.sh's two passes;
# with tests/limits_test.ts, its fallback tests also run in a scope delegated with pids only
# (scripts/vm/guest-tests.sh).
#
#   scripts/vm-test.sh [--kernel SPEC]... [--filter PATTERN] [--root-only] [TEST_FILE...]
#   scripts/vm-test.sh --systemd [--kernel SPEC]
#
# SPEC: "newest" (the newest linux-image-6.N-amd64 apt knows), "debian12" (Debian 12's own
# kernel, 6.1), or a package name (linux-image-6.1.0-57-amd64). Default: newest. Default files:
# tests/limits_test.ts tests/lifecycle_test.ts tests/isolation_test.ts. --filter is deno test's
# (e.g. --filter "/JVM's max heap/" tests/workloads_test.ts). --root-only: the root pass alone
# (what a second kernel adds is the kernel, not the delegation, which the first covers).
# --systemd boots a small Debian 12 image with real systemd and logind instead (debootstrap,
# cached; a user "tester", uid 1000) and runs, as root in `systemd-run --scope -p Delegate=yes`
# and as tester in `systemd-run --user --scope -p Delegate=yes`, the limits, lifecycle and
# isolation tests; tests/systemd_delegation_test.ts as root in a unit without Delegate=yes and
# in deploy/sandbox-ts.service; the limits as tester in a `systemd-run --user -p Delegate=yes`
# service (scripts/vm/systemd-guest.sh; its files: SANDBOX_TS_VM_SYSTEMD_FILES).
# Ends with "vm: N passed, M failed" (scripts/test.sh counts it). Where a VM cannot run here
# (not x86_64, no qemu and no root to install it, no kernel package and no network) it prints
# "vm: skipped: REASON" and exits 77.
#
# Kernels come from Debian (`apt-get download`, unpacked with dpkg-deb -x, never installed) and
# are cached with their initramfs in $SANDBOX_TS_VM_CACHE (default ~/.cache/sandbox-ts/vm).
# The guest: the host's / shared read-only over virtio-9p under a tmpfs overlay, a private copy
# of this tree, no network device. Environment: SANDBOX_TS_VM_CPUS (default 2),
# SANDBOX_TS_VM_MEM (default 3G), SANDBOX_TS_VM_TIMEOUT (seconds per kernel, default 1200),
# SANDBOX_TS_VM=skip (skip on purpose, with that reason printed).
set -uo pipefail
. "$(dirname "$0")/_sbin_path.sh"
root=$(cd "$(dirname "$0")/.." && pwd -P)
cd "$root"
skip() { echo "vm: skipped: $*"; exit 77; }
die() { echo "vm: $*" >&2; echo "vm: 0 passed, 1 failed"; exit 1; }

kernels=()
files=()
filter=""
root_only=0
mode=plain
while [ $# -gt 0 ]; do
  case "$1" in
    --kernel) [ $# -ge 2 ] || die "--kernel needs a SPEC"; kernels+=("$2"); shift 2 ;;
    --filter) [ $# -ge 2 ] || die "--filter needs a PATTERN"; filter=$2; shift 2 ;;
    --systemd) mode=systemd; shift ;;
    --root-only) root_only=1; shift ;;
    -h | --help) sed -n '2,/^set -uo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    -*) die "unknown option \"$1\" (allowed: --kernel SPEC, --filter PATTERN, --root-only, --systemd)" ;;
    *) files+=("$1"); shift ;;
  esac
done
[ ${#kernels[@]} -gt 0 ] || kernels=(newest)
for k in "${kernels[@]}"; do
  case "$k" in
    newest | debian12 | linux-image-*) ;;
    *) die "unknown --kernel \"$k\" (allowed: newest, debian12, or a linux-image-* package name)" ;;
  esac
done
[ ${#files[@]} -gt 0 ] || files=(tests/limits_test.ts tests/lifecycle_test.ts tests/isolation_test.ts)
for f in "${files[@]}"; do [ -f "$f" ] || die "no such test file: $f"; done

[ "${SANDBOX_TS_VM:-}" = skip ] && skip "SANDBOX_TS_VM=skip"
[ "$(uname -m)" = x86_64 ] || skip "the guest kernels are amd64 and this host is $(uname -m)"
# 9p paths go through the kernel command line and an env file: keep them plain.
case "$root" in *[!A-Za-z0-9_./+@-]*) skip "the tree's path has characters the guest setup does not quote: $root" ;; esac
deno=$(scripts/ensure-deno.sh) || die "no Deno"
make -s -C launcher || die "the launcher does not build"
deno=$(readlink -f "$deno")

# --- host tools -------------------------------------------------------------------------------
missing=()
command -v qemu-system-x86_64 >/dev/null || missing+=(qemu-system-x86)
[ -x /bin/busybox ] && /bin/busybox --list 2>/dev/null | grep -qx switch_root || missing+=(busybox-static)
command -v modprobe >/dev/null || missing+=(kmod)
command -v xz >/dev/null || missing+=(xz-utils)
command -v cpio >/dev/null || missing+=(cpio)
[ "$mode" = systemd ] && ! command -v debootstrap >/dev/null && missing+=(debootstrap)
if [ ${#missing[@]} -gt 0 ]; then
  [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null ||
    skip "needs ${missing[*]} (Debian packages; run as root to have them installed)"
  echo "vm: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  { apt-get install -y -qq --no-install-recommends "${missing[@]}" ||
    { apt-get update -qq && apt-get install -y -qq --no-install-recommends "${missing[@]}"; }; } \
    >/dev/null 2>&1 || skip "could not install ${missing[*]}"
fi
ldd /bin/busybox >/dev/null 2>&1 && skip "/bin/busybox is not static (install busybox-static)"

cache=${SANDBOX_TS_VM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/sandbox-ts/vm}
mkdir -p "$cache/debs" "$cache/kernel" "$cache/initrd" "$cache/runs" || skip "cannot create $cache"
cache=$(cd "$cache" && pwd -P)
case "$cache" in *[!A-Za-z0-9_./+@-]*) skip "the cache path has unusual characters: $cache" ;; esac

# The kernel package a SPEC names, from apt's lists (or the cache when apt knows none).
resolve() {
  local pkg=""
  case "$1" in
    newest)
      local meta
      meta=$(apt-cache search --names-only '^linux-image-6\.[0-9]+-amd64$' 2>/dev/null |
        awk '{ print $1 }' | sort -V | tail -1)
      [ -n "$meta" ] || meta=linux-image-amd64
      pkg=$(apt-cache depends "$meta" 2>/dev/null | awk '$1 == "Depends:" && $2 ~ /^linux-image-[0-9]/ { print $2; exit }')
      [ -n "$pkg" ] || pkg=$(ls "$cache/kernel" | sort -V | tail -1)
      ;;
    debian12)
      if grep -q '^12' /etc/debian_version 2>/dev/null; then
        pkg=$(apt-cache depends linux-image-amd64 2>/dev/null | awk '$1 == "Depends:" && $2 ~ /^linux-image-6\.1\./ { print $2; exit }')
      fi
      [ -n "$pkg" ] || pkg=$(ls "$cache/kernel" | grep '^linux-image-6\.1\.' | sort -V | tail -1)
      ;;
    *) pkg=$1 ;; # linux-image-*, checked above
  esac
  echo "$pkg"
}

# Unpacks a kernel package into the cache (once); prints its directory.
fetch_kernel() {
  local pkg=$1 kdir=$cache/kernel/$1 deb kv
  if [ ! -d "$kdir" ]; then
    deb=$(ls "$cache/debs/${pkg}_"*.deb 2>/dev/null | head -1)
    if [ -z "$deb" ]; then
      echo "vm: downloading $pkg" >&2
      (cd "$cache/debs" && apt-get download -qq "$pkg" >/dev/null 2>&1) ||
        { apt-get update -qq >/dev/null 2>&1 && (cd "$cache/debs" && apt-get download -qq "$pkg" >/dev/null 2>&1); } ||
        return 1
      deb=$(ls "$cache/debs/${pkg}_"*.deb | head -1)
    fi
    rm -rf "$kdir.partial"
    dpkg-deb -x "$deb" "$kdir.partial" || return 1
    kv=$(ls "$kdir.partial/lib/modules")
    depmod -b "$kdir.partial" "$kv" || return 1
    mv "$kdir.partial" "$kdir"
  fi
  echo "$kdir"
}

# The initramfs for a kernel: busybox, scripts/vm/{init,stage2,delegate}.sh and the modules for
# virtio-9p and overlayfs (cached, keyed by the kernel and the scripts' contents).
mods="9p 9pnet_virtio virtio_pci overlay virtio_rng"
build_initrd() {
  local kdir=$1 kver=$2 key ir out ko base
  local init=scripts/vm/init.sh
  [ "$mode" = systemd ] && init=scripts/vm/systemd-init.sh
  key=$(cat $init scripts/vm/stage2.sh scripts/vm/delegate.sh <(echo "$mods") | sha256sum | cut -c1-12)
  out=$cache/initrd/$kver-$mode-$key.cpio.gz
  if [ ! -f "$out" ]; then
    ir=$(mktemp -d "$cache/initrd/build.XXXXXX")
    mkdir -p "$ir"/bin "$ir"/proc "$ir"/sys "$ir"/dev "$ir"/lower "$ir"/upper "$ir"/newroot "$ir"/out "$ir"/modules
    cp /bin/busybox "$ir/bin/busybox"
    : >"$ir/modules.list"
    # insmod lines in load order; built-in ones are not listed.
    modprobe -d "$kdir" -S "$kver" --show-depends -a $mods 2>/dev/null | awk '$1 == "insmod" && !seen[$2]++ { print $2 }' |
      while read -r ko; do
        base=$(basename "$ko")
        case "$base" in
          *.ko.xz) xz -dc "$ko" >"$ir/modules/${base%.xz}"; base=${base%.xz} ;;
          *.ko.zst) zstd -qdc "$ko" >"$ir/modules/${base%.zst}"; base=${base%.zst} ;;
          *) cp "$ko" "$ir/modules/$base" ;;
        esac
        echo "$base" >>"$ir/modules.list"
      done
    cp "$init" "$ir/init"
    cp scripts/vm/stage2.sh "$ir/stage2.sh"
    cp scripts/vm/delegate.sh "$ir/delegate.sh"
    chmod 755 "$ir/init" "$ir/stage2.sh" "$ir/delegate.sh"
    (cd "$ir" && find . | cpio -o -H newc --quiet | gzip -1) >"$out.tmp" && mv "$out.tmp" "$out"
    rm -rf "$ir"
    for f in "$cache/initrd/$kver-$mode-"*.cpio.gz; do [ "$f" = "$out" ] || rm -f "$f"; done
  fi
  echo "$out"
}

# The systemd image: Debian 12 minbase with systemd, logind and a user manager's D-Bus, python3
# for the tests, and a normal user (cached; rebuilt when this list changes).
image=""
if [ "$mode" = systemd ]; then
  pkgs=systemd,systemd-sysv,dbus,dbus-user-session,libpam-systemd,python3-minimal,util-linux,procps
  image=$cache/systemd/$(echo "$pkgs" | sha256sum | cut -c1-12)
  if [ ! -d "$image" ]; then
    [ "$(id -u)" = 0 ] || skip "building the systemd image needs root (debootstrap)"
    echo "vm: building the systemd image (debootstrap bookworm, about a minute)"
    rm -rf "$image.partial" && mkdir -p "$cache/systemd"
    debootstrap --variant=minbase --include="$pkgs" bookworm "$image.partial" http://deb.debian.org/debian \
      >"$cache/systemd/debootstrap.log" 2>&1 || skip "debootstrap failed (see $cache/systemd/debootstrap.log)"
    chroot "$image.partial" useradd -m -u 1000 -s /bin/sh tester || die "cannot add the user"
    mv "$image.partial" "$image"
  fi
  files=(tests/limits_test.ts)
fi

# Boots $kver once with $files; adds its passes to the totals. Returns 1 when the guest died
# before its last pass without a failed pass or a timeout, on the first attempt ($1): nothing is
# counted then, and the caller boots it again.
boot() {
  local attempt=$1 out log t0 qrc rc n want p f tag=FAIL
  out=$(mktemp -d "$cache/runs/run.XXXXXX")
  {
    echo "VM_TREE=$root"
    echo "VM_OUT=$out"
    echo "VM_KDIR=$kdir"
    echo "VM_KVER=$kver"
    echo "VM_IMAGE=$image"
    echo "VM_DENO=$deno"
    printf 'VM_SYSTEMD_FILES=%q\n' "${SANDBOX_TS_VM_SYSTEMD_FILES:-}"
  } >"$out/env"
  printf 'VM_ROOT_ONLY=%q VM_FILTER=%q exec bash scripts/vm/guest-tests.sh %q' "$root_only" "$filter" "$deno" >"$out/cmd.sh"
  printf ' %q' "${files[@]}" >>"$out/cmd.sh"
  echo >>"$out/cmd.sh"
  echo "== vm: $kver ($pkg), $mode, ${SANDBOX_TS_VM_CPUS:-2} CPUs, ${SANDBOX_TS_VM_MEM:-3G}, $accel: ${files[*]}"
  t0=$SECONDS
  log="$out/guest.log"
  timeout -k 10 "${SANDBOX_TS_VM_TIMEOUT:-1200}" qemu-system-x86_64 \
    -machine q35 -accel "$accel" -cpu max -smp "${SANDBOX_TS_VM_CPUS:-2}" -m "${SANDBOX_TS_VM_MEM:-3G}" \
    -nodefaults -display none -monitor none -no-reboot \
    -kernel "$kdir/boot/vmlinuz-$kver" -initrd "$initrd" \
    -append "console=ttyS0 panic=-1 cgroup_no_v1=all quiet loglevel=3 systemd.show_status=0" \
    -serial "file:$out/console.log" -chardev stdio,id=o,signal=off -serial chardev:o \
    -fsdev "local,id=r,path=/,security_model=none,readonly=on,multidevs=remap" \
    -device virtio-9p-pci,fsdev=r,mount_tag=hostroot \
    -fsdev "local,id=w,path=$out,security_model=none,multidevs=remap" \
    -device virtio-9p-pci,fsdev=w,mount_tag=vmout \
    -device virtio-rng-pci -nic none </dev/null | sed -u 's/\r$//' | tee "$log"
  qrc=${PIPESTATUS[0]}
  rc=$(cat "$out/rc" 2>/dev/null)
  echo "vm: $kver: $((SECONDS - t0)) s (boot and every pass); guest exit ${rc:-none}, qemu exit $qrc"
  [ -f "$out/guest-info" ] && sed 's/^/vm: guest /' "$out/guest-info"
  n=$(grep -c '^vm-pass ' "$log")
  want=$(sed -n 's/^vm-expect \([0-9]*\)$/\1/p' "$log" | head -1)
  want=${want:-1}
  if [ "$n" != "$want" ]; then
    [ "$qrc" = 124 ] && echo "vm: timed out after ${SANDBOX_TS_VM_TIMEOUT:-1200} s (SANDBOX_TS_VM_TIMEOUT)"
    echo "vm: the guest did not finish all its passes ($n of $want); its console (whole: $cache/runs/last-failed-console.log):"
    tail -30 "$out/console.log"
    cp "$out/console.log" "$cache/runs/last-failed-console.log"
    if [ "$attempt" = 1 ] && [ "$n" -lt "$want" ] && [ "$qrc" != 124 ] &&
      ! grep -qE '^vm-pass .*, [1-9][0-9]* failed' "$log"; then
      tag=RETRY
    fi
    # Where the tests stopped and the kernel's last words, in lines scripts/test.sh repeats at
    # the end of its output (CI shows only the end).
    echo "vm $tag $kver: $n of $want passes finished (qemu exit $qrc, guest exit ${rc:-none}, $((SECONDS - t0)) s)"
    grep -v '^$' "$log" | tail -8 | cut -c1-200 | sed "s/^/vm $tag tests| /"
    grep -v '^$' "$out/console.log" | tail -12 | cut -c1-200 | sed "s/^/vm $tag console| /"
    if [ "$tag" = RETRY ]; then
      echo "vm: booting $kver once more (the guest died without a failed pass)"
      rm -rf "$out"
      return 1
    fi
    failed=$((failed + (n < want ? want - n : 1)))
  fi
  while read -r _ label; do
    p=$(sed -E 's/.*: ([0-9]+) passed.*/\1/' <<<"$label")
    f=$(sed -E 's/.*, ([0-9]+) failed.*/\1/' <<<"$label")
    passed=$((passed + p))
    failed=$((failed + f))
  done < <(grep '^vm-pass ' "$log")
  rm -rf "$out"
}

# Without KVM, qemu's TCG runs both vCPUs on one host thread (thread=single). With a thread per
# vCPU (the default), a vCPU can still run code another one has just patched: the guest kernel
# patches its text with int3 while a static key flips (CFS bandwidth's, when the first CPU quota
# is set; sched_clock's at boot), and Debian's 6.12 guests then died of "Oops: int3" in
# enqueue_entity or sched_clock_cpu ("Fatal exception in interrupt") in 3 of 18 boots (4 CI runs).
accel=tcg,thread=single
[ -w /dev/kvm ] && accel=kvm
passed=0
failed=0
for spec in "${kernels[@]}"; do
  pkg=$(resolve "$spec")
  [ -n "$pkg" ] || skip "no kernel package for \"$spec\" (apt-get update, or pass --kernel linux-image-...)"
  kdir=$(fetch_kernel "$pkg") || skip "cannot download $pkg (no network or apt lists?)"
  kver=$(ls "$kdir/lib/modules")
  initrd=$(build_initrd "$kdir" "$kver") || die "cannot build the initramfs for $kver"
  # A guest that died before its last pass (qemu or the guest kernel gone, not a timeout, no
  # pass failed) is booted once more: its output says so in "vm RETRY" lines, which
  # scripts/test.sh repeats at the end of its output, and the second boot's passes count.
  for attempt in 1 2; do
    boot "$attempt" && break
  done
done
echo "vm: $passed passed, $failed failed"
[ "$failed" = 0 ]
