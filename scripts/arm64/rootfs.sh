#!/usr/bin/env bash
# The Debian 12 (bookworm) arm64 userland of `scripts/arm64-test.sh --suite`: debootstrap
# --foreign --arch=arm64 --variant=minbase with what the tests use, its second stage run on this
# host under qemu-user (Debian's qemu-user-static, downloaded and unpacked, never installed)
# registered in binfmt_misc inside a private user namespace (Linux 6.7+: the registration is seen
# by that namespace only, never by the host), then an ext4 image made from the tree (mke2fs -d).
#
#   scripts/arm64/rootfs.sh CACHE
#
# Prints the image's path (CACHE/rootfs/bookworm-KEY.img, KEY a hash of the package list: a new
# list builds a new image). Exit 77 with "arm64: skipped: REASON" where it cannot be built (not
# root, no debootstrap and no apt, no network, no binfmt_misc in a user namespace). Measured once
# here (2 shared cores): first stage 74 s, second stage under qemu-user 7 min 44 s (12 min beside
# a running aarch64 guest), image 3 s;
# 553 MiB of files, a 1.1 GB image.
set -uo pipefail
cache=$1
skip() { echo "arm64: skipped: $*"; exit 77; }
log() { echo "arm64: $*" >&2; }
# The tests' programs (scripts/test.sh installs the same on x86_64, less the large workloads:
# the JDK, PostgreSQL, Node, CMake and clang are left out; their tests say they are skipped).
pkgs=bash,coreutils,util-linux,procps,iproute2,kmod,findutils,python3,gcc,g++,libc6-dev,make,git,seccomp,curl,ca-certificates,iputils-ping,netcat-openbsd
key=$(echo "$pkgs" | sha256sum | cut -c1-12)
img=$cache/rootfs/bookworm-$key.img
[ -f "$img" ] && { echo "$img"; exit 0; }

[ "$(id -u)" = 0 ] || skip "building the arm64 rootfs needs root (debootstrap), once"
missing=()
command -v debootstrap >/dev/null || missing+=(debootstrap)
command -v mke2fs >/dev/null || missing+=(e2fsprogs)
if [ ${#missing[@]} -gt 0 ]; then
  log "installing ${missing[*]}"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null 2>&1 ||
    skip "needs ${missing[*]} (Debian packages) and could not install them"
fi
mkdir -p "$cache/rootfs" "$cache/debs" || skip "cannot create $cache/rootfs"

# qemu-user for the second stage: this host's architecture, unpacked into the cache.
qemu=$cache/qemu-user/usr/bin/qemu-aarch64-static
if [ ! -x "$qemu" ]; then
  deb=$(ls "$cache/debs/"qemu-user-static_*.deb 2>/dev/null | head -1)
  if [ -z "$deb" ]; then
    log "downloading qemu-user-static"
    (cd "$cache/debs" && apt-get download -qq qemu-user-static >/dev/null 2>&1) ||
      skip "cannot download qemu-user-static (no network or apt lists?)"
    deb=$(ls "$cache/debs/"qemu-user-static_*.deb | head -1)
  fi
  rm -rf "$cache/qemu-user" && dpkg-deb -x "$deb" "$cache/qemu-user" || skip "cannot unpack $deb"
fi

dir=$cache/rootfs/bookworm-$key.partial
rm -rf "$dir"
t0=$SECONDS
log "building the arm64 rootfs: debootstrap --foreign bookworm minbase + $pkgs"
debootstrap --foreign --arch=arm64 --variant=minbase --include="$pkgs" bookworm "$dir" \
  http://deb.debian.org/debian >"$cache/rootfs/debootstrap.log" 2>&1 ||
  skip "debootstrap's first stage failed (no network? see $cache/rootfs/debootstrap.log)"
t1=$SECONDS
log "first stage: $((t1 - t0)) s; second stage under qemu-user in a user namespace"

# The second stage as root of a user namespace that maps uids and gids 0-65535 onto the same
# host ids (the files get their real owners), with its own mount, pid and network namespaces and
# its own binfmt_misc instance: aarch64 ELF files run through qemu-aarch64-static (flag F: the
# interpreter is opened now, so it need not be inside the chroot). container=lxc: debootstrap
# then neither mknods a test device (refused in a user namespace) nor recreates /dev.
magic='\x7fELF\x02\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\xb7\x00'
mask='\xff\xff\xff\xff\xff\xff\xff\x00\xff\xff\xff\xff\xff\xff\xff\xff\xfe\xff\xff\xff'
inner='set -e
mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc
printf "%s\n" ":qemu-aarch64:M::$2:$3:$4:FC" >/proc/sys/fs/binfmt_misc/register
mount -t proc proc /proc
container=lxc chroot "$1" /debootstrap/debootstrap --second-stage'
fifo=$(mktemp -u "$cache/rootfs/go.XXXXXX")
mkfifo "$fifo" || skip "cannot make a fifo"
unshare --user --mount --pid --net --fork --kill-child -- \
  bash -c 'read -r _ <"$0"; shift; exec bash -c "$@"' "$fifo" _ "$inner" _ "$dir" "$magic" "$mask" "$qemu" \
  >>"$cache/rootfs/debootstrap.log" 2>&1 &
ns=$!
for _ in $(seq 100); do
  [ "$(readlink /proc/$ns/ns/user)" != "$(readlink /proc/self/ns/user)" ] && break
  sleep 0.05
done
if ! { echo "0 0 65536" >/proc/$ns/uid_map && echo "0 0 65536" >/proc/$ns/gid_map; } 2>/dev/null; then
  kill $ns 2>/dev/null
  rm -f "$fifo"
  skip "cannot map ids 0-65535 into a user namespace for debootstrap's second stage"
fi
echo go >"$fifo"
wait $ns
rc=$?
rm -f "$fifo"
[ "$rc" = 0 ] || skip "debootstrap's second stage under qemu-user failed (binfmt_misc in a user namespace needs Linux 6.7+; see $cache/rootfs/debootstrap.log)"
t2=$SECONDS
log "second stage: $((t2 - t1)) s"

rm -rf "$dir"/var/cache/apt/archives/*.deb "$dir"/var/lib/apt/lists/* "$dir/debootstrap"
echo arm64-guest >"$dir/etc/hostname"
# Room for the tests' writes to the root (the image is used with snapshot=on: never changed).
size=$(($(du -sm "$dir" | cut -f1) + 512))
mke2fs -q -t ext4 -L sbx-root -d "$dir" "$img.tmp" "${size}M" >&2 || skip "mke2fs -d failed"
mv "$img.tmp" "$img" && rm -rf "$dir"
log "rootfs image $img (${size} MiB): $((SECONDS - t0)) s in all"
echo "$img"
