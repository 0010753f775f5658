/**
 * The `sandbox` command line: `run`, `doctor` (alias `check`), `help`.
 *
 * ```sh
 * deno run -A cli.ts run --timeout 5s -- python3 -c 'print(1)'
 * deno run -A cli.ts doctor
 * ```
 *
 * @module
 */

import {
  type Enforced,
  EXIT,
  exitCodeFor,
  type IdmapFallback,
  prepareLauncher,
  type RunOptions,
  SandboxBuilder,
  type SandboxConfig,
  SandboxSetupError,
  type SeccompProfileName,
  VERSION,
} from "./mod.ts";
// Not library API, by design: argv parsing and flag syntax are the CLI's own,
import { filesystemFromFlags, parseArgs, type ParsedArgs, UsageError } from "./lib/cli_args.ts";
// `doctor` is the CLI's report (a library caller asks `Sandbox.enforced` instead),
import { doctor, formatDoctor } from "./lib/doctor.ts";
// and `profiles` is a debugging view into the seccomp compiler (its tables and BPF).
import {
  compileSeccomp,
  disassemble,
  PROFILE_DESCRIPTIONS,
  PROFILE_NAMES,
  profileSyscalls,
} from "./lib/seccomp/mod.ts";
import { syscallNumber } from "./lib/syscalls.ts";
import { hostArch } from "./lib/host_facts.ts";

/** The CLI's own exit code for a usage error (the others are the launcher's: `EXIT`). */
const USAGE = 2;

const MAIN_HELP = `sandbox ${VERSION} — run programs in an isolated Linux sandbox

Usage:
  sandbox run [OPTIONS] [--] PROGRAM [ARGS...]   run one program; exit with its code
  sandbox doctor [--json]                        what this machine supports (alias: check)
  sandbox profiles [NAME] [--numbers] [--bpf] [--json]
                                                 seccomp profiles and their syscalls (alias: seccomp)
  sandbox help [COMMAND]                         this help, or a command's
  --list-seccomp, --list-profiles, --check       the seed's aliases of profiles and doctor

Exit codes of run: the program's own; ${EXIT.signalBase}+N when killed by signal N; ${EXIT.timeout} timeout;
${EXIT.setup} sandbox setup failed; ${EXIT.notExecutable} program not executable; ${EXIT.notFound} program not found; ${USAGE} usage error.
`;

const RUN_HELP = `Usage: sandbox run [OPTIONS] [--] PROGRAM [ARGS...]

Runs PROGRAM in new user, pid, mount, uts, ipc, net and cgroup namespaces, on a private
read-only root (host /usr, /bin, /lib*, parts of /etc; fresh /proc, minimal /dev, tmpfs /tmp),
as uid 1000 with no capabilities, in a new session, with a clean environment.

Options:
  -P, --profile PRESET      the seed's presets, applied first (flags override them):
                            strict: 128M, 50% CPU, 30s, seccomp minimal
                            moderate: 512M, 75% CPU, 5m, seccomp io-heavy
                            permissive: 2G, 90% CPU, 1h, seccomp unrestricted
  -t, --timeout DURATION    wall-clock limit (500ms, 2s, 1m; a bare number is seconds);
                            kills every process of the run
  -m, --memory SIZE         memory limit, swap off (64M, 1.5G, 256MB)
  -c, --cpu PERCENT         CPU share in percent of one CPU (up to 100 x CPUs)
      --pids N              maximum processes and threads (default 2048)
      --cpu-time DURATION   CPU time per process (1 s granularity)
      --open-files N        maximum open files per process
      --file-size SIZE      maximum size of a written file
      --max-output SIZE     cap on stdout + stderr (default 64M); past it the run is stopped
      --limits strict|best-effort
                            strict (default): fail when a limit cannot be enforced here;
                            best-effort: approximate with rlimits or drop, and report it
      --env KEY=VALUE       set an environment variable (repeatable); default only PATH
      --cwd DIR             working directory inside the sandbox (default /)
      --net none|host       network: private loopback only (default), or the host's
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
      --json                print the result as JSON on stderr at the end
      --result-file PATH    write the result as JSON to PATH
      --stdin inherit|null  pass this command's stdin on to the program as bytes (default),
                            or give it an empty stdin; it never gets the terminal itself
  -q, --quiet               no summary line on stderr
  -v, --verbose             print the mode and what is enforced before running
      --launcher PATH       use this sandbox-launcher binary
  -h, --help                this help

Everything after PROGRAM (or after --) is passed to the program unchanged.
`;

const PROFILES_HELP = `Usage: sandbox profiles [NAME] [--numbers] [--bpf] [--json]

Without NAME: the seccomp profiles, cumulative, with their syscall counts on this machine.
With NAME: its allowed syscalls; --numbers prints "name number" lines for this machine's
architecture; --bpf prints the compiled filter, disassembled.
`;

const DOCTOR_HELP = `Usage: sandbox doctor [--json] [--launcher PATH]

Probes this machine for real (user namespaces, cgroups, Landlock, seccomp, overlayfs), prints
what works, the fix for what does not, and which mode "auto" picks.
`;

/** The seed's security presets (sandbox-ctl profiles.rs). */
const PRESETS: Record<string, { memory: string; cpu: number; timeout: string; seccomp: string }> = {
  strict: { memory: "128M", cpu: 50, timeout: "30s", seccomp: "minimal" },
  moderate: { memory: "512M", cpu: 75, timeout: "300s", seccomp: "io-heavy" },
  permissive: { memory: "2G", cpu: 90, timeout: "3600s", seccomp: "unrestricted" },
};

const RUN_SPECS = {
  profile: { value: true, short: "P" },
  timeout: { value: true, short: "t" },
  memory: { value: true, short: "m" },
  cpu: { value: true, short: "c" },
  pids: { value: true },
  "cpu-time": { value: true },
  "open-files": { value: true },
  "file-size": { value: true },
  "max-output": { value: true },
  limits: { value: true },
  env: { value: true, multiple: true },
  cwd: { value: true },
  net: { value: true },
  hostname: { value: true },
  user: { value: true },
  mode: { value: true },
  "tmp-size": { value: true },
  bind: { value: true, multiple: true },
  "ro-bind": { value: true, multiple: true },
  tmpfs: { value: true, multiple: true },
  overlay: { value: true, multiple: true },
  dir: { value: true, multiple: true },
  symlink: { value: true, multiple: true },
  rootfs: { value: true },
  root: { value: true, short: "r" },
  verbose: { short: "v" },
  "rootfs-writable": {},
  "no-namespaces": {},
  landlock: { value: true },
  idmap: { value: true },
  "host-ids": { value: true },
  budget: { value: true, multiple: true },
  seccomp: { value: true, short: "s" },
  "seccomp-allow": { value: true, multiple: true },
  "seccomp-deny": { value: true, multiple: true },
  "seccomp-action": { value: true },
  id: { value: true, short: "i" },
  config: { value: true },
  json: {},
  "result-file": { value: true },
  quiet: { short: "q" },
  stdin: { value: true },
  launcher: { value: true },
  help: { short: "h" },
};

function one(p: ParsedArgs, name: string): string | undefined {
  return p.options.get(name)?.[0];
}

function loadConfigFile(path: string): SandboxConfig {
  let text: string;
  try {
    text = Deno.readTextFileSync(path);
  } catch (e) {
    throw new UsageError(`Cannot read --config "${path}": ${(e as Error).message}`);
  }
  try {
    return JSON.parse(text) as SandboxConfig;
  } catch (e) {
    throw new UsageError(`Invalid JSON in --config "${path}": ${(e as Error).message}`);
  }
}

/** A CLI duration: a bare number is seconds (the seed's -t SECONDS), else "500ms", "2s"... */
function cliDuration(v: string): string {
  return /^\d+(\.\d+)?$/.test(v) ? `${v}s` : v;
}

/** A CLI integer: digits only, so "12abc" or "1e3" are refused rather than half-read. */
function cliInt(v: string, flag: string): number {
  if (!/^\d+$/.test(v)) throw new UsageError(`Invalid --${flag} "${v}": expected a whole number`);
  return Number(v);
}

function cliNumber(v: string, flag: string): number {
  if (!/^\d+(\.\d+)?$/.test(v)) throw new UsageError(`Invalid --${flag} "${v}": expected a number`);
  return Number(v);
}

function buildConfig(p: ParsedArgs): SandboxConfig {
  const path = one(p, "config");
  const c: SandboxConfig = path ? loadConfigFile(path) : {};
  const preset = one(p, "profile");
  if (preset !== undefined) {
    const v = PRESETS[preset];
    if (!v) {
      throw new UsageError(
        `Invalid --profile "${preset}": expected one of ${Object.keys(PRESETS).join(", ")}`,
      );
    }
    Object.assign(c, {
      memory: v.memory,
      cpuPercent: v.cpu,
      timeout: v.timeout,
      seccomp: v.seccomp,
    });
  }
  const set = <K extends keyof SandboxConfig>(key: K, flag: string) => {
    const v = one(p, flag);
    if (v !== undefined) c[key] = v as SandboxConfig[K];
  };
  const setWith = <K extends keyof SandboxConfig>(
    key: K,
    flag: string,
    conv: (v: string, flag: string) => SandboxConfig[K],
  ) => {
    const v = one(p, flag);
    if (v !== undefined) c[key] = conv(v, flag);
  };
  setWith("timeout", "timeout", cliDuration);
  setWith("cpuTime", "cpu-time", cliDuration);
  set("memory", "memory");
  setWith("cpuPercent", "cpu", cliNumber);
  setWith("maxPids", "pids", cliInt);
  setWith("openFiles", "open-files", cliInt);
  set("fileSize", "file-size");
  set("maxOutput", "max-output");
  set("limits", "limits");
  if (preset !== undefined && one(p, "cpu") === undefined && c.cpuQuota !== undefined) {
    delete c.cpuPercent; // a config file's cpuQuota wins over the preset's percent
  }
  set("cwd", "cwd");
  set("network", "net");
  set("hostname", "hostname");
  set("user", "user");
  set("privilegeMode", "mode");
  set("tmpSize", "tmp-size");
  set("id", "id");
  const list = (flag: string) =>
    p.options.get(flag)?.flatMap((v) => v.split(",")).map((v) => v.trim()).filter(Boolean);
  const sc = ["seccomp", "seccomp-allow", "seccomp-deny", "seccomp-action"];
  if (sc.some((f) => p.options.has(f))) {
    const base = typeof c.seccomp === "string" ? { profile: c.seccomp } : { ...c.seccomp };
    const profile = one(p, "seccomp");
    if (profile !== undefined) base.profile = profile;
    const allow = list("seccomp-allow");
    if (allow) base.allow = allow;
    const deny = list("seccomp-deny");
    if (deny) base.deny = deny;
    const action = one(p, "seccomp-action");
    if (action !== undefined) base.action = action as "kill" | "errno";
    c.seccomp = base;
  }
  const root = p.options.get("root");
  if (root) {
    // -r/--root is the seed's name for the sandbox's root directory: --rootfs.
    if (p.options.has("rootfs")) throw new UsageError(`Options "--root" and "--rootfs" conflict`);
    p.options.set("rootfs", root);
  }
  Object.assign(c, filesystemFromFlags(p.options, c));
  const hostIds = one(p, "host-ids");
  if (hostIds !== undefined) {
    const m = /^(\d+):(\d+)(?::(\d+))?$/.exec(hostIds);
    if (!m) {
      throw new UsageError(`Invalid --host-ids "${hostIds}": expected START:COUNT[:GID_START]`);
    }
    c.hostIds = {
      start: Number(m[1]),
      count: Number(m[2]),
      ...(m[3] ? { gidStart: Number(m[3]) } : {}),
    };
  }
  const budgets = p.options.get("budget");
  if (budgets) {
    const b: Record<string, number | string> = { ...c.budgets };
    for (const kv of budgets) {
      const m = /^(\w+)=(.+)$/.exec(kv);
      if (!m) throw new UsageError(`Invalid --budget "${kv}": expected NAME=VALUE`);
      b[m[1]!] = m[1] === "mqueueBytes" ? m[2]! : cliInt(m[2]!, `budget ${m[1]}`);
    }
    c.budgets = b;
  }
  const env = p.options.get("env");
  if (env) {
    c.env = { ...c.env };
    for (const kv of env) {
      const eq = kv.indexOf("=");
      if (eq <= 0) throw new UsageError(`Invalid --env "${kv}": expected KEY=VALUE`);
      c.env[kv.slice(0, eq)] = kv.slice(eq + 1);
    }
  }
  return c;
}

/** Says so on stderr when the sandbox is weaker than the defaults ask (never silently). */
function warnDegraded(e: Enforced, asked: boolean | "auto", quiet: boolean): void {
  const notes: string[] = [];
  if (e.namespaces.length === 0) {
    const wall = e.landlock ? "Landlock" : "nothing";
    notes.push(
      asked === false
        ? `namespaces turned off: only ${wall} confines the files`
        : `no namespaces: user namespaces are unavailable here, so only ${wall} confines the files (see "sandbox doctor")`,
    );
  }
  // A default limit the host cannot enforce exactly is in the result, but not worth a warning
  // on every run: nobody asked for it.
  const notDefault = (names: string[]) => names.filter((n) => !e.limits.defaults?.includes(n));
  const approximated = notDefault(e.limits.approximated);
  if (approximated.length) {
    notes.push(`limits approximated with rlimits: ${approximated.join(", ")}`);
  }
  const dropped = notDefault(e.limits.dropped);
  if (dropped.length) notes.push(`limits not enforced: ${dropped.join(", ")}`);
  if (e.landlockDropped?.length) {
    notes.push(`Landlock cannot enforce: ${e.landlockDropped.join(", ")}`);
  }
  // Known before the run; a filesystem that refuses is said after it (cmdRun).
  const unmapped = unmappedNote(e, ["no-seccomp", "no-namespaces"]);
  if (unmapped) notes.push(unmapped);
  if (!quiet) { for (const n of notes) console.error(`sandbox: warning: ${n}`); }
}

/** The binds and overlays that fell back from id-mapping for one of `reasons`, or null. */
function unmappedNote(e: Enforced, reasons: readonly IdmapFallback[]): string | null {
  const unmapped = (e.mounts ?? []).filter((m) => m.reason && reasons.includes(m.reason));
  if (!unmapped.length) return null;
  const list = unmapped.map((m) => `${m.target} (${m.errno ?? m.reason})`).join(", ");
  return `not id-mapped (host files there show as nobody, new ones are the run's uid): ${list}`;
}

async function cmdRun(argv: string[]): Promise<number> {
  const p = parseArgs(argv, RUN_SPECS, { stopAtPositional: true });
  if (p.options.has("help")) {
    console.log(RUN_HELP);
    return 0;
  }
  const [program, ...args] = p.positionals;
  if (!program) {
    throw new UsageError("Missing PROGRAM: sandbox run [OPTIONS] [--] PROGRAM [ARGS...]");
  }
  // Built here, once, when missing or stale (from a remote module: its sources fetched first).
  await prepareLauncher(one(p, "launcher"), { onBuild: (line) => console.error(line) });
  let builder: SandboxBuilder;
  let sandbox;
  try {
    const config = buildConfig(p);
    builder = new SandboxBuilder(config.id ?? "sandbox", config);
    const launcher = one(p, "launcher");
    if (launcher) builder = builder.launcherPath(launcher);
    sandbox = builder.build();
  } catch (e) {
    if (e instanceof TypeError || e instanceof RangeError) throw new UsageError(e.message);
    throw e;
  }
  warnDegraded(sandbox.enforced, sandbox.config.namespaces, p.options.has("quiet"));
  if (p.options.has("verbose")) {
    console.error(`sandbox: mode ${sandbox.mode}; enforced ${JSON.stringify(sandbox.enforced)}`);
  }
  const abort = new AbortController();
  const onSignal = () => abort.abort();
  const forwarded: Deno.Signal[] = ["SIGINT", "SIGTERM", "SIGHUP"];
  // The CLI's stdin goes on to the program as a byte stream (never as the terminal itself:
  // the target only ever holds pipes and has no controlling tty).
  const stdinMode = one(p, "stdin") ?? "inherit";
  if (stdinMode !== "inherit" && stdinMode !== "null") {
    throw new UsageError(`Invalid --stdin "${stdinMode}": expected "inherit" or "null"`);
  }
  const options: RunOptions = {
    signal: abort.signal,
    stdin: stdinMode === "inherit" ? Deno.stdin.readable : "null",
  };
  const child = sandbox.spawn(program, args, options);
  const forward = (sig: Deno.Signal) => () => child.kill(sig);
  const listeners = forwarded.map((s) => [s, s === "SIGTERM" ? onSignal : forward(s)] as const);
  for (const [s, f] of listeners) Deno.addSignalListener(s, f);
  try {
    await Promise.all([
      child.stdout.pipeTo(Deno.stdout.writable, { preventClose: true }),
      child.stderr.pipeTo(Deno.stderr.writable, { preventClose: true }),
    ]);
    const result = await child.status;
    const json = JSON.stringify(result, null, 2);
    const resultFile = one(p, "result-file");
    if (resultFile) Deno.writeTextFileSync(resultFile, json + "\n");
    if (!p.options.has("quiet")) {
      const parts = [
        `exit_code=${exitCodeFor(result)}`,
        `wall_time_ms=${Math.round(result.wallTimeMs)}`,
        `memory_peak_bytes=${result.memoryPeakBytes}`,
        `cpu_time_us=${result.cpuTimeUs}`,
      ];
      if (result.timedOut) parts.push("timed_out=true");
      if (result.reason !== "exited") parts.push(`reason=${result.reason}`);
      if (result.seccompViolation) parts.push(`seccomp=${result.seccompViolation.syscall}`);
      const refused = unmappedNote(result.enforced, ["filesystem"]);
      if (refused) console.error(`sandbox: warning: ${refused}`);
      console.error(parts.join(" | "));
    }
    if (p.options.has("json")) console.error(json);
    return exitCodeFor(result);
  } catch (e) {
    if (e instanceof SandboxSetupError) {
      // The target never ran: the result says so, with the error, so that a --result-file
      // from an earlier run is never left standing.
      const failed = {
        exitCode: null,
        signal: null,
        reason: "setup-failed",
        error: { name: e.name, message: e.message, step: e.step, errno: e.errno, path: e.path },
        launcherExitCode: e.exitCode,
      };
      const json = JSON.stringify(failed, null, 2);
      const resultFile = one(p, "result-file");
      if (resultFile) Deno.writeTextFileSync(resultFile, json + "\n");
      if (p.options.has("json")) console.error(json);
      console.error(`sandbox: ${e.message}`);
      return e.exitCode;
    }
    throw e;
  } finally {
    for (const [s, f] of listeners) Deno.removeSignalListener(s, f);
  }
}

async function cmdDoctor(argv: string[]): Promise<number> {
  const specs = { json: {}, help: { short: "h" }, launcher: { value: true } };
  const p = parseArgs(argv, specs, { stopAtPositional: false });
  if (p.options.has("help")) {
    console.log(DOCTOR_HELP);
    return 0;
  }
  if (p.positionals.length) throw new UsageError(`Unexpected argument "${p.positionals[0]}"`);
  const report = doctor(
    await prepareLauncher(one(p, "launcher"), { onBuild: (line) => console.error(line) }),
  );
  console.log(p.options.has("json") ? JSON.stringify(report, null, 2) : formatDoctor(report));
  return 0;
}

function cmdProfiles(argv: string[]): number {
  const specs = { numbers: {}, bpf: {}, json: {}, help: { short: "h" } };
  const p = parseArgs(argv, specs, { stopAtPositional: false });
  if (p.options.has("help")) {
    console.log(PROFILES_HELP);
    return 0;
  }
  const arch = hostArch();
  const [name, extra] = p.positionals;
  if (extra !== undefined) throw new UsageError(`Unexpected argument "${extra}"`);
  if (name === undefined) {
    const rows = PROFILE_NAMES.map((n) => ({
      name: n,
      syscalls: profileSyscalls(n, arch).length,
      description: PROFILE_DESCRIPTIONS[n],
    }));
    if (p.options.has("json")) {
      console.log(JSON.stringify(rows, null, 2));
      return 0;
    }
    console.log(`Seccomp profiles (cumulative; counts for ${arch}):\n`);
    for (const r of rows) {
      const note = r.name === "essential"
        ? " (most secure)"
        : r.name === "unrestricted"
        ? " (least secure)"
        : "";
      console.log(
        `  ${r.name.padEnd(13)} ${String(r.syscalls).padStart(4)}  ${r.description}${note}`,
      );
    }
    console.log(
      `\nDefault: compute. Every profile refuses the never-list (kexec, modules, bpf, keyctl, ptrace, mount, namespaces, ...).\nUse --seccomp PROFILE with run; "sandbox profiles NAME" lists a profile's syscalls.`,
    );
    console.log(`\nSecurity presets (run --profile PRESET; explicit flags override):\n`);
    for (const [n, v] of Object.entries(PRESETS)) {
      console.log(
        `  ${
          n.padEnd(12)
        } Memory: ${v.memory} | CPU: ${v.cpu}% | Timeout: ${v.timeout} | Seccomp: ${v.seccomp}`,
      );
    }
    return 0;
  }
  if (!(PROFILE_NAMES as readonly string[]).includes(name)) {
    throw new UsageError(
      `Unknown seccomp profile "${name}": expected one of ${PROFILE_NAMES.join(", ")}`,
    );
  }
  const profile = name as SeccompProfileName;
  if (p.options.has("bpf")) {
    console.log(disassemble(compileSeccomp({ profile }, arch), arch));
    return 0;
  }
  const names = profileSyscalls(profile, arch);
  if (p.options.has("json")) console.log(JSON.stringify(names));
  else if (p.options.has("numbers")) {
    for (const n of names) console.log(`${n} ${syscallNumber(arch, n)}`);
  } else console.log(names.join("\n"));
  return 0;
}

/** Runs the CLI with `argv`; returns the exit code. */
export async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  try {
    switch (cmd) {
      case "run":
        return await cmdRun(rest);
      case "doctor":
      case "check":
      case "--check":
        return await cmdDoctor(rest);
      case "profiles":
      case "seccomp":
      case "--list-seccomp":
      case "--list-profiles":
        return cmdProfiles(rest);
      case undefined:
      case "help":
      case "-h":
      case "--help": {
        const topic = rest[0];
        const topics: Record<string, string> = {
          run: RUN_HELP,
          doctor: DOCTOR_HELP,
          profiles: PROFILES_HELP,
        };
        console.log(topics[topic ?? ""] ?? MAIN_HELP);
        return 0;
      }
      case "--version":
      case "-V":
        console.log(`sandbox ${VERSION}`);
        return 0;
      default:
        throw new UsageError(`Unknown command "${cmd}": expected run, doctor, profiles or help`);
    }
  } catch (e) {
    if (e instanceof UsageError) {
      console.error(`sandbox: ${e.message}\nTry "sandbox ${cmd === "run" ? "run " : ""}--help".`);
      return USAGE;
    }
    console.error(`sandbox: ${(e as Error).message}`);
    return EXIT.setup;
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args));
