/**
 * Generates `lib/syscalls.ts`, the x86_64 and aarch64 syscall tables, from the kernel UAPI headers
 * installed on this machine (Debian package `linux-libc-dev`).
 *
 * - x86_64: `asm/unistd_64.h`, a flat list of `#define __NR_name N`.
 * - aarch64: `asm-generic/unistd.h`, evaluated with a small preprocessor under the macros arm64
 *   defines (`__ARCH_WANT_RENAMEAT`, `__ARCH_WANT_NEW_STAT`, `__ARCH_WANT_SET_GET_RLIMIT`,
 *   `__ARCH_WANT_TIME32_SYSCALLS`, `__ARCH_WANT_SYS_CLONE3`, `__ARCH_WANT_MEMFD_SECRET`,
 *   `__BITS_PER_LONG` = 64). On 64-bit the `__NR3264_*` numbers take their 64-bit names
 *   (`__NR3264_fstatat` → `newfstatat`, `__NR3264_lseek` → `lseek`, …).
 *
 * Syscalls added after the installed headers (listed in {@link LATER_SYSCALLS}) are merged in, so
 * that `unrestricted` and explicit allow-lists know about them on newer kernels.
 *
 * Usage: `deno run --allow-read --allow-write scripts/gen_syscalls.ts` (writes `lib/syscalls.ts`);
 * add `--check` to only verify that the committed file is up to date.
 *
 * @module
 */

/** The command that regenerates `lib/syscalls.ts`; quoted in the generated header. */
export const GENERATE_COMMAND = "deno run --allow-read --allow-write scripts/gen_syscalls.ts";

/** Where the generator reads the headers by default. */
export const DEFAULT_HEADERS = {
  x86_64: "/usr/include/x86_64-linux-gnu/asm/unistd_64.h",
  asmGeneric: "/usr/include/asm-generic/unistd.h",
} as const;

/** Macros that arm64's `asm/unistd.h` defines before including `asm-generic/unistd.h`. */
export const ARM64_MACROS: Readonly<Record<string, number>> = Object.freeze({
  __BITS_PER_LONG: 64,
  __ARCH_WANT_RENAMEAT: 1,
  __ARCH_WANT_NEW_STAT: 1,
  __ARCH_WANT_SET_GET_RLIMIT: 1,
  __ARCH_WANT_TIME32_SYSCALLS: 1,
  __ARCH_WANT_SYS_CLONE3: 1,
  __ARCH_WANT_MEMFD_SECRET: 1,
});

/**
 * Syscalls newer than Linux 6.1 (the headers of Debian 12), with their numbers from the kernel's
 * `syscall_64.tbl` and `asm-generic/unistd.h` up to Linux 6.17. They are added only when the
 * headers lack them; a header that defines one with another number is an error.
 */
export const LATER_SYSCALLS: Readonly<
  Record<"common" | "x86_64", Readonly<Record<string, number>>>
> = Object.freeze({
  common: Object.freeze({
    cachestat: 451, // 6.5
    fchmodat2: 452, // 6.6
    map_shadow_stack: 453, // 6.6 (arm64: 6.13)
    futex_wake: 454, // 6.7
    futex_wait: 455,
    futex_requeue: 456,
    statmount: 457, // 6.8
    listmount: 458,
    lsm_get_self_attr: 459,
    lsm_set_self_attr: 460,
    lsm_list_modules: 461,
    mseal: 462, // 6.10
    setxattrat: 463, // 6.13
    getxattrat: 464,
    listxattrat: 465,
    removexattrat: 466,
    open_tree_attr: 467, // 6.15
    file_getattr: 468, // 6.17
    file_setattr: 469,
  }),
  x86_64: Object.freeze({
    uretprobe: 335, // 6.11
    uprobe: 336, // 6.16
  }),
});

/** A syscall table: name → number. */
export type SyscallTable = Record<string, number>;

/** Parses the flat x86_64 `unistd_64.h`. */
export function parseUnistd64(text: string): SyscallTable {
  const table: SyscallTable = {};
  for (const line of text.split("\n")) {
    const m = /^#define __NR_(\w+)\s+(\d+)\s*$/.exec(line);
    if (m) table[m[1]!] = Number(m[2]);
  }
  if (Object.keys(table).length < 300) {
    throw new Error(
      `Expected at least 300 syscalls in unistd_64.h, found ${Object.keys(table).length}`,
    );
  }
  return table;
}

type Token = { kind: "num"; value: number } | { kind: "id"; value: string } | {
  kind: "op";
  value: string;
};

function tokenize(expr: string): Token[] {
  const tokens: Token[] = [];
  const re = /\s*(?:(\d+)|([A-Za-z_]\w*)|(==|!=|&&|\|\||[()!<>]=?))/y;
  let pos = 0;
  while (pos < expr.length) {
    if (/^\s*$/.test(expr.slice(pos))) break;
    re.lastIndex = pos;
    const m = re.exec(expr);
    if (!m) {
      throw new Error(`Cannot parse preprocessor expression "${expr}" at "${expr.slice(pos)}"`);
    }
    if (m[1] !== undefined) tokens.push({ kind: "num", value: Number(m[1]) });
    else if (m[2] !== undefined) tokens.push({ kind: "id", value: m[2] });
    else tokens.push({ kind: "op", value: m[3]! });
    pos = re.lastIndex;
  }
  return tokens;
}

/** Evaluates a `#if` expression (defined(), !, ==, !=, <, >, &&, ||, parentheses, integers). */
export function evalCondition(expr: string, macros: ReadonlyMap<string, number>): boolean {
  const tokens = tokenize(expr);
  let i = 0;
  const peek = () => tokens[i];
  const take = (op: string) => {
    const t = tokens[i];
    if (t?.kind !== "op" || t.value !== op) {
      throw new Error(`Expected "${op}" in preprocessor expression "${expr}"`);
    }
    i++;
  };
  const primary = (): number => {
    const t = tokens[i++];
    if (!t) throw new Error(`Unexpected end of preprocessor expression "${expr}"`);
    if (t.kind === "num") return t.value;
    if (t.kind === "id") {
      if (t.value !== "defined") return macros.get(t.value) ?? 0;
      const paren = peek()?.kind === "op" && peek()?.value === "(";
      if (paren) i++;
      const name = tokens[i++];
      if (name?.kind !== "id") throw new Error(`Expected a macro name after defined in "${expr}"`);
      if (paren) take(")");
      return macros.has(name.value) ? 1 : 0;
    }
    if (t.value === "!") return primary() ? 0 : 1;
    if (t.value === "(") {
      const v = or();
      take(")");
      return v;
    }
    throw new Error(`Unexpected "${t.value}" in preprocessor expression "${expr}"`);
  };
  const comparison = (): number => {
    let v = primary();
    for (;;) {
      const t = peek();
      if (t?.kind !== "op" || !["==", "!=", "<", ">", "<=", ">="].includes(t.value)) return v;
      i++;
      const r = primary();
      v = Number(
        t.value === "=="
          ? v === r
          : t.value === "!="
          ? v !== r
          : t.value === "<"
          ? v < r
          : t.value === ">"
          ? v > r
          : t.value === "<="
          ? v <= r
          : v >= r,
      );
    }
  };
  const and = (): number => {
    let v = comparison();
    while (peek()?.kind === "op" && peek()?.value === "&&") {
      i++;
      const r = comparison();
      v = Number(v !== 0 && r !== 0);
    }
    return v;
  };
  const or = (): number => {
    let v = and();
    while (peek()?.kind === "op" && peek()?.value === "||") {
      i++;
      const r = and();
      v = Number(v !== 0 || r !== 0);
    }
    return v;
  };
  const result = or();
  if (i !== tokens.length) throw new Error(`Trailing tokens in preprocessor expression "${expr}"`);
  return result !== 0;
}

/**
 * Evaluates `asm-generic/unistd.h` for a 64-bit architecture that defines `macros`, and returns
 * the 64-bit syscall names with their numbers.
 */
export function parseAsmGeneric(
  text: string,
  macros: Readonly<Record<string, number>> = ARM64_MACROS,
): SyscallTable {
  const defined = new Map<string, number>(Object.entries(macros));
  const numbers = new Map<string, number>(); // every __NR_* and __NR3264_* macro
  const aliases = new Map<string, string>(); // __NR_x → __NR3264_x
  // Each entry: is this branch active, has an earlier branch of the same #if been taken?
  const stack: { active: boolean; taken: boolean }[] = [];
  const active = () => stack.every((s) => s.active);
  // Drop comments (keeping line breaks) and join continuation lines.
  const lines = text
    .replace(/\/\*[\s\S]*?\*\//g, (c) => c.replace(/[^\n]/g, ""))
    .replace(/\\\n/g, " ")
    .split("\n");
  for (const raw of lines) {
    const line = raw.trim();
    const d = /^#\s*(\w+)\s*(.*)$/.exec(line);
    if (!d) continue;
    const [, directive, rest = ""] = d;
    switch (directive) {
      case "if": {
        const v = active() && evalCondition(rest, defined);
        stack.push({ active: v, taken: v });
        break;
      }
      case "ifdef":
      case "ifndef": {
        const v = defined.has(rest.trim()) === (directive === "ifdef");
        stack.push({ active: v, taken: v });
        break;
      }
      case "elif": {
        const top = stack.at(-1);
        if (!top) throw new Error(`#elif without #if in asm-generic/unistd.h`);
        const v = !top.taken && evalCondition(rest, defined);
        top.active = v;
        top.taken ||= v;
        break;
      }
      case "else": {
        const top = stack.at(-1);
        if (!top) throw new Error(`#else without #if in asm-generic/unistd.h`);
        top.active = !top.taken;
        top.taken = true;
        break;
      }
      case "endif":
        if (!stack.pop()) throw new Error(`#endif without #if in asm-generic/unistd.h`);
        break;
      case "define": {
        if (!active()) break;
        const m = /^(\w+)(\([^)]*\))?\s*(.*)$/.exec(rest);
        if (!m) throw new Error(`Cannot parse "#define ${rest}"`);
        const [, name = "", params, body = ""] = m;
        const value = body.trim();
        if (params === undefined && /^\d+$/.test(value)) {
          defined.set(name, Number(value));
          if (name.startsWith("__NR")) numbers.set(name, Number(value));
        } else {
          defined.set(name, 1);
          if (name.startsWith("__NR_") && /^__NR3264_\w+$/.test(value)) aliases.set(name, value);
        }
        break;
      }
      case "undef":
        if (!active()) break;
        defined.delete(rest.trim());
        numbers.delete(rest.trim());
        aliases.delete(rest.trim());
        break;
      case "include":
        break;
      default:
        throw new Error(`Unsupported directive "#${directive}" in asm-generic/unistd.h`);
    }
  }
  if (stack.length) throw new Error(`Unterminated #if in asm-generic/unistd.h`);

  const table: SyscallTable = {};
  for (const [macro, nr] of numbers) {
    if (!macro.startsWith("__NR_")) continue;
    const name = macro.slice("__NR_".length);
    // Not syscalls: the table size and the start of the per-arch private range.
    if (name === "syscalls" || name === "arch_specific_syscall") continue;
    table[name] = nr;
  }
  for (const [macro, target] of aliases) {
    const nr = numbers.get(target);
    if (nr === undefined) throw new Error(`${macro} refers to undefined ${target}`);
    table[macro.slice("__NR_".length)] = nr;
  }
  return table;
}

/** Adds {@link LATER_SYSCALLS} that `table` lacks; throws if the headers disagree with them. */
export function addLaterSyscalls(
  table: SyscallTable,
  extra: Readonly<Record<string, number>>,
  label: string,
): SyscallTable {
  const out = { ...table };
  const byNumber = new Map(Object.entries(table).map(([n, nr]) => [nr, n]));
  for (const [name, nr] of Object.entries(extra)) {
    const known = out[name];
    if (known !== undefined) {
      if (known !== nr) {
        throw new Error(
          `The ${label} headers number "${name}" ${known}, LATER_SYSCALLS says ${nr}`,
        );
      }
      continue;
    }
    const other = byNumber.get(nr);
    if (other !== undefined) {
      throw new Error(
        `LATER_SYSCALLS gives "${name}" number ${nr}, which the ${label} headers use for "${other}"`,
      );
    }
    out[name] = nr;
  }
  return out;
}

/** Checks that no two names share a number. */
function assertUnique(table: SyscallTable, label: string): void {
  const seen = new Map<number, string>();
  for (const [name, nr] of Object.entries(table)) {
    const other = seen.get(nr);
    if (other !== undefined) {
      throw new Error(`${label}: "${name}" and "${other}" both have number ${nr}`);
    }
    seen.set(nr, name);
  }
}

function sortedEntries(table: SyscallTable): [string, number][] {
  return Object.entries(table).sort((a, b) => a[1] - b[1] || (a[0] < b[0] ? -1 : 1));
}

function renderTable(name: string, table: SyscallTable): string {
  const rows = sortedEntries(table).map(([n, nr]) => `  ${n}: ${nr},`).join("\n");
  return `export const ${name}: Readonly<Record<string, number>> = Object.freeze({\n${rows}\n});\n`;
}

/**
 * Renders the text of `lib/_syscall_tables.ts` (already in `deno fmt` style): the two tables and
 * nothing else. The types and lookups over them live, written once, in `lib/syscalls.ts`.
 */
export function renderSyscallsModule(
  tables: { x86_64: SyscallTable; aarch64: SyscallTable },
): string {
  const x = Object.keys(tables.x86_64).length;
  const a = Object.keys(tables.aarch64).length;
  return `// GENERATED FILE — do not edit. Regenerate with:
//   ${GENERATE_COMMAND}
// Sources: asm/unistd_64.h (x86_64) and asm-generic/unistd.h evaluated for arm64 (aarch64) from
// the installed kernel headers, plus the syscalls added in Linux 6.2–6.17 (LATER_SYSCALLS in
// scripts/gen_syscalls.ts). x86_64: ${x} syscalls, aarch64: ${a} syscalls.
// Read through lib/syscalls.ts.

/** x86_64 syscall name → number, sorted by number. */
${renderTable("X86_64", tables.x86_64)}
/** aarch64 syscall name → number, sorted by number. */
${renderTable("AARCH64", tables.aarch64)}`;
}

/** Reads a file as text; injected so that tests can use their own reader. */
export type ReadText = (path: string) => string;

/** Builds both tables from the headers and renders the module text. */
export function generate(
  readText: ReadText,
  headers: { x86_64: string; asmGeneric: string } = DEFAULT_HEADERS,
): { x86_64: SyscallTable; aarch64: SyscallTable; source: string } {
  const x86_64 = addLaterSyscalls(
    addLaterSyscalls(parseUnistd64(readText(headers.x86_64)), LATER_SYSCALLS.common, "x86_64"),
    LATER_SYSCALLS.x86_64,
    "x86_64",
  );
  const aarch64 = addLaterSyscalls(
    parseAsmGeneric(readText(headers.asmGeneric)),
    LATER_SYSCALLS.common,
    "aarch64",
  );
  assertUnique(x86_64, "x86_64");
  assertUnique(aarch64, "aarch64");
  return { x86_64, aarch64, source: renderSyscallsModule({ x86_64, aarch64 }) };
}

/** Where the generated module lives, relative to this script. */
export const OUTPUT_URL = new URL("../lib/_syscall_tables.ts", import.meta.url);

if (import.meta.main) {
  const { source, x86_64, aarch64 } = generate((p) => Deno.readTextFileSync(p));
  if (Deno.args.includes("--check")) {
    const current = Deno.readTextFileSync(OUTPUT_URL);
    if (current !== source) {
      console.error(`lib/_syscall_tables.ts is out of date; run: ${GENERATE_COMMAND}`);
      Deno.exit(1);
    }
    console.log("lib/_syscall_tables.ts is up to date");
  } else {
    Deno.writeTextFileSync(OUTPUT_URL, source);
    console.log(
      `Wrote lib/_syscall_tables.ts: ${Object.keys(x86_64).length} x86_64 and ${
        Object.keys(aarch64).length
      } aarch64 syscalls`,
    );
  }
}
