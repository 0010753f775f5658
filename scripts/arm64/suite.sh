#!/usr/bin/env bash
# The host side of `scripts/arm64-test.sh --suite` for one kernel (arm64-test.sh resolves the
# kernel, cross-builds the launcher and fetches Deno's arm64 build first): the Debian arm64 root
# image (scripts/arm64/rootfs.sh, cached), the kernel's modules (cached), a small initramfs
# (busybox, virtio-blk and ext4), a disk for the run (a copy of the tree with the cross-built
# launcher, Deno, the modules; the logs come back on it), then qemu-system-aarch64 (TCG, 2 CPUs,
# 4 GiB) running scripts/arm64/suite-guest.sh. Prints deno test's output per pass and one
# "arm64-suite LABEL: N passed, M failed, K ignored (S s)" line per pass; exit 77 = skipped.
#
#   scripts/arm64/suite.sh CACHE KERNEL_IMAGE KERNEL_DEB DENO_ARM64 LAUNCHER
#
# Environment: SANDBOX_TS_ARM64_TIMEOUT (seconds, default 7200), SANDBOX_TS_ARM64_PASSES
# ("root 65534"), SANDBOX_TS_ARM64_FILTER (deno test --filter), SANDBOX_TS_ARM64_FILES (default
# tests/).
set -uo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd -P)
cd "$root"
cache=$1 kimg=$2 kdeb=$3 deno_arm64=$4 launcher=$5
kver=${kimg##*/vmlinuz-}
die() { echo "arm64: $*" >&2; echo "arm64-suite setup: 0 passed, 1 failed"; exit 1; }
t0=$SECONDS

image=$(scripts/arm64/rootfs.sh "$cache")
rc=$?
[ "$rc" = 77 ] && { echo "$image"; exit 77; }
[ "$rc" = 0 ] || die "the rootfs was not built"
echo "arm64: rootfs $image ($((SECONDS - t0)) s)"

# The kernel's modules (overlay, loop, veth... for the tests; virtio-blk and ext4 for the root).
mods=$cache/modules/$kver
if [ ! -f "$mods/lib/modules/$kver/modules.dep" ]; then
  rm -rf "$mods.partial" && mkdir -p "$mods.partial" &&
    dpkg-deb --fsys-tarfile "$kdeb" | tar -x -C "$mods.partial" ./lib/modules &&
    depmod -b "$mods.partial" "$kver" && rm -rf "$mods" && mv "$mods.partial" "$mods" ||
    die "cannot unpack the modules of $kdeb"
fi

run=$(mktemp -d "$cache/runs/suite.XXXXXX")
ir=$run/initrd
mkdir -p "$ir/bin" "$ir/modules"
cp "$cache/busybox/bin/busybox" "$ir/bin/"
: >"$ir/modules.list"
while read -r ko; do
  base=$(basename "$ko")
  case "$base" in
    *.ko.xz) xz -dc "$ko" >"$ir/modules/${base%.xz}" && base=${base%.xz} ;;
    *) cp "$ko" "$ir/modules/$base" ;;
  esac
  echo "$base" >>"$ir/modules.list"
done < <(modprobe -d "$mods" -S "$kver" --show-depends -a virtio_blk ext4 | awk '$1 == "insmod" && !seen[$2]++ { print $2 }')
cp scripts/arm64/suite-init.sh "$ir/init" && chmod 0755 "$ir/init"
(cd "$ir" && find . | cpio -o -H newc --quiet | gzip -1) >"$run/initrd.cpio.gz" || die "cannot build the initramfs"

# The run's disk: the tree as a checkout has it (no .git, no host build), the aarch64 launcher in
# place (its build id is the sources'), Deno, the modules; room for the tests and the logs.
d=$run/disk
mkdir -p "$d/tree" "$d/modules"
git ls-files -z --cached --others --exclude-standard | xargs -0 cp --parents -p -t "$d/tree" 2>/dev/null ||
  tar -C "$root" --exclude=.git --exclude=.tools --exclude=launcher/build --exclude=launcher/sandbox-launcher -cf - . |
  tar -C "$d/tree" -xf -
cp "$launcher" "$d/tree/launcher/sandbox-launcher"
cp "$deno_arm64" "$d/deno"
cp -a "$mods/lib/modules/$kver" "$d/modules/"
{
  echo "SUITE_KVER=$kver"
  printf 'SUITE_PASSES=%q\n' "${SANDBOX_TS_ARM64_PASSES:-root 65534}"
  printf 'SUITE_FILTER=%q\n' "${SANDBOX_TS_ARM64_FILTER:-}"
  printf 'SUITE_FILES=%q\n' "${SANDBOX_TS_ARM64_FILES:-tests/}"
} >"$d/env"
size=$(($(du -sm "$d" | cut -f1) + 1024))
mke2fs -q -t ext4 -L sbx-run -d "$d" "$run/run.img" "${size}M" >/dev/null || die "cannot make the run's disk"
rm -rf "$d"
echo "arm64: image, modules, initramfs and the run's disk: $((SECONDS - t0)) s"

echo "== arm64 suite: $kver, Debian 12 arm64 root, qemu-system-aarch64 TCG, 2 CPUs, 4 GiB"
t1=$SECONDS
timeout -k 10 "${SANDBOX_TS_ARM64_TIMEOUT:-7200}" qemu-system-aarch64 \
  -machine virt -cpu max,pauth-impdef=on -smp 2 -m 4G \
  -nodefaults -display none -monitor none -no-reboot -serial stdio -nic none \
  -kernel "$kimg" -initrd "$run/initrd.cpio.gz" \
  -drive "file=$image,if=none,id=r,format=raw,snapshot=on" -device virtio-blk-pci,drive=r \
  -drive "file=$run/run.img,if=none,id=w,format=raw" -device virtio-blk-pci,drive=w \
  -device virtio-rng-pci \
  -append "console=ttyAMA0 quiet loglevel=1 panic=-1" </dev/null 2>&1 |
  sed -u 's/\r$//' | tee "$run/console.log" | grep --line-buffered -E '^@@(guest|info|pass|fatal|done)' |
  sed -u 's/^@@/arm64-suite: /'
qrc=${PIPESTATUS[0]}
echo "arm64: the guest ran $((SECONDS - t1)) s; qemu exit $qrc (logs: $run)"
sed -n 's/^@@t //p' "$run/console.log" >"$run/deno-test.log"
# deno test's failure reports (its ERRORS and FAILURES sections), as scripts/test.sh shows them.
awk '/ ERRORS $/ || / FAILURES $/ { on = 1 } /^(ok|FAILED) \| [0-9]+ passed/ { print; on = 0 } on' \
  "$run/deno-test.log"
n=0
while read -r label rest; do
  echo "arm64-suite $label $rest"
  n=$((n + 1))
done < <(sed -n 's/^@@pass //p' "$run/console.log")
if ! grep -q '^@@done' "$run/console.log"; then
  [ "$qrc" = 124 ] && echo "arm64: timed out after ${SANDBOX_TS_ARM64_TIMEOUT:-7200} s (SANDBOX_TS_ARM64_TIMEOUT)"
  echo "arm64: the guest did not finish; its console's end:"
  grep -v '^@@t ' "$run/console.log" | tail -20
  grep '^@@t ' "$run/console.log" | tail -10
  # What the unfinished pass had reported: its tests' own result lines since it started.
  awk '/^@@info deno test as / { ok = 0; bad = 0; ig = 0; who = $5; sub(/:$/, "", who) }
    /^@@t .* \.\.\. ok/ { ok++ } /^@@t .* \.\.\. FAILED/ { bad++ } /^@@t .* \.\.\. ignored/ { ig++ }
    END { printf "arm64: the unfinished pass (%s) so far: %d ok, %d FAILED, %d ignored\n", who, ok, bad, ig }' \
    "$run/console.log"
  echo "arm64-suite unfinished: 0 passed, 1 failed"
fi
# Kept: the console and deno test's output; the disks go.
rm -rf "$run/run.img" "$run/initrd" "$run/initrd.cpio.gz"
