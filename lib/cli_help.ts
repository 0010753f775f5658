/**
 * The CLI's help texts (`sandbox help [COMMAND]`).
 *
 * @module
 */

import { EXIT } from "./abi.ts";
import { VERSION } from "./launcher.ts";

/** The CLI's own exit code for a usage error (the others are the launcher's: `EXIT`). */
export const USAGE = 2;

/** `sandbox help`. */
export const MAIN_HELP = `sandbox ${VERSION} — run programs in an isolated Linux sandbox

Usage:
  sandbox run [OPTIONS] [--] PROGRAM [ARGS...]   run one program; exit with its code
  sandbox [OPTIONS] [--] PROGRAM [ARGS...]       the same (the seed's direct mode; a program
                                                 named like a command needs "run")
  sandbox shell [OPTIONS] [-- PROGRAM [ARGS...]] an interactive shell (bash, else sh) in a
                                                 sandbox, on a terminal of its own
  sandbox session start|exec|cp|stop|list ...    a sandbox that stays up ("sandbox help session")
  sandbox doctor [--json]                        what this machine supports (alias: check)
  sandbox launcher                               build the launcher if needed; print its path
                                                 (what --allow-run names: README, "Deno permissions")
  sandbox profiles [NAME] [--numbers] [--bpf] [--json]
                                                 seccomp profiles and their syscalls (alias: seccomp)
  sandbox help [COMMAND]                         this help, or a command's
  --list-seccomp, --list-profiles, --check       the seed's aliases of profiles and doctor

Exit codes of run: the program's own; ${EXIT.signalBase}+N when killed by signal N; ${EXIT.timeout} timeout;
${EXIT.setup} sandbox setup failed; ${EXIT.notExecutable} program not executable; ${EXIT.notFound} program not found; ${USAGE} usage error.
"sandbox help run" lists the options of run.
`;

/** `sandbox help run`, `sandbox run --help`. */
export const RUN_HELP = `Usage: sandbox run [OPTIONS] [--] PROGRAM [ARGS...]
       sandbox [OPTIONS] [--] PROGRAM [ARGS...]

Runs PROGRAM in new user, pid, mount, uts, ipc, net and cgroup namespaces, on a private
read-only root (host /usr, /bin, /lib*, parts of /etc; fresh /proc, minimal /dev, tmpfs /tmp),
as uid 1000 with no capabilities, in a new session, with a clean environment.

Options:
  -P, --profile PRESET      the seed's security presets (not seccomp profiles: -s), applied
                            first; flags override them:
                            strict: 128M, 50% CPU, 30s, seccomp minimal
                            moderate: 512M, 75% CPU, 5m, seccomp io-heavy
                            permissive: 2G, 90% CPU, 1h, seccomp unrestricted
  -t, --timeout DURATION    wall-clock limit (500ms, 2s, 1m; a bare number is seconds);
                            kills every process of the run
  -m, --memory SIZE         memory limit, swap off (64M, 1.5G, 256MB)
  -c, --cpu PERCENT         CPU share in percent of one CPU (up to 100 x CPUs)
      --pids N              maximum processes and threads (default 2048)
      --cpu-time DURATION   CPU time per process, in whole seconds (RLIMIT_CPU)
      --open-files N        maximum open files per process
      --file-size SIZE      maximum size of a written file
      --max-output SIZE     cap on stdout + stderr (default 64M); past it the run is stopped
      --limits strict|best-effort
                            strict (default): fail when a limit cannot be enforced here;
                            best-effort: approximate with rlimits or drop, and report it
      --env KEY=VALUE       set an environment variable (repeatable); default only PATH
      --cwd DIR             working directory inside the sandbox (default /)
      --net none|host       network: private loopback only (default), or the host's
      --allow-net HOST[:PORT]
                            egress through a filtering proxy to HOST only (repeatable;
                            *.DOMAIN, IP, CIDR, or * for any public address); private,
                            loopback and metadata addresses need an explicit IP/CIDR
      --deny-net HOST[:PORT]
                            refused even when --allow-net matches (repeatable)
      --max-net-bytes SIZE  cap on bytes through the egress proxy (both ways)
      --hostname NAME       hostname inside (default "sandbox")
      --user NAME           the sandbox user's name (default "sandbox"; home /home/NAME)
      --mode MODE           auto (default), privileged (root) or unprivileged
      --tmp-size SIZE       size of the private /tmp (default 64M)
      --bind SRC[:DST]      bind a host path read-write (nosuid, nodev; repeatable)
      --ro-bind SRC[:DST]   bind a host path read-only (repeatable)
      --tmpfs DST[:SIZE]    a fresh tmpfs (default 64M)
      --overlay SRC[:DST[:UPPER]]
                            copy-on-write over a host dir; changes are discarded, or kept
                            in the host dir UPPER (work dir UPPER.work). In every path
                            option "\\:" is a literal colon
      --dir DST[:MODE]      create a directory (mode in octal, default 755)
      --symlink CONTENTS:DST
                            create a symlink
      --rootfs DIR          use DIR's entries as the root (read-only) instead of the host's
                            system dirs; /proc, /dev, /tmp stay fresh
  -r, --root DIR            the seed's name for --rootfs
      --rootfs-writable     bind the rootfs entries read-write
      --no-namespaces       no namespaces: Landlock alone confines the filesystem to the
                            same view (host /tmp is then not writable unless bound)
      --landlock MODE       best-effort (default), required (fail when the kernel cannot
                            enforce the whole policy) or off
      --idmap MODE          as root: binds and overlays show your files as the sandbox
                            user's, and what it makes is yours: best-effort (default),
                            required (fail where a filesystem refuses) or off
      --host-ids START:COUNT[:GID_START]
                            as root: the host uids (gids from GID_START, default START) each
                            run takes its own from (default 2130706432:65536; root's
                            /etc/subuid range only when given here)
      --budget NAME=VALUE   a kernel budget of the sandbox (repeatable): inotifyInstances,
                            inotifyWatches, fanotifyGroups, fanotifyMarks, userNamespaces,
                            namespaces, ptys, mqueueBytes (a size)
  -s, --seccomp PROFILE     essential, minimal, io-heavy, compute (default), network,
                            unrestricted, or none (no filter: debugging only)
      --seccomp-allow A,B   also allow these syscalls (repeatable; never-list names refused)
      --seccomp-deny C,D    refuse these syscalls although the profile allows them
      --seccomp-action kill|errno
                            a refused syscall kills the sandbox (default, exit 159) or fails
                            with EPERM; either way the result names the syscall
  -i, --id ID               sandbox id ([A-Za-z0-9_.-]{1,64})
      --config FILE.json    load a JSON config (same fields as the API); flags override it
      --json                print the result as one line of JSON, the last line on stderr
      --result-file PATH    write the result as JSON to PATH (/dev/fd/N: a descriptor of its
                            own). Both are written on every exit, failures included
      --stdin inherit|null  pass this command's stdin on to the program as bytes (default),
                            or give it an empty stdin; it never gets the terminal itself
      --tty                 run the program on a pseudo-terminal of the sandbox's own (its
                            stdin, stdout and stderr; stdout then carries both); a host
                            terminal on stdin is put in raw mode, its size and changes passed
                            on, and restored at the end (see "sandbox help shell")
  -q, --quiet               no summary line on stderr
  -v, --verbose             print the mode and what is enforced before running
      --launcher PATH       use this sandbox-launcher binary
  -h, --help                this help

Everything after PROGRAM (or after --) is passed to the program unchanged.

Examples:
  sandbox run -- python3 -c 'print(6 * 7)'
  sandbox -P strict -m 64M -t 2 -- ./solution < input.txt
  sandbox run -q --json -t 1500ms --max-output 1M -- make test 2> err.log
  tail -n 1 err.log                     # the result, whatever make printed
  sandbox run --ro-bind "$PWD:/src" --cwd /src --net host -- npm test
  sandbox run -s io-heavy --seccomp-deny uname --result-file /dev/fd/3 -- uname 3> result.json
`;

/** `sandbox help shell`, `sandbox shell --help`. */
export const SHELL_HELP = `Usage: sandbox shell [OPTIONS] [-- PROGRAM [ARGS...]]

An interactive shell in a sandbox: "sandbox run --tty" with bash (sh when the sandbox has no
bash) as the default program, stdin required to be a terminal, and no summary line. OPTIONS are
those of run ("sandbox help run").

The program runs on a pseudo-terminal from the sandbox's own devpts instance (never one of the
host's), as its controlling terminal. Your terminal is put in raw mode: every key goes to the
program (Ctrl-C interrupts the program, not this command; Ctrl-D at an empty prompt ends the
shell). Window-size changes are passed on (the program gets SIGWINCH). Your terminal is
restored however the run ends: exit, kill, timeout, an error, or SIGTERM/SIGHUP to this command.
TERM is passed on unless --env sets it. TIOCSTI and TIOCLINUX stay refused by seccomp.

Exit code: the program's, as for run.

Examples:
  sandbox shell
  sandbox shell --ro-bind "$PWD:/src" --cwd /src -m 512M -- python3
`;

/** `sandbox help profiles`. */
export const PROFILES_HELP = `Usage: sandbox profiles [NAME] [--numbers] [--bpf] [--json]

Without NAME: the seccomp profiles, cumulative, with their syscall counts on this machine.
With NAME: its allowed syscalls; --numbers prints "name number" lines for this machine's
architecture; --bpf prints the compiled filter, disassembled.
`;

/** `sandbox help doctor`. */
export const DOCTOR_HELP = `Usage: sandbox doctor [--json] [--launcher PATH]

Probes this machine for real (user namespaces, cgroups, Landlock, seccomp, overlayfs), prints
what works, the fix for what does not, and which mode "auto" picks.
`;

/** `sandbox help launcher`. */
export const LAUNCHER_HELP = `Usage: sandbox launcher

Builds the sandbox launcher from this module's sources when it is missing or stale (make and a C
compiler; from JSR the sources are fetched first) and prints its path: the binary a narrow
permission set names (--allow-run=PATH --allow-read=PATH, README "Deno permissions").
`;
