# Sourced by the test scripts: the system tools their stages call live in /usr/sbin (depmod,
# debootstrap, dockerd, runuser, netavark's iptables). A caller whose PATH lacks it (env -i, some
# CI runners) would see those stages skip or podman fail with "No such file or directory".
case ":$PATH:" in *:/usr/sbin:*) ;; *) PATH="$PATH:/usr/sbin:/sbin" ;; esac
