/**
 * Decodes the launcher's status file (newline-delimited JSON of integers and fixed words) into
 * a {@linkcode SandboxResult} or a {@linkcode SandboxSetupError}. Pure.
 *
 * @module
 */

import { EXIT, setupStep } from "./abi.ts";
import { errnoName } from "./errno.ts";
import {
  ProgramNotExecutableError,
  ProgramNotFoundError,
  SandboxError,
  SandboxSetupError,
  type SetupFailure,
} from "./errors.ts";
import type {
  Enforced,
  ResolvedMode,
  SandboxReason,
  SandboxResult,
  SeccompViolation,
} from "./types.ts";
import { AUDIT_ARCH, syscallName } from "./syscalls.ts";
import { withRefusals } from "./ownership.ts";

/** One record of the status file. */
export type StatusRecord =
  | { type: "started" }
  | { type: "host-ids"; uid: number; gid: number }
  /** A mount (op index) the filesystem would not id-map; it went on without. */
  | { type: "idmap"; op: number; errno: number }
  | { type: "error"; step: string; op: number; errno: number }
  /** The host path a failed host-side step was resolving, and the symlink it refused (hex). */
  | { type: "host-path"; path: string; link: string }
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
  }
  | {
    type: "cgroup";
    version: 1 | 2;
    memoryPeak: number;
    oomKills: number;
    pidsMaxHits: number;
    cpuUs: number;
    userUs: number;
    sysUs: number;
  };

/** A path the launcher wrote as hex (any byte may occur in a path; C escapes nothing). */
function fromHex(hex: string): string {
  const bytes = new Uint8Array(hex.length >> 1);
  for (let i = 0; i < bytes.length; i++) bytes[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return new TextDecoder().decode(bytes);
}

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

const SIGKILL = 9;

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
  opPath: (op: number, step: string) => string | null;
  /** The launcher's own exit code (a fallback when no record was written). */
  launcherCode: number;
  launcherSignal: string | null;
  aborted: boolean;
  /** The signals `kill()` forwarded to the launcher (for one that came before it could hold it). */
  forwarded?: readonly string[];
  /** The library killed the run because its output passed `maxOutput`. */
  outputLimited?: boolean;
}

/**
 * Builds the result of a run, or throws the setup error it reports.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { decodeResult } from "./status.ts";
 * const r = decodeResult(
 *   '{"type":"started"}\n{"type":"exit","code":3,"signal":0,"timedOut":false,"killed":false,' +
 *     '"wallUs":2000,"userUs":10,"sysUs":5,"maxRssKb":100}\n',
 *   {
 *     mode: "unprivileged",
 *     enforced: { namespaces: [], seccomp: null, landlock: null, limits: { backend: "none", maxOutputBytes: 1, approximated: [], dropped: [] }, uid: 1000 },
 *     opPath: () => null,
 *     launcherCode: 3,
 *     launcherSignal: null,
 *     aborted: false,
 *   },
 * );
 * assert(r.exitCode === 3 && r.reason === "exited");
 * ```
 */
export function decodeResult(text: string, ctx: DecodeContext): SandboxResult {
  const records = parseStatus(text);
  const enforced = withIdmapRefusals(withHostIds(ctx.enforced, records), records, ctx);
  const error = records.find((r) => r.type === "error");
  const exit = records.find((r) => r.type === "exit");
  if (error && error.type === "error" && !exit) {
    const errno = errnoName(error.errno);
    const host = records.find((r) => r.type === "host-path");
    const hostPath = host?.type === "host-path" ? fromHex(host.path) : "";
    const failure: SetupFailure = {
      step: setupStep(error.step),
      errno,
      path: hostPath || ctx.opPath(error.op, error.step),
      exitCode: error.step !== "exec"
        ? EXIT.setup
        : errno === "ENOENT"
        ? EXIT.notFound
        : EXIT.notExecutable,
    };
    if (error.step === "host-link" && host?.type === "host-path") {
      throw new SandboxSetupError(
        failure,
        `Refused to follow the symlink "${fromHex(host.link)}" on the host path "${hostPath}": ` +
          `it is in a directory a sandbox could write (links are followed only in directories ` +
          `owned by root or by the calling user and not writable by group or others), so a ` +
          `sandbox may have planted it. Name the real path instead`,
      );
    }
    if (error.step === "dest-link") {
      throw new SandboxSetupError(
        failure,
        `Refused the destination "${failure.path}": it goes through a symlink on a writable ` +
          `mount, where a sandbox may have planted it. Name the real path inside the sandbox instead`,
      );
    }
    if (
      (error.step === "bind" || error.step === "overlay") && failure.path && errno === "EACCES"
    ) {
      throw new SandboxSetupError(
        failure,
        `Cannot open the ${error.step} source "${failure.path}": permission denied (EACCES). ` +
          `The launcher opens it as the calling user, before the sandbox exists; that user cannot ` +
          `search a directory on the way or read the source. Give the calling user access ` +
          `(chmod, setfacl), run as a user who has it (root reaches any path), or bind a copy`,
      );
    }
    if (failure.exitCode === EXIT.notFound) throw new ProgramNotFoundError(failure);
    if (error.step === "host-ids" && errno === "EUSERS") {
      throw new SandboxSetupError(
        failure,
        `No free host id in hostIds ${failure.path}: every one is held by a running sandbox (EUSERS); raise hostIds.count or wait for runs to end`,
      );
    }
    // Not executable: a directory, no x bit, not a binary format, busy. Other exec errors
    // (E2BIG, ENOMEM) stay generic setup errors with the same exit code.
    if (
      ["EACCES", "ENOEXEC", "EISDIR", "ETXTBSY", "EPERM"].includes(failure.errno) &&
      error.step === "exec"
    ) {
      throw new ProgramNotExecutableError(failure);
    }
    throw new SandboxSetupError(failure);
  }
  if (!exit || exit.type !== "exit") {
    // Killed by the caller — kill() or an abort — before the launcher could hold the signal (it
    // blocks them first thing, but a signal can land between fork and exec): the program never
    // ran, and the run ended by that signal.
    const early = ctx.launcherSignal !== null && ctx.forwarded?.includes(ctx.launcherSignal);
    if (ctx.aborted || early) {
      return {
        exitCode: null,
        signal: early ? ctx.launcherSignal : "SIGKILL",
        reason: "signaled",
        success: false,
        timedOut: false,
        oomKilled: false,
        aborted: ctx.aborted,
        wallTimeMs: 0,
        cpuTimeUs: 0,
        cpuUserUs: 0,
        cpuSystemUs: 0,
        memoryPeakBytes: 0,
        memoryPeakSource: "none",
        pidsLimitHit: false,
        seccompViolation: null,
        seccompViolations: 0,
        killedBySeccomp: false,
        mode: ctx.mode,
        enforced,
      };
    }
    throw new SandboxError(
      `The sandbox launcher ended without a result (exit code ${ctx.launcherCode}${
        ctx.launcherSignal ? `, signal ${ctx.launcherSignal}` : ""
      })`,
    );
  }
  const signal = exit.signal ? signalName(exit.signal) : null;
  const cg = records.find((r) => r.type === "cgroup");
  const usage = cg && cg.type === "cgroup" ? cg : null;
  // CPU from the cgroup when it accounted any (v2 always; v1 with cpuacct, which a run joins
  // whenever it has a cgroup), else from init's rusage: init kills and reaps every process of
  // the run before it exits, on every end, so their usage adds up in it.
  const cgCpu = usage && usage.cpuUs > 0 ? usage : null;
  const cpuUs = cgCpu ? cgCpu.cpuUs : exit.userUs + exit.sysUs;
  const limits = ctx.enforced.limits;
  const oomKilled = (usage?.oomKills ?? 0) > 0;
  const exitCode = exit.signal ? null : exit.code;
  // The most specific cause wins: a limit that fired explains the signal or exit code.
  const reason: SandboxReason = exit.timedOut
    ? "timeout"
    : ctx.outputLimited
    ? "output-limit"
    : exit.seccompKilled
    ? "seccomp"
    : oomKilled
    ? "memory"
    : signal === "SIGXCPU" ||
        (signal === "SIGKILL" && limits.cpuTimeMs !== undefined && cpuUs >= limits.cpuTimeMs * 1000)
    ? "cpu-time"
    : signal === "SIGXFSZ"
    ? "file-size"
    : (usage?.pidsMaxHits ?? 0) > 0 && exitCode !== 0
    ? "pids"
    : signal
    ? "signaled"
    : "exited";
  const aborted = ctx.aborted || (exit.killed && !ctx.outputLimited);
  return {
    exitCode,
    signal,
    reason,
    // Exit 0 on its own: nothing (a timeout, a limit, the OOM killer, kill() or an abort) ended
    // or cut the run.
    success: exitCode === 0 && reason === "exited" && !exit.timedOut && !oomKilled && !aborted,
    timedOut: exit.timedOut,
    oomKilled,
    aborted,
    wallTimeMs: Math.round(exit.wallUs / 100) / 10,
    cpuTimeUs: cpuUs,
    ...splitCpu(cpuUs, cgCpu, exit),
    // The cgroup's peak covers every process (and tmpfs pages); ru_maxrss the largest one. A
    // cgroup records none (0) without the memory controller, or on v2 before Linux 5.19.
    memoryPeakBytes: usage && usage.memoryPeak > 0 ? usage.memoryPeak : exit.maxRssKb * 1024,
    memoryPeakSource: usage && usage.memoryPeak > 0 ? "cgroup" : "rusage",
    pidsLimitHit: (usage?.pidsMaxHits ?? 0) > 0,
    seccompViolation: violation(exit.seccompNr, exit.seccompArch),
    seccompViolations: exit.seccompCount ?? 0,
    killedBySeccomp: exit.seccompKilled ?? false,
    mode: ctx.mode,
    enforced,
  };
}

/** A root caller's run reports the host ids it was given; without namespaces they are its uid. */
function withHostIds(enforced: Enforced, records: StatusRecord[]): Enforced {
  const ids = records.find((r) => r.type === "host-ids");
  if (!ids || ids.type !== "host-ids") return enforced;
  return {
    ...enforced,
    hostUid: ids.uid,
    hostGid: ids.gid,
    ...(enforced.namespaces.length === 0 ? { uid: ids.uid } : {}),
  };
}

/** Mounts whose filesystem refused id-mapping (launcher/idmap.c) are said in `mounts`. */
function withIdmapRefusals(
  enforced: Enforced,
  records: StatusRecord[],
  ctx: DecodeContext,
): Enforced {
  const refused = records.flatMap((r) => {
    if (r.type !== "idmap") return [];
    const target = ctx.opPath(r.op, "idmap");
    return target === null ? [] : [{ target, errno: errnoName(r.errno) }];
  });
  if (refused.length === 0 || !enforced.mounts) return enforced;
  return { ...enforced, mounts: withRefusals(enforced.mounts, refused) };
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

/**
 * User/system split of the total CPU time: the cgroup's split scaled to its precise total (v1
 * counts only 10 ms ticks; v2's parts can differ from its total by rounding), or rusage's when
 * the cgroup counted none; without a cgroup, rusage's own.
 */
function splitCpu(
  total: number,
  usage: { version: number; userUs: number; sysUs: number } | null,
  ru: { userUs: number; sysUs: number },
): { cpuUserUs: number; cpuSystemUs: number } {
  if (!usage) return { cpuUserUs: ru.userUs, cpuSystemUs: ru.sysUs };
  // The cgroup's split is scaled to its total: v1's cpuacct.stat counts ticks, and v2's
  // user_usec + system_usec can differ from usage_usec by rounding; user + system = total.
  const [u, s] = usage.userUs + usage.sysUs > 0
    ? [usage.userUs, usage.sysUs]
    : [ru.userUs, ru.sysUs];
  const user = u + s > 0 ? Math.round((total * u) / (u + s)) : total;
  return { cpuUserUs: user, cpuSystemUs: total - user };
}

/**
 * The process exit code the CLI uses for a result: 124 on timeout; 128 + N when the target died
 * of signal N (159 for a seccomp kill, 137 for `SIGKILL`); else the target's exit code. Setup
 * failures have no result: their code is `SandboxSetupError.exitCode` (125, 126, 127).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { exitCodeFor, SandboxBuilder } from "../mod.ts";
 *
 * const sandbox = new SandboxBuilder("x").timeout("2s").build();
 * assert.equal(exitCodeFor(await sandbox.run("sh", ["-c", "exit 7"])), 7);
 * assert.equal(exitCodeFor(await sandbox.run("sh", ["-c", "kill -TERM $$"])), 143);
 * ```
 */
export function exitCodeFor(result: SandboxResult): number {
  const killed = EXIT.signalBase + SIGKILL;
  if (result.timedOut) return EXIT.timeout;
  if (result.reason === "output-limit") return result.signal ? killed : result.exitCode ?? killed;
  if (result.signal) return EXIT.signalBase + (signalNumber(result.signal) ?? SIGKILL);
  return result.exitCode ?? 1;
}
