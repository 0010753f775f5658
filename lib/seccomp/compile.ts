/**
 * The compiler: a resolved policy becomes a classic-BPF seccomp program (an arch check, an x32
 * check, a binary search over syscall numbers, argument checks, shared `ret`s).
 *
 * @module
 */

import { ERRNO } from "../errno.ts";
import { type Arch, AUDIT_ARCH, X32_SYSCALL_BIT } from "../syscalls.ts";
import { Assembler, type Label } from "./assembler.ts";
import { BPF, DATA, SECCOMP_RET } from "./bpf.ts";
import {
  type ResolvedSeccomp,
  type ResolveOptions,
  resolvePolicy,
  type SeccompPolicy,
} from "./resolve.ts";
import type { ArgumentCheck, ArgumentRule } from "./rules.ts";

/** The instructions the compiler emits. */
const LD_ABS = BPF.LD | BPF.W | BPF.ABS;
const JEQ = BPF.JMP | BPF.JEQ | BPF.K;
const JGE = BPF.JMP | BPF.JGE | BPF.K;
const JSET = BPF.JMP | BPF.JSET | BPF.K;
const RET = BPF.RET | BPF.K;

/** Options for {@link compileSeccomp}: where the sandbox runs, and how refusals are answered. */
export interface CompileOptions extends ResolveOptions {
  /**
   * Return `SECCOMP_RET_USER_NOTIF` for every refused syscall so that the launcher's monitor can
   * name it and then answer EPERM (errno mode) or kill the sandbox (kill mode); a call failing an
   * argument check notifies too, and the monitor answers it with the check's errno in either mode
   * (the table {@link notifyAnswers} gives). With `false`, return the real refusal action and the
   * checks' errnos. Fixed-errno answers are unaffected (never notified: programs probe them on
   * every fork or lookup).
   * @default false
   */
  notify?: boolean;
}

/** A segment `[start, next segment's start)` of syscall numbers with one outcome. */
interface Segment {
  start: number;
  target: Label;
}

function refusalAction(policy: ResolvedSeccomp, notify: boolean): number {
  if (notify) return SECCOMP_RET.USER_NOTIF;
  return policy.action === "kill" ? SECCOMP_RET.KILL_PROCESS : SECCOMP_RET.ERRNO | ERRNO.EPERM;
}

/**
 * Compiles a policy into a classic-BPF seccomp program: the raw `struct sock_filter` array (8 bytes
 * per instruction, little-endian: u16 code, u8 jt, u8 jf, u32 k). Profile `"none"` gives an empty
 * array, which the launcher reads as "install no filter" (the kernel rejects an empty program, so
 * it cannot be installed by mistake).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { compileSeccomp, evaluateSeccomp, SECCOMP_RET } from "./mod.ts";
 *
 * const bpf = compileSeccomp({ profile: "essential", action: "errno" }, "aarch64");
 * const uname = 160;
 * assert(evaluateSeccomp(bpf, { arch: "aarch64", nr: uname }) === (SECCOMP_RET.ERRNO | 1));
 * const notify = compileSeccomp({ profile: "essential" }, "aarch64", { notify: true });
 * assert(evaluateSeccomp(notify, { arch: "aarch64", nr: uname }) === SECCOMP_RET.USER_NOTIF);
 * ```
 */
export function compileSeccomp(
  policy: SeccompPolicy,
  arch: Arch,
  options: CompileOptions = {},
): Uint8Array {
  const resolved = resolvePolicy(policy, arch, options);
  if (!resolved.enabled) return new Uint8Array(0);
  const asm = new Assembler();
  // One `ret` per distinct action (created in order: allow, refusal, kill, errnos).
  const returns = new Map<number, Label>();
  const ret = (action: number): Label => {
    let label = returns.get(action);
    if (!label) returns.set(action, label = asm.label());
    return label;
  };
  const allow = ret(SECCOMP_RET.ALLOW);
  const refuse = ret(refusalAction(resolved, options.notify ?? false));
  const killArch = ret(SECCOMP_RET.KILL_PROCESS);
  const errnoLabel = (errno: number): Label => ret(SECCOMP_RET.ERRNO | errno);

  // Outcome per allowed or special syscall number.
  const outcome = new Map<number, Label>();
  for (const nr of resolved.allowed) outcome.set(nr, allow);
  // One block per distinct rule: syscalls that share a rule (the mode checks) share its code.
  const argBlocks = new Map<ArgumentRule, Label>();
  for (const { nr, rule } of resolved.argumentRules) {
    let label = argBlocks.get(rule);
    if (!label) argBlocks.set(rule, label = asm.label());
    outcome.set(nr, label);
  }
  for (const f of resolved.fixedErrno) outcome.set(f.nr, errnoLabel(f.errno));

  // Segments over [0, 2^32): consecutive numbers with the same outcome merge.
  const segments: Segment[] = [];
  const push = (start: number, target: Label) => {
    if (segments.at(-1)?.target !== target) segments.push({ start, target });
  };
  push(0, outcome.get(0) ?? refuse);
  for (const [nr, target] of [...outcome].sort((a, b) => a[0] - b[0])) {
    push(nr, target);
    if (!outcome.has(nr + 1)) push(nr + 1, refuse);
  }

  // Prologue: architecture, then the syscall number.
  asm.emit({ kind: "stmt", code: LD_ABS, k: DATA.arch });
  const archCheck = asm.emit({
    kind: "jump",
    code: JEQ,
    k: AUDIT_ARCH[arch],
    jt: asm.label(),
    jf: killArch,
  });
  const loadNr = asm.label();
  archCheck.jt = loadNr;
  asm.bind(loadNr);
  asm.emit({ kind: "stmt", code: LD_ABS, k: DATA.nr });

  // Binary search: every internal node is `jge #start` with the upper half on jt.
  const emitTree = (lo: number, hi: number): Label => {
    if (lo === hi) return segments[lo]!.target;
    const mid = (lo + hi + 1) >> 1;
    const here = asm.label();
    asm.bind(here);
    const node = asm.emit({
      kind: "jump",
      code: JGE,
      k: segments[mid]!.start,
      jt: here,
      jf: here,
    });
    node.jf = emitTree(lo, mid - 1);
    node.jt = emitTree(mid, hi);
    return here;
  };
  const treeRoot = asm.label();
  if (arch === "x86_64") {
    asm.emit({ kind: "jump", code: JGE, k: X32_SYSCALL_BIT, jt: refuse, jf: treeRoot });
  }
  const root = segments.length === 1 ? segments[0]!.target : undefined;
  if (root) {
    asm.bind(treeRoot);
    asm.emit({ kind: "ja", target: root });
  } else {
    // The tree's first node is emitted next; alias treeRoot to it.
    asm.bind(treeRoot);
    emitTree(0, segments.length - 1);
  }

  // Argument checks: each step loads the argument's low word and compares; a value that does not
  // fail goes on to the next step, and past the last one the call is allowed.
  const emitCheck = (check: ArgumentCheck, next: Label) => {
    asm.emit({ kind: "stmt", code: LD_ABS, k: DATA.argLow(check.arg) });
    const fail = options.notify ? refuse : errnoLabel(check.errno);
    if (check.mode === "refuse-bits") {
      asm.emit({ kind: "jump", code: JSET, k: check.values[0]!, jt: fail, jf: next });
      return;
    }
    // Where a listed value goes, and where the rest go.
    const [hit, miss] = check.mode === "allow-values" ? [next, fail] : [fail, next];
    check.values.forEach((value, i) => {
      const last = i === check.values.length - 1;
      const other = last ? miss : asm.label();
      asm.emit({ kind: "jump", code: JEQ, k: value, jt: hit, jf: other });
      if (!last) asm.bind(other);
    });
  };
  for (const [rule, label] of argBlocks) {
    asm.bind(label);
    rule.checks.forEach((check, i, checks) => {
      const next = i === checks.length - 1 ? allow : asm.label();
      emitCheck(check, next);
      if (next !== allow) asm.bind(next);
    });
  }

  // Shared answers.
  for (const [action, label] of returns) {
    asm.bind(label);
    asm.emit({ kind: "stmt", code: RET, k: action });
  }
  return asm.assemble();
}

/** How the monitor answers a notified argument-check failure: `arg0` `"*"` matches any value. */
export interface NotifyAnswer {
  readonly nr: number;
  readonly name: string;
  readonly arg0: number | "*";
  readonly errno: number;
}

/**
 * The answers the launcher's monitor gives the argument-check failures of a filter compiled with
 * `notify`: each allowed syscall with checks answers its checks' errno. A rule whose later check
 * answers another errno (only on `args[0]`, narrowing an earlier `allow-values` list, as
 * `NO_INET_SOCKET` does) adds exact `args[0]` entries for the values it takes away.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { notifyAnswers } from "./compile.ts";
 *
 * const socket = notifyAnswers({ profile: "compute" }, "x86_64").find((a) => a.name === "socket");
 * assert.deepEqual(socket, { nr: 41, name: "socket", arg0: "*", errno: 97 }); // EAFNOSUPPORT
 * const noInet = notifyAnswers({ profile: "compute" }, "x86_64", { noInet: true });
 * assert(noInet.some((a) => a.name === "socket" && a.arg0 === 2 && a.errno === 13)); // EACCES
 * ```
 */
export function notifyAnswers(
  policy: SeccompPolicy,
  arch: Arch,
  options: ResolveOptions = {},
): NotifyAnswer[] {
  const resolved = resolvePolicy(policy, arch, options);
  if (!resolved.enabled) return [];
  const answers: NotifyAnswer[] = [];
  for (const { nr, name, rule } of resolved.argumentRules) {
    const [first, ...rest] = rule.checks;
    if (!first) continue;
    answers.push({ nr, name, arg0: "*", errno: first.errno });
    let previous = first;
    for (const check of rest) {
      if (check.errno !== first.errno) {
        if (
          check.arg !== 0 || check.mode !== "allow-values" || previous.arg !== 0 ||
          previous.mode !== "allow-values"
        ) {
          throw new Error(`The checks of "${name}" cannot be answered by the monitor's table`);
        }
        for (const value of previous.values) {
          if (!check.values.includes(value)) {
            answers.push({ nr, name, arg0: value, errno: check.errno });
          }
        }
      }
      previous = check;
    }
  }
  return answers;
}

/**
 * A small filter that refuses exactly `nrs` (a kill, or EPERM) and allows everything else, for
 * stacking on top of a broader filter: the kernel runs both and the stricter answer wins. A
 * session's commands get one (the agent's own syscalls, which the session's filter allows for
 * the agent, refused where the session's profile refuses them). Another architecture's call is
 * left to the filter beneath (which kills it).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { compileRefusals, evaluateSeccomp, SECCOMP_RET } from "./mod.ts";
 *
 * const bpf = compileRefusals([41, 42], "x86_64", "errno"); // socket, connect
 * assert.equal(evaluateSeccomp(bpf, { arch: "x86_64", nr: 41 }), SECCOMP_RET.ERRNO | 1);
 * assert.equal(evaluateSeccomp(bpf, { arch: "x86_64", nr: 0 }), SECCOMP_RET.ALLOW);
 * assert.equal(compileRefusals([], "x86_64", "kill").length, 0);
 * ```
 */
export function compileRefusals(
  nrs: readonly number[],
  arch: Arch,
  action: "kill" | "errno",
): Uint8Array {
  if (nrs.length === 0) return new Uint8Array(0);
  const asm = new Assembler();
  const allow = asm.label();
  const refuse = asm.label();
  const loadNr = asm.label();
  asm.emit({ kind: "stmt", code: LD_ABS, k: DATA.arch });
  asm.emit({ kind: "jump", code: JEQ, k: AUDIT_ARCH[arch], jt: loadNr, jf: allow });
  asm.bind(loadNr);
  asm.emit({ kind: "stmt", code: LD_ABS, k: DATA.nr });
  for (const nr of [...new Set(nrs)].sort((a, b) => a - b)) {
    const next = asm.label();
    asm.emit({ kind: "jump", code: JEQ, k: nr, jt: refuse, jf: next });
    asm.bind(next);
  }
  asm.bind(allow);
  asm.emit({ kind: "stmt", code: RET, k: SECCOMP_RET.ALLOW });
  asm.bind(refuse);
  asm.emit({
    kind: "stmt",
    code: RET,
    k: action === "kill" ? SECCOMP_RET.KILL_PROCESS : SECCOMP_RET.ERRNO | ERRNO.EPERM,
  });
  return asm.assemble();
}
