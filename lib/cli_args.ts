/**
 * The CLI's own parsing, kept out of the library: a small, strict command-line parser (options
 * before the program, `--` always ends options, the first non-option starts the program, so a
 * program named `--bind` needs `--` and a program's own flags are never read as ours), and the
 * filesystem flags turned into config fields. Pure.
 *
 * @module
 */

import type { IdmapMode, LandlockMode, MountConfig, SandboxConfig } from "./types.ts";

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
  /** Values by long name, in order. */
  options: Map<string, string[]>;
  positionals: string[];
  /** How the user spelled each option, by long name (`-m` or `--memory`), for error messages. */
  spelled: Map<string, string>;
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
  const spelled = new Map<string, string>();
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
    if (!spelled.has(name)) spelled.set(name, arg.startsWith("--") ? `--${name}` : arg.slice(0, 2));
  }
  return { options, positionals, spelled };
}

/**
 * Splits a CLI value on ":" (`\:` is a literal colon, `\\` a backslash), into at most `max`
 * parts.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { splitColons } from "./cli_args.ts";
 * assert(splitColons("/a\\:b:/c", 2).join("|") === "/a:b|/c");
 * ```
 */
export function splitColons(value: string, max: number): string[] {
  const parts: string[] = [];
  let cur = "";
  for (let i = 0; i < value.length; i++) {
    const ch = value[i]!;
    if (ch === "\\" && i + 1 < value.length) cur += value[++i]!;
    else if (ch === ":" && parts.length + 1 < max) {
      parts.push(cur);
      cur = "";
    } else cur += ch;
  }
  parts.push(cur);
  return parts;
}

/** The CLI's filesystem flags, by name, as the CLI parser collected them. */
export type FilesystemFlags = ReadonlyMap<string, readonly string[]>;

/**
 * The filesystem part of a config from CLI flags: `--bind SRC[:DST]`, `--ro-bind SRC[:DST]`,
 * `--tmpfs DST[:SIZE]`, `--overlay SRC[:DST[:UPPER]]`, `--dir DST[:MODE]`,
 * `--symlink CONTENTS:DST`, `--rootfs DIR`, `--rootfs-writable`, `--no-namespaces`,
 * `--landlock MODE`, `--idmap MODE`. Mounts are appended to `base` (a config file's).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { filesystemFromFlags } from "./cli_args.ts";
 * const c = filesystemFromFlags(new Map([["ro-bind", ["/srv:/data"]], ["tmpfs", ["/scratch:1M"]]]));
 * assert(c.mounts?.length === 2 && c.mounts[0]!.type === "bind");
 * ```
 */
export function filesystemFromFlags(
  flags: FilesystemFlags,
  base: Pick<SandboxConfig, "mounts"> = {},
): Pick<SandboxConfig, "mounts" | "rootfs" | "namespaces" | "landlock" | "idmap"> {
  const mounts: MountConfig[] = [...(base.mounts ?? [])];
  const get = (name: string) => flags.get(name) ?? [];
  for (const [flag, readOnly] of [["bind", false], ["ro-bind", true]] as const) {
    for (const v of get(flag)) {
      const [source, target] = splitColons(v, 2);
      mounts.push({ type: "bind", source: source!, target: target || source!, readOnly });
    }
  }
  for (const v of get("tmpfs")) {
    const [target, size] = splitColons(v, 2);
    mounts.push(
      size ? { type: "tmpfs", target: target!, size } : { type: "tmpfs", target: target! },
    );
  }
  for (const v of get("overlay")) {
    const [source, target, upper] = splitColons(v, 3);
    mounts.push({
      type: "overlay",
      source: source!,
      target: target || source!,
      ...(upper ? { upper } : {}),
    });
  }
  for (const v of get("dir")) {
    const [target, m] = splitColons(v, 2);
    if (m !== undefined && !/^[0-7]{1,4}$/.test(m)) {
      throw new RangeError(`Invalid --dir mode "${m}": expected octal digits like 755`);
    }
    mounts.push(
      m === undefined ? { type: "dir", target: target! } : {
        type: "dir",
        target: target!,
        mode: parseInt(m, 8),
      },
    );
  }
  for (const v of get("symlink")) {
    const [source, target] = splitColons(v, 2);
    if (target === undefined) {
      throw new RangeError(`Invalid --symlink "${v}": expected CONTENTS:DST`);
    }
    mounts.push({ type: "symlink", source: source!, target });
  }
  const out: Pick<SandboxConfig, "mounts" | "rootfs" | "namespaces" | "landlock" | "idmap"> = {};
  if (mounts.length) out.mounts = mounts;
  const rootfs = flags.get("rootfs")?.[0];
  if (rootfs !== undefined) {
    out.rootfs = { path: rootfs, writable: flags.has("rootfs-writable") };
  } else if (flags.has("rootfs-writable")) {
    throw new RangeError(`Option "--rootfs-writable" needs --rootfs DIR`);
  }
  if (flags.has("no-namespaces")) out.namespaces = false;
  const landlock = flags.get("landlock")?.[0];
  if (landlock !== undefined) out.landlock = landlock as LandlockMode;
  const idmap = flags.get("idmap")?.[0];
  if (idmap !== undefined) out.idmap = idmap as IdmapMode;
  return out;
}
