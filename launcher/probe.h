/* probe.h — host facts from /proc, /sys and the host's root, for callers Deno keeps out of them. */
#pragma once

/* The host part of `--features PATH...` (JSON members, no braces): /proc facts, cgroup mounts,
 * our own cgroups, and the kind of each PATH. */
void probe_host_print(int npaths, char **paths);
/* `--cgroup-info DIR...`: each cgroup directory's controllers and knobs, as JSON. */
int probe_cgroup_info(int n, char **dirs);
/* `--cgroup-container DIR [CTL...]`: creates DIR, enables CTLs for its children, sweeps the run
 * cgroups no launcher holds, and prints DIR's info; exit 125 with the step, path and errno. */
int probe_cgroup_container(const char *dir, int nctl, char **ctls);

/* --cgroup-move DIR PID: creates DIR (when missing) and moves this process and then PID into it.
 * Prints DIR as --cgroup-info does. */
int probe_cgroup_move(const char *dir, const char *pid);
