#!/bin/busybox sh
# The aarch64 guest's /init (scripts/arm64-test.sh builds the initramfs; busybox only). Stage 1
# moves everything onto a tmpfs and switch_roots there (pivot_root, which the launcher uses,
# refuses an initramfs root); stage 2 (this script again, as "stage2") mounts the kernel
# filesystems, prints the launcher's --features, feeds each case's frame to the static
# launcher — as root, or as uid 65534 through the probe's -u — and prints the case's exit code,
# stdout, stderr and status records on the console, then powers off.
export PATH=/bin
if [ "$1" != stage2 ]; then
  /bin/busybox mkdir -p /proc /newroot
  /bin/busybox mount -t proc proc /proc
  /bin/busybox mount -t tmpfs -o mode=0755 root /newroot
  for e in /*; do
    case "$e" in /proc | /newroot | /dev | /sys) ;; *) /bin/busybox cp -a "$e" /newroot/ ;; esac
  done
  /bin/busybox umount /proc
  exec /bin/busybox switch_root /newroot /bin/busybox sh /init stage2
fi
/bin/busybox --install -s /bin
mkdir -p /proc /sys /dev /tmp /etc /run
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mount -t tmpfs -o mode=1777 tmp /tmp
mount -t tmpfs -o mode=0755 run /run
hostname arm64-guest
ip link set lo up 2>/dev/null
echo "root:x:0:0:root:/:/bin/sh" >/etc/passwd
echo "@@guest kernel=$(uname -r) machine=$(uname -m) cpus=$(nproc) uptime=$(cut -d' ' -f1 /proc/uptime)"
echo "@@features $(/sbx/sandbox-launcher --features 2>&1 | tr '\n' ' ')"
for f in /cases/*.frame; do
  n=${f##*/}
  n=${n%.frame}
  i=$((1$n - 1000))
  uid=$(cat /cases/$n.uid)
  d=/tmp/s$i
  mkdir -m 0700 $d && chown $uid:$uid $d
  if [ "$uid" = 0 ]; then
    /sbx/sandbox-launcher <"$f" >$d/out 2>$d/err
  else
    /bin/sysprobe -u "$uid" /sbx/sandbox-launcher <"$f" >$d/out 2>$d/err
  fi
  rc=$?
  echo "@@case $i rc=$rc"
  sed 's/^/@@out /' $d/out
  sed 's/^/@@err /' $d/err
  [ -f $d/status ] && sed 's/^/@@status /' $d/status
done
# With Deno's arm64 build in the image (--deno): the library itself, in the guest.
[ -f /tree/scripts/arm64/deno-guest.sh ] && sh /tree/scripts/arm64/deno-guest.sh
echo "@@done uptime=$(cut -d' ' -f1 /proc/uptime)"
sync
poweroff -f
