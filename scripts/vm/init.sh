#!/bin/busybox sh
# The guest's first stage (/init of the initramfs that scripts/vm-test.sh builds; busybox only):
# load the modules for virtio-9p and overlayfs, mount the host's / read-only over 9p under a
# tmpfs overlay, give the new root its kernel filesystems and cgroup2 (mounted as systemd mounts
# it), copy the project tree in, then switch_root and run stage2.sh there as PID 1.
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
mount -t overlay -o lowerdir=/lower,upperdir=/upper/u,workdir=/upper/w vmroot /newroot ||
  fatal "cannot mount the overlay root"
n=/newroot
mount --move /dev $n/dev
mount -t proc -o nosuid,nodev,noexec proc $n/proc
mount -t sysfs -o nosuid,nodev,noexec sysfs $n/sys
mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs $n/tmp
mount -t tmpfs -o mode=0755,nosuid,nodev tmpfs $n/run
mkdir -p $n/dev/pts $n/dev/shm $n/run/vm/bin
mount -t devpts -o newinstance,ptmxmode=0666,mode=620,gid=5 devpts $n/dev/pts
mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs $n/dev/shm
ln -sf /proc/self/fd $n/dev/fd
ln -sf /proc/self/fd/0 $n/dev/stdin
ln -sf /proc/self/fd/1 $n/dev/stdout
ln -sf /proc/self/fd/2 $n/dev/stderr
# systemd's options: nsdelegate makes a cgroup namespace a delegation boundary.
mount -t cgroup2 -o nsdelegate,memory_recursiveprot cgroup2 $n/sys/fs/cgroup ||
  mount -t cgroup2 -o nsdelegate cgroup2 $n/sys/fs/cgroup || fatal "cannot mount cgroup2"
mount -t securityfs securityfs $n/sys/kernel/security 2>/dev/null
mkdir -p $n/lib/modules/$VM_KVER
mount --bind /lower$VM_KDIR/lib/modules/$VM_KVER $n/lib/modules/$VM_KVER
mkdir -p $n$VM_OUT
mount --move /out $n$VM_OUT
# A private writable copy of the tree (tests write into it: the launcher's build, temp files).
mkdir -p $n$VM_TREE
mount -t tmpfs -o mode=0755,size=50% tree $n$VM_TREE
cp -a /lower$VM_TREE/. $n$VM_TREE/ || fatal "cannot copy the tree"
cp /stage2.sh $n/run/vm/stage2.sh
cp /delegate.sh $n/run/vm/bin/vm-delegate
cp /bin/busybox $n/run/vm/bin/busybox
cp $n$VM_OUT/env $n$VM_OUT/cmd.sh $n/run/vm/
log "root ready"
exec switch_root $n /bin/sh /run/vm/stage2.sh
