/**
 * The classic-BPF vocabulary for seccomp, in one place: opcode parts as the kernel's
 * `linux/bpf_common.h` names them, the `SECCOMP_RET_*` actions, the `struct seccomp_data`
 * offsets, and the 8-byte `struct sock_filter` layout in both directions. The assembler, the
 * compiler and the inspection tools all speak it.
 *
 * @module
 */

/**
 * Opcode parts (`BPF_*` in `linux/bpf_common.h`); an instruction's code is class | size | mode, or
 * class | op | source. Jump ops and ALU ops share values, as in the kernel.
 */
export const BPF = Object.freeze({
  // classes
  LD: 0x00,
  LDX: 0x01,
  ST: 0x02,
  STX: 0x03,
  ALU: 0x04,
  JMP: 0x05,
  RET: 0x06,
  MISC: 0x07,
  // load sizes (seccomp accepts only W)
  W: 0x00,
  H: 0x08,
  B: 0x10,
  // load modes
  IMM: 0x00,
  ABS: 0x20,
  IND: 0x40,
  MEM: 0x60,
  LEN: 0x80,
  // ALU ops
  ADD: 0x00,
  SUB: 0x10,
  MUL: 0x20,
  DIV: 0x30,
  OR: 0x40,
  AND: 0x50,
  LSH: 0x60,
  RSH: 0x70,
  NEG: 0x80,
  MOD: 0x90,
  XOR: 0xa0,
  // jump ops
  JA: 0x00,
  JEQ: 0x10,
  JGT: 0x20,
  JGE: 0x30,
  JSET: 0x40,
  // operand source: the constant k or the register X; for RET, A
  K: 0x00,
  X: 0x08,
  A: 0x10,
  // MISC: A into X, X into A
  TAX: 0x00,
  TXA: 0x80,
});

/** `BPF_CLASS(code)`. */
export const bpfClass = (code: number): number => code & 0x07;
/** `BPF_SIZE(code)`. */
export const bpfSize = (code: number): number => code & 0x18;
/** `BPF_MODE(code)`. */
export const bpfMode = (code: number): number => code & 0xe0;
/** `BPF_OP(code)`. */
export const bpfOp = (code: number): number => code & 0xf0;
/** `BPF_SRC(code)`. */
export const bpfSrc = (code: number): number => code & 0x08;
/** `BPF_RVAL(code)`: what a `ret` returns, `BPF.K` or `BPF.A`. */
export const bpfRval = (code: number): number => code & 0x18;
/** `BPF_MISCOP(code)`. */
export const bpfMiscOp = (code: number): number => code & 0xf8;

/** The most instructions the kernel accepts (`BPF_MAXINSNS`). */
export const BPF_MAXINSNS = 4096;

/** Scratch memory words (`BPF_MEMWORDS`). */
export const BPF_MEMWORDS = 16;

/** `offsetof(struct seccomp_data, …)`; the struct is 64 bytes. */
export const DATA = Object.freeze({
  nr: 0,
  arch: 4,
  instructionPointer: 8,
  argLow: (i: number): number => 16 + 8 * i,
  size: 64,
});

/**
 * `SECCOMP_RET_*` values.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { SECCOMP_RET } from "./mod.ts";
 *
 * assert(SECCOMP_RET.ALLOW === 0x7fff0000);
 * ```
 */
export const SECCOMP_RET: Readonly<{
  KILL_PROCESS: number;
  KILL_THREAD: number;
  TRAP: number;
  ERRNO: number;
  USER_NOTIF: number;
  TRACE: number;
  LOG: number;
  ALLOW: number;
}> = Object.freeze({
  KILL_PROCESS: 0x80000000,
  KILL_THREAD: 0x00000000,
  TRAP: 0x00030000,
  ERRNO: 0x00050000,
  USER_NOTIF: 0x7fc00000,
  TRACE: 0x7ff00000,
  LOG: 0x7ffc0000,
  ALLOW: 0x7fff0000,
});

/** One decoded `struct sock_filter`. */
export interface SockFilter {
  code: number;
  jt: number;
  jf: number;
  k: number;
}

const INSN_BYTES = 8;

/** Lays instructions out as `struct sock_filter` bytes (little-endian: u16 code, u8 jt, u8 jf, u32 k). */
export function encodeProgram(insns: readonly SockFilter[]): Uint8Array {
  const out = new Uint8Array(insns.length * INSN_BYTES);
  const view = new DataView(out.buffer);
  insns.forEach(({ code, jt, jf, k }, i) => {
    const at = i * INSN_BYTES;
    view.setUint16(at, code, true);
    view.setUint8(at + 2, jt);
    view.setUint8(at + 3, jf);
    view.setUint32(at + 4, k >>> 0, true);
  });
  return out;
}

/**
 * Splits raw bytes into instructions. Throws `RangeError` if the length is not a multiple of 8.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { decodeProgram } from "./mod.ts";
 *
 * const [insn] = decodeProgram(new Uint8Array([6, 0, 0, 0, 0, 0, 0xff, 0x7f]));
 * assert(insn!.code === 6 && insn!.k === 0x7fff0000);
 * ```
 */
export function decodeProgram(bytes: Uint8Array): SockFilter[] {
  if (bytes.length % INSN_BYTES !== 0) {
    throw new RangeError(
      `Invalid seccomp program: ${bytes.length} bytes is not a multiple of 8 (one sock_filter)`,
    );
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: SockFilter[] = [];
  for (let at = 0; at < bytes.length; at += INSN_BYTES) {
    out.push({
      code: view.getUint16(at, true),
      jt: view.getUint8(at + 2),
      jf: view.getUint8(at + 3),
      k: view.getUint32(at + 4, true),
    });
  }
  return out;
}
