/**
 * A classic-BPF assembler with symbolic forward labels, for {@link compileSeccomp}: conditional
 * jumps have 8-bit offsets, so far targets get trampolines.
 *
 * @module
 */

import { BPF, BPF_MAXINSNS, encodeProgram, type SockFilter } from "./bpf.ts";

/** A jump target, bound to one instruction (and later to its trampolines). */
export type Label = { readonly id: number };

/** An instruction before its labels are resolved. */
export type Insn =
  | { readonly kind: "stmt"; readonly code: number; readonly k: number }
  | { readonly kind: "jump"; readonly code: number; readonly k: number; jt: Label; jf: Label }
  | { readonly kind: "ja"; readonly target: Label };

/**
 * Assembles instructions with symbolic forward labels. A label's first instance is the instruction
 * it was bound to; when a conditional jump would need an offset above 255, a copy of the target
 * (for a `ret`) or a `ja` trampoline (for anything else) is inserted right after the jump, and
 * later jumps reuse the nearest instance in range.
 */
export class Assembler {
  readonly insns: Insn[] = [];
  readonly #instances = new Map<number, Insn[]>();
  #nextLabel = 0;
  #pending: Label[] = [];

  label(): Label {
    return { id: this.#nextLabel++ };
  }

  /** Binds `label` to the next emitted instruction. */
  bind(label: Label): void {
    this.#pending.push(label);
  }

  emit<T extends Insn>(insn: T): T {
    for (const label of this.#pending) {
      if (this.#instances.has(label.id)) throw new Error(`Label ${label.id} bound twice`);
      this.#instances.set(label.id, [insn]);
    }
    this.#pending = [];
    this.insns.push(insn);
    return insn;
  }

  #positions(): Map<Insn, number> {
    return new Map(this.insns.map((insn, i) => [insn, i]));
  }

  /** The nearest instance of `label` after index `from`, as an offset relative to `from + 1`. */
  #offset(label: Label, from: number, pos: Map<Insn, number>): number {
    const instances = this.#instances.get(label.id);
    if (!instances) throw new Error(`Label ${label.id} never bound`);
    let best = Infinity;
    for (const insn of instances) {
      const p = pos.get(insn)!;
      if (p > from && p - from - 1 < best) best = p - from - 1;
    }
    if (best === Infinity) throw new Error(`Label ${label.id} is not after instruction ${from}`);
    return best;
  }

  #trampoline(label: Label): Insn {
    const canonical = this.#instances.get(label.id)![0]!;
    const copy: Insn = canonical.kind === "stmt" && canonical.code === (BPF.RET | BPF.K)
      ? { kind: "stmt", code: canonical.code, k: canonical.k }
      : { kind: "ja", target: label };
    this.#instances.get(label.id)!.push(copy);
    return copy;
  }

  /** Resolves labels, inserting trampolines until every conditional jump fits in 8 bits. */
  assemble(): Uint8Array {
    if (this.#pending.length) throw new Error("Label bound past the last instruction");
    for (;;) {
      const pos = this.#positions();
      let fixed = false;
      for (let i = 0; i < this.insns.length && !fixed; i++) {
        const insn = this.insns[i]!;
        if (insn.kind !== "jump") continue;
        for (const branch of ["jt", "jf"] as const) {
          if (this.#offset(insn[branch], i, pos) > 255) {
            this.insns.splice(i + 1, 0, this.#trampoline(insn[branch]));
            fixed = true;
            break;
          }
        }
      }
      if (!fixed) break;
    }
    if (this.insns.length > BPF_MAXINSNS) {
      throw new RangeError(
        `Seccomp program too long: ${this.insns.length} instructions, the kernel accepts at most ${BPF_MAXINSNS}`,
      );
    }
    const pos = this.#positions();
    return encodeProgram(this.insns.map((insn, i): SockFilter => {
      switch (insn.kind) {
        case "stmt":
          return { code: insn.code, jt: 0, jf: 0, k: insn.k };
        case "ja":
          return { code: BPF.JMP | BPF.JA, jt: 0, jf: 0, k: this.#offset(insn.target, i, pos) };
        case "jump":
          return {
            code: insn.code,
            jt: this.#offset(insn.jt, i, pos),
            jf: this.#offset(insn.jf, i, pos),
            k: insn.k,
          };
      }
    }));
  }
}
