# Sourced by a VM guest's PID 1 (scripts/vm/stage2.sh, scripts/arm64/suite-guest.sh): the cgroup v2
# tree as systemd lays it out — PID 1 in init.scope, a root login in user-0.slice/session-1.scope —
# with cpu, io, memory and pids enabled down to the login's slice. Sets cg (the mount point).
cg=/sys/fs/cgroup
has() { case " $(cat "$1/cgroup.controllers") " in *" $2 "*) return 0 ;; esac; return 1; }
enable() { for c in cpu io memory pids; do has "$1" "$c" && echo "+$c" >"$1/cgroup.subtree_control"; done; }
enable $cg
mkdir -p $cg/init.scope $cg/user.slice/user-0.slice/session-1.scope
echo $$ >$cg/init.scope/cgroup.procs
enable $cg/user.slice
enable $cg/user.slice/user-0.slice
