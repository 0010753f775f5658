#!/bin/busybox sh
# /init of the initramfs for `scripts/vm-test.sh --systemd`: the debootstrap image (a directory
# on the host, shared read-only over 9p) under a tmpfs overlay becomes the root; the host's /work
# tree is reachable read-only (Deno), the project tree is a private writable copy; a oneshot unit
# runs scripts/vm/systemd-guest.sh once the system is up; then switch_root into systemd.
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
log() { echo "vm-init: [$(cut -d' ' -f1 /proc/uptime)] $*" >&2; }
fatal() { log "FATAL: $*"; echo o >/proc/sysrq-trigger; sleep 10; exit 1; }
for m in $(cat /modules.list); do insmod "/modules/$m" || log "insmod $m failed"; done
o9p=trans=virtio,version=9p2000.L,msize=512000
mount -t 9p -o "$o9p,cache=none" vmout /out || fatal "cannot mount the out share"
. /out/env
mount -t 9p -o "$o9p,ro,cache=loose" hostroot /lower || fatal "cannot mount the host root"
mount -t tmpfs -o mode=0755 upper /upper
mkdir -p /upper/u /upper/w
mount -t overlay -o lowerdir=/lower$VM_IMAGE,upperdir=/upper/u,workdir=/upper/w vmroot /newroot ||
  fatal "cannot mount the overlay root"
n=/newroot
# Deno and the project live under the host's tree; the guest sees them at the same paths, under
# a tmpfs overlay: that top directory may be /tmp (a CI checkout), which the guest needs writable.
top=/$(echo "$VM_TREE" | cut -d/ -f2)
mkdir -p $n$top /upper/tu /upper/tw
mount -t overlay -o lowerdir=/lower$top,upperdir=/upper/tu,workdir=/upper/tw vmtop $n$top ||
  fatal "cannot mount the overlay of $top"
mount -t tmpfs -o mode=0755,size=50% tree $n$VM_TREE
cp -a /lower$VM_TREE/. $n$VM_TREE/ || fatal "cannot copy the tree"
mkdir -p $n/lib/modules/$VM_KVER $n$VM_OUT $n/etc/systemd/system/multi-user.target.wants
mount --bind /lower$VM_KDIR/lib/modules/$VM_KVER $n/lib/modules/$VM_KVER
mount --move /out $n$VM_OUT
cp $n$VM_OUT/env $n/etc/vm-env
cat >$n/etc/systemd/system/vm-tests.service <<UNIT
[Unit]
Description=sandbox-ts tests
After=multi-user.target systemd-logind.service
[Service]
Type=oneshot
ExecStart=/bin/bash $VM_TREE/scripts/vm/systemd-guest.sh
StandardOutput=tty
StandardError=inherit
TTYPath=/dev/ttyS1
UNIT
ln -sf /etc/systemd/system/vm-tests.service $n/etc/systemd/system/multi-user.target.wants/
echo sandbox-ts-vm >$n/etc/hostname
log "root ready"
exec switch_root $n /sbin/init
