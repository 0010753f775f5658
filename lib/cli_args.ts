/**
 * A small, strict command-line parser: options before the program, `--` always ends options,
 * the first non-option starts the program (so a program named `--bind` needs `--`, and a
 * program's own flags are never read as ours). Pure.
 *
 * @module
 */

/** How an option is parsed. */
export interface OptionSpec {
  /** Takes a value (`--x V` or `--x=V`). */
  value?: boolean;
  /** May be repeated (values collected in order). */
  multiple?: boolean;
  /** A one-letter alias, e.g. `t` for `-t`. */
  short?: string;
}

/** Parsed options and positionals. */
export interface ParsedArgs {
  options: Map<string, string[]>;
  positionals: string[];
}

/** A usage error: the CLI prints it and exits 2. */
export class UsageError extends Error {
  override name = "UsageError";
}

/**
 * Parses `argv` against `specs`; stops at `--` or (when `stopAtPositional`) at the first
 * positional.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseArgs } from "./cli_args.ts";
 * const spec = { timeout: { value: true, short: "t" } };
 * const p = parseArgs(["-t", "2s", "--", "ls", "-l"], spec, { stopAtPositional: true });
 * assert(p.options.get("timeout")?.[0] === "2s" && p.positionals.join(" ") === "ls -l");
 * ```
 */
export function parseArgs(
  argv: readonly string[],
  specs: Record<string, OptionSpec>,
  how: { stopAtPositional: boolean },
): ParsedArgs {
  const { stopAtPositional } = how;
  const options = new Map<string, string[]>();
  const positionals: string[] = [];
  const shorts = new Map(
    Object.entries(specs).flatMap(([k, s]) => s.short ? [[s.short, k] as const] : []),
  );
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === "--") {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (!arg.startsWith("-") || arg === "-") {
      if (stopAtPositional) {
        positionals.push(...argv.slice(i));
        break;
      }
      positionals.push(arg);
      continue;
    }
    let name: string;
    let inline: string | undefined;
    if (arg.startsWith("--")) {
      const eq = arg.indexOf("=");
      name = eq < 0 ? arg.slice(2) : arg.slice(2, eq);
      if (eq >= 0) inline = arg.slice(eq + 1);
    } else {
      const long = shorts.get(arg.slice(1, 2));
      if (!long) throw new UsageError(`Unknown option "${arg}"`);
      name = long;
      if (arg.length > 2) inline = arg.slice(2);
    }
    const spec = specs[name];
    if (!spec) throw new UsageError(`Unknown option "--${name}"`);
    let value = "";
    if (spec.value) {
      if (inline !== undefined) value = inline;
      else if (i + 1 < argv.length) value = argv[++i]!;
      else throw new UsageError(`Option "--${name}" needs a value`);
    } else if (inline !== undefined) {
      throw new UsageError(`Option "--${name}" takes no value`);
    }
    const prev = options.get(name);
    if (prev && !spec.multiple) throw new UsageError(`Option "--${name}" given more than once`);
    options.set(name, [...(prev ?? []), value]);
  }
  return { options, positionals };
}
