/**
 * The `run` command (and the direct mode `sandbox [FLAGS] PROGRAM [ARGS]`): the program's output
 * passed through, a summary line, and the result — as `--json` (one line, the last on stderr) and
 * in `--result-file` — on every exit, a usage error or a limit this host cannot enforce included.
 *
 * @module
 */

import { EXIT } from "./abi.ts";
import { SandboxBuilder } from "./builder.ts";
import { parseArgs, type ParsedArgs, UsageError } from "./cli_args.ts";
import { buildConfig, nameFlags, RUN_SPECS } from "./cli_config.ts";
import { RUN_HELP, SHELL_HELP, USAGE } from "./cli_help.ts";
import { DEFAULT_SHELL, HostTerminal } from "./cli_tty.ts";
import { envVar } from "./_host.ts";
import { SandboxError, SandboxSetupError } from "./errors.ts";
import { prepareLauncher } from "./launcher.ts";
import { exitCodeFor } from "./status.ts";
import type { Enforced, IdmapFallback, NetworkReport, SandboxResult } from "./types.ts";

/** Where the result goes, read leniently so that a usage error still gets it there. */
interface Sinks {
  json: boolean;
  resultFile: string | undefined;
  quiet: boolean;
}

/**
 * The result options among `argv`'s flags, found without judging the rest (a bad flag must not
 * hide where its own failure is to be reported).
 */
function sinksOf(argv: readonly string[]): Sinks {
  const sinks: Sinks = { json: false, resultFile: undefined, quiet: false };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === "--" || !arg.startsWith("-") || arg === "-") break;
    if (arg === "--json") sinks.json = true;
    else if (arg === "-q" || arg === "--quiet") sinks.quiet = true;
    else if (arg.startsWith("--result-file=")) sinks.resultFile = arg.slice(14);
    else if (arg === "--result-file") sinks.resultFile = argv[++i];
    else if (arg.startsWith("--") && !arg.includes("=") && RUN_SPECS[arg.slice(2)]?.value) i++;
    else if (/^-[A-Za-z]$/.test(arg)) {
      const long = Object.values(RUN_SPECS).find((s) => s.short === arg[1]);
      if (long?.value) i++;
    }
  }
  return sinks;
}

/** Says so on stderr when the sandbox is weaker than the defaults ask (never silently). */
function warnDegraded(e: Enforced, asked: boolean | "auto"): void {
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
  for (const n of notes) console.error(`sandbox: warning: ${n}`);
}

/** The binds and overlays that fell back from id-mapping for one of `reasons`, or null. */
function unmappedNote(e: Enforced, reasons: readonly IdmapFallback[]): string | null {
  const unmapped = (e.mounts ?? []).filter((m) => m.reason && reasons.includes(m.reason));
  if (!unmapped.length) return null;
  const list = unmapped.map((m) => `${m.target} (${m.errno ?? m.reason})`).join(", ");
  return `not id-mapped (host files there show as nobody, new ones are the run's uid): ${list}`;
}

/** The result of a run that never started: what failed, and the CLI's exit code. */
function failedResult(e: Error, code: number): Record<string, unknown> {
  const error: Record<string, unknown> = { name: e.name, message: e.message };
  if (e instanceof SandboxSetupError) {
    Object.assign(error, { step: e.step, errno: e.errno, path: e.path });
  }
  return {
    exitCode: null,
    signal: null,
    reason: code === USAGE ? "usage-error" : "setup-failed",
    success: false,
    error,
    cliExitCode: code,
  };
}

/** Writes the result where it was asked for; a result that cannot be written is a failure. */
function deliver(result: Record<string, unknown> | SandboxResult, sinks: Sinks): boolean {
  let ok = true;
  // "-" is refused (runParsed): stdout is the program's.
  if (sinks.resultFile !== undefined && sinks.resultFile !== "-") {
    try {
      Deno.writeTextFileSync(sinks.resultFile, JSON.stringify(result, null, 2) + "\n");
    } catch (e) {
      console.error(
        `sandbox: cannot write --result-file "${sinks.resultFile}": ${(e as Error).message}`,
      );
      ok = false;
    }
  }
  // One line, after everything else on stderr: `tail -n 1` finds it whatever the program wrote.
  if (sinks.json) console.error(JSON.stringify(result));
  return ok;
}

/** Egress in the summary: bytes, and the denied destinations, so the user sees what to add. */
function egressSummary(n: NetworkReport): string[] {
  const parts = [`net_bytes_out=${n.bytesOut}`, `net_bytes_in=${n.bytesIn}`];
  if (n.byteLimitHit) parts.push("net_byte_limit=hit");
  if (n.deniedCount) {
    const hosts = [...new Set(n.denied.map((d) => `${d.host}:${d.port}`))];
    const shown = hosts.slice(0, 10).join(",");
    const more = hosts.length > 10 || n.deniedCount > n.denied.length ? ",..." : "";
    parts.push(`net_denied=${shown}${more}`);
  }
  return parts;
}

function summary(result: SandboxResult): string {
  const parts = [
    `exit_code=${exitCodeFor(result)}`,
    `wall_time_ms=${Math.round(result.wallTimeMs)}`,
    `memory_peak_bytes=${result.memoryPeakBytes}`,
    `cpu_time_us=${result.cpuTimeUs}`,
  ];
  if (result.timedOut) parts.push("timed_out=true");
  if (result.reason !== "exited") parts.push(`reason=${result.reason}`);
  if (result.seccompViolation) parts.push(`seccomp=${result.seccompViolation.syscall}`);
  if (result.network) parts.push(...egressSummary(result.network));
  return parts.join(" | ");
}

/** How `run` was asked for: plain, or as `sandbox shell`. */
interface RunHow {
  /** `sandbox shell`: a terminal is required, the default program is a shell, no summary. */
  shell?: boolean;
}

/**
 * Runs `run`'s argv (everything after `run`, or the whole argv in direct mode); returns the exit
 * code. Prints each failure once and writes the result on every path.
 */
export async function cmdRun(argv: string[], how: RunHow = {}): Promise<number> {
  const sinks = sinksOf(argv);
  let p: ParsedArgs | undefined;
  let stderrSeen = false;
  try {
    p = parseArgs(argv, RUN_SPECS, { stopAtPositional: true });
    if (p.options.has("help")) {
      console.log(how.shell ? SHELL_HELP : RUN_HELP);
      return 0;
    }
    if (how.shell) {
      if (p.options.has("tty")) throw new UsageError(`Option "--tty" is implied by "shell"`);
      p.options.set("tty", [""]);
      if (!p.positionals.length) p.positionals.push(...DEFAULT_SHELL);
    }
    return await runParsed(p, sinks, () => stderrSeen = true, how);
  } catch (e) {
    const err = e as Error;
    const usage = err instanceof UsageError;
    const code = usage ? USAGE : err instanceof SandboxSetupError ? err.exitCode : EXIT.setup;
    // The launcher has already said what failed on the program's stderr: once is enough.
    const told = err instanceof SandboxSetupError && stderrSeen;
    if (!told) {
      const help = how.shell ? "shell" : "run";
      console.error(`sandbox: ${err.message}${usage ? `\nTry "sandbox help ${help}".` : ""}`);
    }
    deliver(failedResult(err, code), sinks);
    return code;
  }
}

/**
 * `sandbox shell [OPTIONS] [-- PROGRAM [ARGS...]]`: `run --tty` with the host terminal required,
 * bash (else sh) by default, and no summary line.
 */
export function cmdShell(argv: string[]): Promise<number> {
  return cmdRun(argv, { shell: true });
}

async function runParsed(
  p: ParsedArgs,
  sinks: Sinks,
  onStderr: () => void,
  how: RunHow,
): Promise<number> {
  const one = (name: string) => p.options.get(name)?.[0];
  const [program, ...args] = p.positionals;
  if (!program) {
    throw new UsageError("Missing PROGRAM: sandbox run [OPTIONS] [--] PROGRAM [ARGS...]");
  }
  if (one("result-file") === "-") {
    throw new UsageError(
      `Invalid --result-file "-": stdout is the program's; use a descriptor of its own (--result-file /dev/fd/3 3>result.json) or --json (the last line of stderr)`,
    );
  }
  const stdinMode = one("stdin") ?? "inherit";
  if (stdinMode !== "inherit" && stdinMode !== "null") {
    throw new UsageError(`Invalid --stdin "${stdinMode}": expected "inherit" or "null"`);
  }
  // Built here, once, when missing or stale (from a remote module: its sources fetched first).
  await prepareLauncher(one("launcher"), { onBuild: (line) => console.error(line) });
  const config = buildConfig(p);
  const baseMounts = Array.isArray(config.mounts) ? config.mounts.length - countMountFlags(p) : 0;
  let sandbox;
  try {
    let builder = new SandboxBuilder(config.id ?? "sandbox", config);
    const launcher = one("launcher");
    if (launcher) builder = builder.launcherPath(launcher);
    sandbox = builder.build();
  } catch (e) {
    // A value the user typed is named as the flag they typed, not as the config field.
    const message = nameFlags((e as Error).message, p, baseMounts);
    if (e instanceof TypeError || e instanceof RangeError) throw new UsageError(message);
    if (e instanceof SandboxError) e.message = message;
    throw e;
  }
  if (!p.options.has("quiet")) warnDegraded(sandbox.enforced, sandbox.config.namespaces);
  if (p.options.has("verbose")) {
    console.error(`sandbox: mode ${sandbox.mode}; enforced ${JSON.stringify(sandbox.enforced)}`);
  }
  const abort = new AbortController();
  // The CLI's stdin goes on to the program as a byte stream (never as the terminal itself:
  // the target holds pipes, or with --tty a terminal of the sandbox's own devpts).
  const tty = p.options.has("tty");
  // Raw mode from here; restored in the finally below on every way out (cli_tty.ts).
  const host = tty
    ? new HostTerminal({ required: !!how.shell, command: how.shell ? "shell" : "run --tty" })
    : null;
  let child;
  try {
    // The terminal's type goes with it, unless --env set one (read only then, and without
    // --allow-env not at all: README's narrow permission set has none).
    const term = tty ? envVar("TERM") : undefined;
    const env = tty && term && !sandbox.config.env?.TERM ? { env: { TERM: term } } : {};
    child = sandbox.spawn(program, args, {
      signal: abort.signal,
      stdin: stdinMode,
      ...(host ? { tty: host.size, ...env } : {}),
    });
    host?.follow(child);
  } catch (e) {
    host?.restore();
    throw e;
  }
  const forward = (sig: Deno.Signal) => () => child.kill(sig);
  const listeners = (["SIGINT", "SIGTERM", "SIGHUP"] as const).map((s) =>
    [s, s === "SIGTERM" ? () => abort.abort() : forward(s)] as const
  );
  for (const [s, f] of listeners) Deno.addSignalListener(s, f);
  try {
    // Whether the program's stderr ended a line: our lines must start lines of their own.
    let endsLine = true;
    const seen = new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, ctl) {
        if (chunk.length) {
          onStderr();
          endsLine = chunk[chunk.length - 1] === 0x0a;
        }
        ctl.enqueue(chunk);
      },
    });
    await Promise.all([
      child.stdout.pipeTo(Deno.stdout.writable, { preventClose: true }),
      child.stderr.pipeThrough(seen).pipeTo(Deno.stderr.writable, { preventClose: true }),
    ]);
    const result = await child.status;
    host?.restore();
    if (!endsLine) console.error();
    if (!p.options.has("quiet") && !how.shell) {
      const refused = unmappedNote(result.enforced, ["filesystem"]);
      if (refused) console.error(`sandbox: warning: ${refused}`);
      console.error(summary(result));
    }
    const delivered = deliver(result, sinks);
    return delivered ? exitCodeFor(result) : EXIT.setup;
  } finally {
    host?.restore();
    for (const [s, f] of listeners) Deno.removeSignalListener(s, f);
  }
}

function countMountFlags(p: ParsedArgs): number {
  return ["bind", "ro-bind", "tmpfs", "overlay", "dir", "symlink"]
    .reduce((n, f) => n + (p.options.get(f)?.length ?? 0), 0);
}
