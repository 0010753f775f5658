/**
 * Syscall number tables for x86_64 and aarch64 (generated from kernel headers into
 * `_syscall_tables.ts` by `scripts/gen_syscalls.ts`), and lookups in both directions.
 *
 * @example Look up a syscall
 * ```ts
 * import assert from "node:assert/strict";
 * import { syscallName, syscallNumber } from "./syscalls.ts";
 *
 * assert(syscallNumber("x86_64", "execve") === 59);
 * assert(syscallNumber("aarch64", "open") === undefined); // arm64 has only openat
 * assert(syscallName("aarch64", 79) === "newfstatat");
 * ```
 *
 * @module
 */

import { AARCH64, X86_64 } from "./_syscall_tables.ts";

/** A CPU architecture the sandbox supports. */
export type Arch = "x86_64" | "aarch64";

/** The supported architectures. */
export const ARCHES: readonly Arch[] = Object.freeze(["x86_64", "aarch64"] as const);

/** `AUDIT_ARCH_*` values, as seen in `seccomp_data.arch`. */
export const AUDIT_ARCH: Readonly<Record<Arch | "i386", number>> = Object.freeze({
  x86_64: 0xC000003E,
  aarch64: 0xC00000B7,
  i386: 0x40000003,
});

/** `__X32_SYSCALL_BIT`: x32 syscalls on x86_64 carry it in `seccomp_data.nr`. */
export const X32_SYSCALL_BIT = 0x40000000;

/** Syscall name → number, per architecture (sorted by number, frozen). */
export const SYSCALLS: Readonly<Record<Arch, Readonly<Record<string, number>>>> = Object.freeze({
  x86_64: X86_64,
  aarch64: AARCH64,
});

const NAMES: Readonly<Record<Arch, ReadonlyMap<number, string>>> = Object.freeze({
  x86_64: new Map(Object.entries(X86_64).map(([name, nr]) => [nr, name])),
  aarch64: new Map(Object.entries(AARCH64).map(([name, nr]) => [nr, name])),
});

/**
 * The number of syscall `name` on `arch`, or `undefined` when `arch` has no such syscall.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { syscallNumber } from "./syscalls.ts";
 *
 * assert(syscallNumber("aarch64", "clone3") === 435);
 * ```
 */
export function syscallNumber(arch: Arch, name: string): number | undefined {
  const table = SYSCALLS[arch];
  return Object.hasOwn(table, name) ? table[name] : undefined;
}

/**
 * The name of syscall number `nr` on `arch`, or `undefined` when it is not in the table.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { syscallName } from "./syscalls.ts";
 *
 * assert(syscallName("x86_64", 0) === "read");
 * ```
 */
export function syscallName(arch: Arch, nr: number): string | undefined {
  return NAMES[arch].get(nr);
}

/**
 * Every syscall name of `arch`, sorted by number.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { syscallNames } from "./syscalls.ts";
 *
 * assert(syscallNames("x86_64")[0] === "read");
 * ```
 */
export function syscallNames(arch: Arch): string[] {
  return Object.keys(SYSCALLS[arch]);
}
