/**
 * Decodes the launcher's status file (newline-delimited JSON of integers and fixed words) into
 * a {@linkcode SandboxResult} or a {@linkcode SandboxSetupError}. Pure.
 *
 * @module
 */

import { errnoName } from "./errno.ts";
import {
  ProgramNotExecutableError,
  ProgramNotFoundError,
  SandboxError,
  SandboxSetupError,
} from "./errors.ts";
import type { Enforced, ResolvedMode, SandboxResult, SeccompViolation } from "./types.ts";
import { AUDIT_ARCH, syscallName } from "./syscalls.ts";

/** One record of the status file. */
export type StatusRecord =
  | { type: "started" }
  | { type: "error"; step: string; op: number; errno: number }
  | {
    type: "exit";
    code: number;
    signal: number;
    timedOut: boolean;
    killed: boolean;
    wallUs: number;
    userUs: number;
    sysUs: number;
    maxRssKb: number;
    seccompNr: number;
    seccompArch: number;
    seccompCount: number;
    seccompKilled: boolean;
  };

/** Parses the status file text; malformed lines are skipped (a killed launcher may cut one). */
export function parseStatus(text: string): StatusRecord[] {
  const out: StatusRecord[] = [];
  for (const line of text.split("\n")) {
    if (!line) continue;
    try {
      const r = JSON.parse(line);
      if (r && typeof r.type === "string") out.push(r as StatusRecord);
    } catch {
      // a partial last line: ignore
    }
  }
  return out;
}

const SIGNALS: readonly string[] = [
  "",
  "SIGHUP",
  "SIGINT",
  "SIGQUIT",
  "SIGILL",
  "SIGTRAP",
  "SIGABRT",
  "SIGBUS",
  "SIGFPE",
  "SIGKILL",
  "SIGUSR1",
  "SIGSEGV",
  "SIGUSR2",
  "SIGPIPE",
  "SIGALRM",
  "SIGTERM",
  "SIGSTKFLT",
  "SIGCHLD",
  "SIGCONT",
  "SIGSTOP",
  "SIGTSTP",
  "SIGTTIN",
  "SIGTTOU",
  "SIGURG",
  "SIGXCPU",
  "SIGXFSZ",
  "SIGVTALRM",
  "SIGPROF",
  "SIGWINCH",
  "SIGIO",
  "SIGPWR",
  "SIGSYS",
];

/** The name of a Linux signal number (x86_64/aarch64 numbering). */
export function signalName(n: number): string {
  return SIGNALS[n] ?? `SIG${n}`;
}

/** The number of a Linux signal name. */
export function signalNumber(name: string): number | undefined {
  const i = SIGNALS.indexOf(name);
  return i > 0 ? i : undefined;
}

/** Context a decoder needs besides the status file. */
export interface DecodeContext {
  mode: ResolvedMode;
  enforced: Enforced;
  /** The path each op index refers to, for error messages. */
  opPath: (op: number) => string | null;
  /** The launcher's own exit code (a fallback when no record was written). */
  launcherCode: number;
  launcherSignal: string | null;
  aborted: boolean;
}

/**
 * Builds the result of a run, or throws the setup error it reports.
 *
 * @example
 * ```ts
 * import { decodeResult } from "./status.ts";
 * const r = decodeResult(
 *   '{"type":"started"}\n{"type":"exit","code":3,"signal":0,"timedOut":false,"killed":false,' +
 *     '"wallUs":2000,"userUs":10,"sysUs":5,"maxRssKb":100}\n',
 *   {
 *     mode: "unprivileged",
 *     enforced: { namespaces: [], seccomp: null, landlock: null, limits: "none", uid: 1000 },
 *     opPath: () => null,
 *     launcherCode: 3,
 *     launcherSignal: null,
 *     aborted: false,
 *   },
 * );
 * console.assert(r.exitCode === 3 && r.reason === "exited");
 * ```
 */
export function decodeResult(text: string, ctx: DecodeContext): SandboxResult {
  const records = parseStatus(text);
  const error = records.find((r) => r.type === "error");
  const exit = records.find((r) => r.type === "exit");
  if (error && error.type === "error" && !exit) {
    const failure = {
      step: error.step,
      errno: errnoName(error.errno),
      path: ctx.opPath(error.op),
      exitCode: error.step === "exec" ? (error.errno === 2 ? 127 : 126) : 125,
    };
    if (failure.exitCode === 127) throw new ProgramNotFoundError(failure);
    if (failure.exitCode === 126) throw new ProgramNotExecutableError(failure);
    throw new SandboxSetupError(failure);
  }
  if (!exit || exit.type !== "exit") {
    if (ctx.aborted) {
      return {
        exitCode: null,
        signal: "SIGKILL",
        reason: "signaled",
        timedOut: false,
        oomKilled: false,
        aborted: true,
        wallTimeMs: 0,
        cpuTimeUs: 0,
        cpuUserUs: 0,
        cpuSystemUs: 0,
        memoryPeakBytes: 0,
        seccompViolation: null,
        seccompViolations: 0,
        killedBySeccomp: false,
        mode: ctx.mode,
        enforced: ctx.enforced,
      };
    }
    throw new SandboxError(
      `The sandbox launcher ended without a result (exit code ${ctx.launcherCode}${
        ctx.launcherSignal ? `, signal ${ctx.launcherSignal}` : ""
      })`,
    );
  }
  const signal = exit.signal ? signalName(exit.signal) : null;
  return {
    exitCode: exit.signal ? null : exit.code,
    signal,
    reason: exit.timedOut
      ? "timeout"
      : exit.seccompKilled
      ? "seccomp"
      : signal
      ? "signaled"
      : "exited",
    timedOut: exit.timedOut,
    oomKilled: false,
    aborted: exit.killed || ctx.aborted,
    wallTimeMs: Math.round(exit.wallUs / 100) / 10,
    cpuTimeUs: exit.userUs + exit.sysUs,
    cpuUserUs: exit.userUs,
    cpuSystemUs: exit.sysUs,
    memoryPeakBytes: exit.maxRssKb * 1024,
    seccompViolation: violation(exit.seccompNr, exit.seccompArch),
    seccompViolations: exit.seccompCount ?? 0,
    killedBySeccomp: exit.seccompKilled ?? false,
    mode: ctx.mode,
    enforced: ctx.enforced,
  };
}

function violation(nr: number | undefined, auditArch: number | undefined): SeccompViolation | null {
  if (nr === undefined || nr < 0) return null;
  const arch = auditArch === AUDIT_ARCH.aarch64
    ? "aarch64"
    : auditArch === AUDIT_ARCH.x86_64
    ? "x86_64"
    : null;
  if (arch === null) {
    return {
      syscall: `unknown (arch 0x${(auditArch ?? 0).toString(16)})`,
      number: nr,
      arch: "other",
    };
  }
  // x32 numbers carry bit 30; name the call they alias.
  const name = syscallName(arch, nr) ??
    (nr & 0x40000000 ? `x32:${syscallName(arch, nr & ~0x40000000) ?? nr}` : `#${nr}`);
  return { syscall: name, number: nr, arch };
}

/** The process exit code the CLI uses for a result (the launcher's convention). */
export function exitCodeFor(result: SandboxResult): number {
  if (result.timedOut) return 124;
  if (result.signal) return 128 + (signalNumber(result.signal) ?? 9);
  return result.exitCode ?? 1;
}
