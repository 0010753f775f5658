/**
 * The `sandbox` command line: `run` (also the direct mode, `sandbox [FLAGS] PROGRAM [ARGS]`),
 * `shell`, `doctor` (alias `check`), `launcher`, `profiles`, `help`. `run` and `shell` are in
 * `lib/cli_run.ts`.
 *
 * ```sh
 * deno run -A cli.ts run --timeout 5s -- python3 -c 'print(1)'
 * deno run -A cli.ts -P strict -m 64M -- python3 -c 'print(1)'
 * deno run -A cli.ts doctor
 * ```
 *
 * @module
 */

import { EXIT, prepareLauncher, type SeccompProfileName, VERSION } from "./mod.ts";
// Not library API, by design: argv parsing, flag syntax and help are the CLI's own,
import { parseArgs, UsageError } from "./lib/cli_args.ts";
import { cmdRun, cmdShell } from "./lib/cli_run.ts";
import { cmdSession, SESSION_HELP } from "./lib/cli_session.ts";
import { PRESETS } from "./lib/cli_config.ts";
import {
  DOCTOR_HELP,
  LAUNCHER_HELP,
  MAIN_HELP,
  PROFILES_HELP,
  RUN_HELP,
  SHELL_HELP,
  USAGE,
} from "./lib/cli_help.ts";
// `doctor` is the CLI's report (a library caller asks `Sandbox.enforced` instead),
import { doctorWithTrial, formatDoctor } from "./lib/doctor.ts";
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

async function cmdDoctor(argv: string[]): Promise<number> {
  const specs = { json: {}, help: { short: "h" }, launcher: { value: true } };
  const p = parseArgs(argv, specs, { stopAtPositional: false });
  if (p.options.has("help")) {
    console.log(DOCTOR_HELP);
    return 0;
  }
  if (p.positionals.length) throw new UsageError(`Unexpected argument "${p.positionals[0]}"`);
  const report = await doctorWithTrial(
    await prepareLauncher(p.options.get("launcher")?.[0], {
      onBuild: (line) => console.error(line),
    }),
  );
  console.log(p.options.has("json") ? JSON.stringify(report, null, 2) : formatDoctor(report));
  return 0;
}

async function cmdLauncher(argv: string[]): Promise<number> {
  const p = parseArgs(argv, { help: { short: "h" } }, { stopAtPositional: false });
  if (p.options.has("help")) {
    console.log(LAUNCHER_HELP);
    return 0;
  }
  if (p.positionals.length) throw new UsageError(`Unexpected argument "${p.positionals[0]}"`);
  console.log(await prepareLauncher(undefined, { onBuild: (line) => console.error(line) }));
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
    const preset = name in PRESETS ? `; "${name}" is a preset, which run -P/--profile takes` : "";
    throw new UsageError(
      `Unknown seccomp profile "${name}": expected one of ${PROFILE_NAMES.join(", ")}${preset}`,
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

/** The commands (and the seed's flag aliases) that are not a program to run in direct mode. */
const COMMANDS = [
  "run",
  "shell",
  "session",
  "doctor",
  "check",
  "launcher",
  "profiles",
  "seccomp",
  "help",
];

/** Runs the CLI with `argv`; returns the exit code. */
export async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  try {
    switch (cmd) {
      case "run":
        return await cmdRun(rest);
      case "shell":
        return await cmdShell(rest);
      case "session":
        return await cmdSession(rest);
      case "doctor":
      case "check":
      case "--check":
        return await cmdDoctor(rest);
      case "launcher":
        return await cmdLauncher(rest);
      case "profiles":
      case "seccomp":
      case "--list-seccomp":
      case "--list-profiles":
        return cmdProfiles(rest);
      case undefined:
      case "help":
      case "-h":
      case "--help": {
        const topic = cmd === "help" ? rest[0] : undefined;
        const topics: Record<string, string> = {
          run: RUN_HELP,
          shell: SHELL_HELP,
          doctor: DOCTOR_HELP,
          check: DOCTOR_HELP,
          launcher: LAUNCHER_HELP,
          profiles: PROFILES_HELP,
          seccomp: PROFILES_HELP,
          session: SESSION_HELP,
        };
        if (topic !== undefined && !(topic in topics)) {
          throw new UsageError(
            `No help for "${topic}": expected one of ${
              COMMANDS.filter((c) => c !== "help").join(", ")
            }`,
          );
        }
        console.log(topic === undefined ? MAIN_HELP : topics[topic]);
        return 0;
      }
      case "--version":
      case "-V":
        console.log(`sandbox ${VERSION}`);
        return 0;
      default:
        // The seed's direct mode: `sandbox [FLAGS] [--] PROGRAM [ARGS]` is `sandbox run ...`.
        return await cmdRun(argv);
    }
  } catch (e) {
    if (e instanceof UsageError) {
      console.error(`sandbox: ${e.message}\nTry "sandbox --help".`);
      return USAGE;
    }
    console.error(`sandbox: ${(e as Error).message}`);
    return EXIT.setup;
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args));
