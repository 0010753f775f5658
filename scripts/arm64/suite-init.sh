#!/bin/busybox sh
# /init of the small initramfs of `scripts/arm64-test.sh --suite` (busybox, the virtio-blk and
# ext4 modules): mounts the Debian arm64 root (disk labelled sbx-root, a snapshot: writes are
# dropped at power-off) and the run's disk (sbx-run: the tree, Deno, the kernel's modules, the
# logs), then switch_roots and runs scripts/arm64/suite-guest.sh there as PID 1.
/bin/busybox --install -s /bin
export PATH=/bin
mkdir -p /proc /sys /dev /newroot
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
fatal() { echo "@@fatal $*"; echo o >/proc/sysrq-trigger; sleep 10; exit 1; }
for m in $(cat /modules.list); do insmod "/modules/$m" || echo "@@info insmod $m failed"; done
for _ in 1 2 3 4 5 6 7 8 9 10; do
  r=$(findfs LABEL=sbx-root 2>/dev/null) && w=$(findfs LABEL=sbx-run 2>/dev/null) && break
  sleep 1
done
[ -n "$r" ] && [ -n "$w" ] || fatal "no disks labelled sbx-root and sbx-run"
mount -t ext4 "$r" /newroot || fatal "cannot mount $r"
mkdir -p /newroot/sbx
mount -t ext4 "$w" /newroot/sbx || fatal "cannot mount $w"
mount --move /dev /newroot/dev
umount /sys /proc
exec switch_root /newroot /bin/bash /sbx/tree/scripts/arm64/suite-guest.sh
