/**
 * Reading programs back, for tests and the CLI: validation as the kernel's checker does it, an
 * interpreter, and a disassembler. The launcher never needs these.
 *
 * @module
 */

import { type Arch, AUDIT_ARCH, syscallName, X32_SYSCALL_BIT } from "../syscalls.ts";
import {
  BPF,
  BPF_MAXINSNS,
  BPF_MEMWORDS,
  bpfClass,
  bpfMiscOp,
  bpfMode,
  bpfOp,
  bpfRval,
  bpfSize,
  bpfSrc,
  DATA,
  decodeProgram,
  SECCOMP_RET,
} from "./bpf.ts";

/**
 * Checks a program the way the kernel's classic-BPF and seccomp checkers do for the instructions
 * seccomp accepts: 1 to 4096 instructions, known opcodes, aligned 32-bit loads inside
 * `struct seccomp_data`, every jump target inside the program, a `ret` last. Throws `RangeError`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { compileSeccomp, validateSeccompProgram } from "./mod.ts";
 *
 * validateSeccompProgram(compileSeccomp({ profile: "unrestricted" }, "x86_64"));
 * ```
 */
export function validateSeccompProgram(bytes: Uint8Array): void {
  const prog = decodeProgram(bytes);
  if (prog.length === 0 || prog.length > BPF_MAXINSNS) {
    throw new RangeError(
      `Invalid seccomp program: ${prog.length} instructions, expected 1 to ${BPF_MAXINSNS}`,
    );
  }
  const bad = (pc: number, why: string) =>
    new RangeError(`Invalid seccomp program at instruction ${pc}: ${why}`);
  prog.forEach((insn, pc) => {
    const { code, k } = insn;
    switch (bpfClass(code)) {
      case BPF.LD:
      case BPF.LDX:
        if (bpfClass(code) === BPF.LD && bpfMode(code) === BPF.ABS) {
          if (bpfSize(code) !== BPF.W) {
            throw bad(pc, "only 32-bit loads from seccomp_data are allowed");
          }
          if (k % 4 !== 0 || k + 4 > DATA.size) {
            throw bad(pc, `load offset ${k} outside seccomp_data`);
          }
        } else if (bpfMode(code) === BPF.MEM) {
          if (k >= BPF_MEMWORDS) throw bad(pc, `scratch slot ${k} out of range`);
        } else if (bpfMode(code) !== BPF.IMM && bpfMode(code) !== BPF.LEN) {
          throw bad(pc, `unsupported load 0x${code.toString(16)}`);
        }
        break;
      case BPF.ST:
      case BPF.STX:
        if (k >= BPF_MEMWORDS) throw bad(pc, `scratch slot ${k} out of range`);
        break;
      case BPF.ALU:
        if (
          (bpfOp(code) === BPF.DIV || bpfOp(code) === BPF.MOD) && bpfSrc(code) === BPF.K && k === 0
        ) {
          throw bad(pc, "division by constant zero");
        }
        if (bpfOp(code) > BPF.XOR) throw bad(pc, `unknown ALU opcode 0x${code.toString(16)}`);
        break;
      case BPF.JMP:
        if (bpfOp(code) === BPF.JA) {
          if (pc + 1 + k >= prog.length) throw bad(pc, `ja ${k} jumps past the end`);
        } else if (bpfOp(code) > BPF.JSET) {
          throw bad(pc, `unknown jump opcode 0x${code.toString(16)}`);
        } else if (pc + 1 + Math.max(insn.jt, insn.jf) >= prog.length) {
          throw bad(pc, "conditional jump past the end");
        }
        break;
      case BPF.RET:
      case BPF.MISC:
        break;
    }
  });
  if (bpfClass(prog[prog.length - 1]!.code) !== BPF.RET) {
    throw bad(prog.length - 1, "the last instruction must be a ret");
  }
}

/** The input of {@link evaluateSeccomp}: a `struct seccomp_data`. */
export interface SeccompData {
  /** The architecture, or a raw `AUDIT_ARCH_*` value. */
  arch: Arch | number;
  /** The syscall number (negative values wrap to u32, as in the kernel). */
  nr: number;
  /** Up to six 64-bit arguments; missing ones are 0. */
  args?: readonly (number | bigint)[];
  /** `instruction_pointer`; 0 if omitted. */
  instructionPointer?: bigint;
}

/**
 * Runs a seccomp program on one `seccomp_data` and returns the 32-bit action it produces (for
 * tests and `sandbox seccomp --explain`). Validates the program first.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { compileSeccomp, evaluateSeccomp, SECCOMP_RET } from "./mod.ts";
 *
 * const bpf = compileSeccomp({ profile: "minimal" }, "x86_64");
 * const ioctl = 16, TIOCSTI = 0x5412;
 * assert(evaluateSeccomp(bpf, { arch: "x86_64", nr: ioctl, args: [0, TIOCSTI] }) === (SECCOMP_RET.ERRNO | 1));
 * assert(evaluateSeccomp(bpf, { arch: "aarch64", nr: 0 }) === SECCOMP_RET.KILL_PROCESS);
 * ```
 */
export function evaluateSeccomp(bytes: Uint8Array, data: SeccompData): number {
  validateSeccompProgram(bytes);
  const prog = decodeProgram(bytes);
  const words = new Uint32Array(DATA.size / 4);
  words[DATA.nr / 4] = data.nr >>> 0;
  words[DATA.arch / 4] = typeof data.arch === "number" ? data.arch >>> 0 : AUDIT_ARCH[data.arch];
  const put64 = (offset: number, value: bigint) => {
    const v = BigInt.asUintN(64, value);
    words[offset / 4] = Number(v & 0xffffffffn);
    words[offset / 4 + 1] = Number(v >> 32n);
  };
  put64(DATA.instructionPointer, data.instructionPointer ?? 0n);
  for (let i = 0; i < 6; i++) put64(DATA.argLow(i), BigInt(data.args?.[i] ?? 0));

  const mem = new Uint32Array(BPF_MEMWORDS);
  let a = 0, x = 0;
  for (let pc = 0; pc < prog.length; pc++) {
    const { code, jt, jf, k } = prog[pc]!;
    switch (bpfClass(code)) {
      case BPF.LD:
        a = bpfMode(code) === BPF.ABS
          ? words[k / 4]!
          : bpfMode(code) === BPF.MEM
          ? mem[k]!
          : bpfMode(code) === BPF.LEN
          ? 64
          : k;
        break;
      case BPF.LDX:
        x = bpfMode(code) === BPF.MEM ? mem[k]! : bpfMode(code) === BPF.LEN ? 64 : k;
        break;
      case BPF.ST:
        mem[k] = a;
        break;
      case BPF.STX:
        mem[k] = x;
        break;
      case BPF.ALU: {
        const src = bpfSrc(code) === BPF.X ? x : k;
        switch (bpfOp(code)) {
          case BPF.ADD:
            a = (a + src) >>> 0;
            break;
          case BPF.SUB:
            a = (a - src) >>> 0;
            break;
          case BPF.MUL:
            a = Math.imul(a, src) >>> 0;
            break;
          case BPF.DIV:
            if (src === 0) return 0; // the kernel ends the program with 0 on a division by zero
            a = Math.floor(a / src) >>> 0;
            break;
          case BPF.OR:
            a = (a | src) >>> 0;
            break;
          case BPF.AND:
            a = (a & src) >>> 0;
            break;
          case BPF.LSH:
            a = src >= 32 ? 0 : (a << src) >>> 0;
            break;
          case BPF.RSH:
            a = src >= 32 ? 0 : a >>> src;
            break;
          case BPF.NEG:
            a = -a >>> 0;
            break;
          case BPF.MOD:
            if (src === 0) return 0;
            a = (a % src) >>> 0;
            break;
          case BPF.XOR:
            a = (a ^ src) >>> 0;
            break;
        }
        break;
      }
      case BPF.JMP: {
        const src = bpfSrc(code) === BPF.X ? x : k;
        switch (bpfOp(code)) {
          case BPF.JA:
            pc += k;
            break;
          case BPF.JEQ:
            pc += a === src ? jt : jf;
            break;
          case BPF.JGT:
            pc += a > src ? jt : jf;
            break;
          case BPF.JGE:
            pc += a >= src ? jt : jf;
            break;
          case BPF.JSET:
            pc += (a & src) !== 0 ? jt : jf;
            break;
        }
        break;
      }
      case BPF.RET:
        return (bpfRval(code) === BPF.A ? a : k) >>> 0;
      case BPF.MISC:
        if (bpfMiscOp(code) === BPF.TXA) a = x;
        else x = a;
        break;
    }
  }
  throw new RangeError("Invalid seccomp program: fell off the end without a ret");
}

/**
 * Names a seccomp return value: `ALLOW`, `KILL_PROCESS`, `ERRNO(1)`, `USER_NOTIF`, ….
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { actionName } from "./mod.ts";
 *
 * assert(actionName(0x00050026) === "ERRNO(38)");
 * ```
 */
export function actionName(action: number): string {
  const data = action & 0xffff;
  switch ((action & 0xffff0000) >>> 0) {
    case SECCOMP_RET.KILL_PROCESS:
      return "KILL_PROCESS";
    case SECCOMP_RET.KILL_THREAD:
      return "KILL_THREAD";
    case SECCOMP_RET.TRAP:
      return `TRAP(${data})`;
    case SECCOMP_RET.ERRNO:
      return `ERRNO(${data})`;
    case SECCOMP_RET.USER_NOTIF:
      return "USER_NOTIF";
    case SECCOMP_RET.TRACE:
      return `TRACE(${data})`;
    case SECCOMP_RET.LOG:
      return "LOG";
    case SECCOMP_RET.ALLOW:
      return "ALLOW";
    default:
      return `0x${(action >>> 0).toString(16).padStart(8, "0")}`;
  }
}

const JUMP_NAMES = new Map<number, string>([
  [BPF.JEQ, "jeq"],
  [BPF.JGT, "jgt"],
  [BPF.JGE, "jge"],
  [BPF.JSET, "jset"],
]);

const hex = (n: number) => `0x${n.toString(16)}`;

function loadComment(k: number): string {
  if (k === DATA.nr) return "nr";
  if (k === DATA.arch) return "arch";
  const half = k % 8 === 0 ? "low" : "high";
  if (k < DATA.argLow(0)) return `instruction_pointer ${half}`;
  return `args[${Math.floor((k - DATA.argLow(0)) / 8)}] ${half}`;
}

/**
 * Disassembles a program, one instruction per line (`0012: jge #59 jt 14 jf 13  ; execve`), with
 * absolute jump targets, named return actions, and the syscall name after compares on `nr`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { compileSeccomp, disassemble } from "./mod.ts";
 *
 * const text = disassemble(compileSeccomp({ profile: "essential" }, "x86_64"), "x86_64");
 * assert(text.includes("ret ALLOW") && text.includes("; execve"));
 * ```
 */
export function disassemble(bytes: Uint8Array, arch: Arch): string {
  const prog = decodeProgram(bytes);
  const width = Math.max(4, String(prog.length).length);
  const at = (n: number) => String(n).padStart(width, "0");
  const archNames = new Map<number, string>(
    Object.entries(AUDIT_ARCH).map(([name, value]) => [value, `AUDIT_ARCH_${name.toUpperCase()}`]),
  );
  let loaded = -1; // offset of the last absolute load, tracked in program order
  const lines = prog.map(({ code, jt, jf, k }, pc) => {
    let text: string;
    let comment = "";
    switch (bpfClass(code)) {
      case BPF.LD:
        if (bpfMode(code) === BPF.ABS) {
          loaded = k;
          text = `ld [${k}]`;
          comment = loadComment(k);
        } else {
          loaded = -1;
          text = bpfMode(code) === BPF.MEM
            ? `ld M[${k}]`
            : bpfMode(code) === BPF.LEN
            ? "ld #len"
            : `ld #${k}`;
        }
        break;
      case BPF.JMP: {
        const op = JUMP_NAMES.get(bpfOp(code));
        if (bpfOp(code) === BPF.JA) {
          text = `ja ${at(pc + 1 + k)}`;
          break;
        }
        const src = bpfSrc(code) === BPF.X
          ? "x"
          : loaded === DATA.nr && k < 0x10000
          ? `#${k}`
          : `#${hex(k)}`;
        text = `${op ?? `jmp(${hex(code)})`} ${src} jt ${at(pc + 1 + jt)} jf ${at(pc + 1 + jf)}`;
        if (bpfSrc(code) === BPF.K) {
          if (loaded === DATA.nr) {
            comment = k === X32_SYSCALL_BIT ? "x32 syscalls" : syscallName(arch, k) ?? "";
          } else if (loaded === DATA.arch) comment = archNames.get(k) ?? "";
        }
        break;
      }
      case BPF.RET:
        text = bpfRval(code) === BPF.A ? "ret A" : `ret ${actionName(k)}`;
        break;
      default:
        text = `op ${hex(code)} jt ${jt} jf ${jf} k ${hex(k)}`;
    }
    const line = `${at(pc)}: ${text}`;
    return comment ? `${`${line} `.padEnd(width + 32)}; ${comment}` : line;
  });
  return lines.join("\n") + "\n";
}
