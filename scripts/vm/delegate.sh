#!/bin/sh
# vm-delegate UID CMD... — run CMD as UID (gid UID) in a cgroup v2 scope delegated to it the way
# systemd delegates: user@UID.service is chowned to UID (the system manager's Delegate=yes on
# user@.service) and belongs to UID's own manager, which keeps itself in init.scope; CMD runs in
# app.slice/vm-tests.scope, a scope with Delegate=yes (what `systemd-run --user --scope -p
# Delegate=yes CMD` gives: the scope's directory and its cgroup.procs, cgroup.subtree_control
# and cgroup.threads are UID's, and CMD is its only process). HOME is a fresh directory.
# VM_DELEGATE_CONTROLLERS (default "memory pids cpu") are enabled on the way down.
set -e
u=$1
shift
cg=/sys/fs/cgroup
ctls=${VM_DELEGATE_CONTROLLERS:-memory pids cpu}
has() { case " $(cat "$1/cgroup.controllers") " in *" $2 "*) return 0 ;; esac; return 1; }
enable() { for c in $ctls; do if has "$1" "$c"; then echo "+$c" >"$1/cgroup.subtree_control"; fi; done; }
svc=$cg/user.slice/user-$u.slice/user@$u.service
mkdir -p "$svc"
enable $cg/user.slice
enable $cg/user.slice/user-$u.slice
chown "$u:$u" "$svc" "$svc/cgroup.procs" "$svc/cgroup.threads" "$svc/cgroup.subtree_control"
# What UID's manager does as UID: init.scope for itself, app.slice, and the delegated scope.
setpriv --reuid "$u" --regid "$u" --clear-groups sh -c '
  for c in $2; do case " $(cat "$1/cgroup.controllers") " in *" $c "*) echo "+$c" >"$1/cgroup.subtree_control";; esac; done
  mkdir -p "$1/init.scope" "$1/app.slice/vm-tests.scope"
  for c in $2; do case " $(cat "$1/app.slice/cgroup.controllers") " in *" $c "*) echo "+$c" >"$1/app.slice/cgroup.subtree_control";; esac; done' \
  vm "$svc" "$ctls"
echo $$ >"$svc/app.slice/vm-tests.scope/cgroup.procs"
home=/tmp/vm-home-$u
mkdir -p "$home"
chown "$u:$u" "$home"
export HOME="$home" DENO_DIR="$home/deno"
exec setpriv --reuid "$u" --regid "$u" --clear-groups "$@"
