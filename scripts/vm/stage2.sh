#!/bin/sh
# The guest's PID 1 in the real (overlay) root: the cgroup layout of a systemd host, the command
# (stdout+stderr to the second serial port, a pipe as under CI), its exit status to the out
# share, power off.
. /run/vm/env
export PATH=/run/vm/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export HOME=/root LANG=C.UTF-8 TERM=dumb NO_COLOR=1 DENO_NO_UPDATE_CHECK=1 SANDBOX_TS_VM=1
bb=/run/vm/bin/busybox
finish() {
  echo "$1" >"$VM_OUT/rc"
  $bb dmesg >"$VM_OUT/dmesg.txt" 2>&1
  sync
  $bb poweroff -f
  echo o >/proc/sysrq-trigger
  while :; do $bb sleep 60; done
}
$bb hostname sandbox-ts-vm
$bb ip link set lo up 2>/dev/null
. "$VM_TREE"/scripts/vm/cgroup-layout.sh
echo "controllers=$(cat $cg/cgroup.controllers)" >"$VM_OUT/guest-info"
echo "kernel=$(uname -r)" >>"$VM_OUT/guest-info"
stty -F /dev/ttyS1 raw -echo 2>/dev/null
mkfifo /run/vm/out.fifo
cat /run/vm/out.fifo >/dev/ttyS1 &
drain=$!
/bin/sh -c 'echo $$ >"$1/cgroup.procs" && cd "$2" && exec bash /run/vm/cmd.sh' vm \
  "$cg/user.slice/user-0.slice/session-1.scope" "$VM_TREE" </dev/null >/run/vm/out.fifo 2>&1
rc=$?
# A process left behind holding the pipe gets 10 s before the drain stops.
($bb sleep 10; kill $drain 2>/dev/null) &
wait $drain
finish $rc
