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
  exitCodeFor,
  type RunOptions,
  SandboxBuilder,
  type SandboxConfig,
  SandboxSetupError,
} from "./mod.ts";
import { doctor, formatDoctor } from "./lib/doctor.ts";
import { parseArgs, type ParsedArgs, UsageError } from "./lib/cli_args.ts";
import { VERSION } from "./lib/launcher.ts";

const MAIN_HELP = `sandbox ${VERSION} — run programs in an isolated Linux sandbox

Usage:
  sandbox run [OPTIONS] [--] PROGRAM [ARGS...]   run one program; exit with its code
  sandbox doctor [--json]                        what this machine supports (alias: check)
  sandbox help [COMMAND]                         this help, or a command's

Exit codes of run: the program's own; 128+N when killed by signal N; 124 timeout;
125 sandbox setup failed; 126 program not executable; 127 program not found; 2 usage error.
`;

const RUN_HELP = `Usage: sandbox run [OPTIONS] [--] PROGRAM [ARGS...]

Runs PROGRAM in new user, pid, mount, uts, ipc, net and cgroup namespaces, on a private
read-only root (host /usr, /bin, /lib*, parts of /etc; fresh /proc, minimal /dev, tmpfs /tmp),
as uid 1000 with no capabilities, in a new session, with a clean environment.

Options:
  -t, --timeout DURATION    wall-clock limit (500ms, 2s, 1m); kills every process of the run
      --env KEY=VALUE       set an environment variable (repeatable); default only PATH
      --cwd DIR             working directory inside the sandbox (default /)
      --net none|host       network: private loopback only (default), or the host's
      --hostname NAME       hostname inside (default "sandbox")
      --mode MODE           auto (default), privileged (root) or unprivileged
      --tmp-size SIZE       size of the private /tmp (default 64M)
  -i, --id ID               sandbox id ([A-Za-z0-9_.-]{1,64})
      --config FILE.json    load a JSON config (same fields as the API); flags override it
      --json                print the result as JSON on stderr at the end
      --result-file PATH    write the result as JSON to PATH
  -q, --quiet               no summary line on stderr
      --launcher PATH       use this sandbox-launcher binary
  -h, --help                this help

Everything after PROGRAM (or after --) is passed to the program unchanged.
`;

const DOCTOR_HELP = `Usage: sandbox doctor [--json]

Probes this machine for real (user namespaces, cgroups, Landlock, seccomp, overlayfs), prints
what works, the fix for what does not, and which mode "auto" picks.
`;

const RUN_SPECS = {
  timeout: { value: true, short: "t" },
  env: { value: true, multiple: true },
  cwd: { value: true },
  net: { value: true },
  hostname: { value: true },
  mode: { value: true },
  "tmp-size": { value: true },
  id: { value: true, short: "i" },
  config: { value: true },
  json: {},
  "result-file": { value: true },
  quiet: { short: "q" },
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

function buildConfig(p: ParsedArgs): SandboxConfig {
  const path = one(p, "config");
  const c: SandboxConfig = path ? loadConfigFile(path) : {};
  const set = <K extends keyof SandboxConfig>(key: K, flag: string) => {
    const v = one(p, flag);
    if (v !== undefined) c[key] = v as SandboxConfig[K];
  };
  set("timeout", "timeout");
  set("cwd", "cwd");
  set("network", "net");
  set("hostname", "hostname");
  set("privilegeMode", "mode");
  set("tmpSize", "tmp-size");
  set("id", "id");
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

async function cmdRun(argv: string[]): Promise<number> {
  const p = parseArgs(argv, RUN_SPECS, true);
  if (p.options.has("help")) {
    console.log(RUN_HELP);
    return 0;
  }
  const [program, ...args] = p.positionals;
  if (!program) {
    throw new UsageError("Missing PROGRAM: sandbox run [OPTIONS] [--] PROGRAM [ARGS...]");
  }
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
  const abort = new AbortController();
  const onSignal = () => abort.abort();
  const forwarded: Deno.Signal[] = ["SIGINT", "SIGTERM", "SIGHUP"];
  const options: RunOptions = { signal: abort.signal };
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
      console.error(parts.join(" | "));
    }
    if (p.options.has("json")) console.error(json);
    return exitCodeFor(result);
  } catch (e) {
    if (e instanceof SandboxSetupError) {
      if (p.options.has("json")) {
        console.error(
          JSON.stringify({
            error: e.name,
            message: e.message,
            step: e.step,
            errno: e.errno,
            path: e.path,
          }),
        );
      }
      console.error(`sandbox: ${e.message}`);
      return e.exitCode;
    }
    throw e;
  } finally {
    for (const [s, f] of listeners) Deno.removeSignalListener(s, f);
  }
}

function cmdDoctor(argv: string[]): number {
  const p = parseArgs(argv, { json: {}, help: { short: "h" }, launcher: { value: true } }, false);
  if (p.options.has("help")) {
    console.log(DOCTOR_HELP);
    return 0;
  }
  if (p.positionals.length) throw new UsageError(`Unexpected argument "${p.positionals[0]}"`);
  const report = doctor(one(p, "launcher"));
  console.log(p.options.has("json") ? JSON.stringify(report, null, 2) : formatDoctor(report));
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
        return cmdDoctor(rest);
      case undefined:
      case "help":
      case "-h":
      case "--help": {
        const topic = rest[0];
        console.log(topic === "run" ? RUN_HELP : topic === "doctor" ? DOCTOR_HELP : MAIN_HELP);
        return 0;
      }
      case "--version":
      case "-V":
        console.log(`sandbox ${VERSION}`);
        return 0;
      default:
        throw new UsageError(`Unknown command "${cmd}": expected run, doctor or help`);
    }
  } catch (e) {
    if (e instanceof UsageError) {
      console.error(`sandbox: ${e.message}\nTry "sandbox ${cmd === "run" ? "run " : ""}--help".`);
      return 2;
    }
    console.error(`sandbox: ${(e as Error).message}`);
    return 125;
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args));
