/**
 * The `run` command's flags turned into a {@linkcode SandboxConfig}: the flag table, the seed's
 * presets, and error messages that name the flag the user typed (`--bind source`, not
 * `mounts[0].source`). Pure.
 *
 * @module
 */

import { filesystemFromFlags, type OptionSpec, type ParsedArgs, UsageError } from "./cli_args.ts";
import { PROFILE_NAMES } from "./seccomp/mod.ts";
import type { SandboxConfig } from "./types.ts";

/** The seed's security presets (sandbox-ctl profiles.rs). */
export const PRESETS: Record<
  string,
  { memory: string; cpu: number; timeout: string; seccomp: string }
> = {
  strict: { memory: "128M", cpu: 50, timeout: "30s", seccomp: "minimal" },
  moderate: { memory: "512M", cpu: 75, timeout: "300s", seccomp: "io-heavy" },
  permissive: { memory: "2G", cpu: 90, timeout: "3600s", seccomp: "unrestricted" },
};

/** The flags of `run` (and of the direct mode, `sandbox [FLAGS] PROGRAM [ARGS]`). */
export const RUN_SPECS: Record<string, OptionSpec> = {
  profile: { value: true, short: "P" },
  timeout: { value: true, short: "t" },
  memory: { value: true, short: "m" },
  cpu: { value: true, short: "c" },
  pids: { value: true },
  "cpu-time": { value: true },
  "open-files": { value: true },
  "file-size": { value: true },
  "max-output": { value: true },
  limits: { value: true },
  env: { value: true, multiple: true },
  cwd: { value: true },
  net: { value: true },
  "allow-net": { value: true, multiple: true },
  "deny-net": { value: true, multiple: true },
  "max-net-bytes": { value: true },
  hostname: { value: true },
  user: { value: true },
  mode: { value: true },
  "tmp-size": { value: true },
  bind: { value: true, multiple: true },
  "ro-bind": { value: true, multiple: true },
  tmpfs: { value: true, multiple: true },
  overlay: { value: true, multiple: true },
  dir: { value: true, multiple: true },
  symlink: { value: true, multiple: true },
  rootfs: { value: true },
  root: { value: true, short: "r" },
  verbose: { short: "v" },
  "rootfs-writable": {},
  "no-namespaces": {},
  landlock: { value: true },
  idmap: { value: true },
  "host-ids": { value: true },
  budget: { value: true, multiple: true },
  seccomp: { value: true, short: "s" },
  "seccomp-allow": { value: true, multiple: true },
  "seccomp-deny": { value: true, multiple: true },
  "seccomp-action": { value: true },
  id: { value: true, short: "i" },
  config: { value: true },
  json: {},
  "result-file": { value: true },
  quiet: { short: "q" },
  stdin: { value: true },
  tty: {},
  launcher: { value: true },
  help: { short: "h" },
};

/** The config field each flag sets (the field's name in a validation error). */
const FIELD_FLAGS: [field: string, flag: string][] = [
  ["timeout", "timeout"],
  ["cpuTime", "cpu-time"],
  ["memory", "memory"],
  ["cpuPercent", "cpu"],
  ["maxPids", "pids"],
  ["openFiles", "open-files"],
  ["fileSize", "file-size"],
  ["maxOutput", "max-output"],
  ["limits", "limits"],
  ["cwd", "cwd"],
  ["network", "net"],
  ["network.allow", "allow-net"],
  ["network.deny", "deny-net"],
  ["network.maxBytes", "max-net-bytes"],
  ["hostname", "hostname"],
  ["user", "user"],
  ["privilegeMode", "mode"],
  ["tmpSize", "tmp-size"],
  ["id", "id"],
  ["seccomp.profile", "seccomp"],
  ["seccomp.allow", "seccomp-allow"],
  ["seccomp.deny", "seccomp-deny"],
  ["seccomp.action", "seccomp-action"],
  ["landlock", "landlock"],
  ["idmap", "idmap"],
  ["rootfs", "rootfs"],
  ["env", "env"],
];

/** The mount flags, in the order `filesystemFromFlags` appends their mounts. */
const MOUNT_FLAGS = ["bind", "ro-bind", "tmpfs", "overlay", "dir", "symlink"];

function one(p: ParsedArgs, name: string): string | undefined {
  return p.options.get(name)?.[0];
}

function loadConfigFile(path: string): SandboxConfig {
  let text: string;
  try {
    text = Deno.readTextFileSync(path);
  } catch (e) {
    throw new UsageError(`Cannot read --config "${path}": ${(e as Error).message}`);
  }
  try {
    return JSON.parse(text) as SandboxConfig;
  } catch (e) {
    throw new UsageError(`Invalid JSON in --config "${path}": ${(e as Error).message}`);
  }
}

/** A CLI duration: a bare number is seconds (the seed's -t SECONDS), else "500ms", "2s"... */
function cliDuration(v: string): string {
  return /^\d+(\.\d+)?$/.test(v) ? `${v}s` : v;
}

/** A hint when a preset and a seccomp profile are mixed up, else "". */
function mixUpHint(value: string, flag: "profile" | "seccomp"): string {
  if (flag === "profile" && (PROFILE_NAMES as readonly string[]).includes(value)) {
    return `; "${value}" is a seccomp profile, which -s/--seccomp takes (-P/--profile takes a preset)`;
  }
  if (flag === "seccomp" && value in PRESETS) {
    return `; "${value}" is a preset, which -P/--profile takes (-s/--seccomp takes a seccomp profile)`;
  }
  return "";
}

/**
 * `--allow-net HOST[:PORT]` and `--deny-net` (repeatable, or comma-separated) and
 * `--max-net-bytes SIZE`: an egress allow-list on top of the config file's, if any. Refused
 * next to `--net host` (everything would be reachable anyway).
 */
function egressFromFlags(p: ParsedArgs, c: SandboxConfig, flag: (name: string) => string): void {
  const list = (name: string) =>
    p.options.get(name)?.flatMap((v) => v.split(",")).map((v) => v.trim()).filter(Boolean);
  const allow = list("allow-net");
  const deny = list("deny-net");
  const maxBytes = one(p, "max-net-bytes");
  if (!allow && !deny && maxBytes === undefined) return;
  const typed = ["allow-net", "deny-net", "max-net-bytes"].find((n) => p.options.has(n))!;
  if (c.network === "host") {
    throw new UsageError(
      `Conflicting ${flag(typed)} and ${
        p.spelled.get("net") ?? 'network "host"'
      }: the host network reaches everything; drop one of them`,
    );
  }
  const base = typeof c.network === "object" && c.network !== null ? c.network : { allow: [] };
  c.network = {
    ...base,
    allow: [...(base.allow ?? []), ...(allow ?? [])],
    ...(deny ? { deny: [...(base.deny ?? []), ...deny] } : {}),
    ...(maxBytes !== undefined ? { maxBytes } : {}),
  };
}

/**
 * The config from `run`'s flags: `--config FILE` first, then a `-P` preset, then each flag.
 * Throws a {@linkcode UsageError} naming the flag for what the CLI itself parses; the config's
 * own validation happens later (see {@linkcode nameFlags}).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseArgs } from "./cli_args.ts";
 * import { buildConfig, RUN_SPECS } from "./cli_config.ts";
 * const p = parseArgs(["-P", "strict", "-t", "2", "ls"], RUN_SPECS, { stopAtPositional: true });
 * const c = buildConfig(p);
 * assert.deepEqual([c.memory, c.timeout, c.seccomp], ["128M", "2s", "minimal"]);
 * ```
 */
export function buildConfig(p: ParsedArgs): SandboxConfig {
  const flag = (name: string) => p.spelled.get(name) ?? `--${name}`;
  const cliInt = (v: string, name: string): number => {
    if (!/^\d+$/.test(v)) {
      throw new UsageError(`Invalid ${flag(name)} "${v}": expected a whole number`);
    }
    return Number(v);
  };
  const cliNumber = (v: string, name: string): number => {
    if (!/^\d+(\.\d+)?$/.test(v)) {
      throw new UsageError(`Invalid ${flag(name)} "${v}": expected a number`);
    }
    return Number(v);
  };
  const path = one(p, "config");
  const c: SandboxConfig = path ? loadConfigFile(path) : {};
  const preset = one(p, "profile");
  if (preset !== undefined) {
    const v = PRESETS[preset];
    if (!v) {
      throw new UsageError(
        `Invalid ${flag("profile")} "${preset}": expected one of ${
          Object.keys(PRESETS).join(", ")
        }${mixUpHint(preset, "profile")}`,
      );
    }
    Object.assign(c, {
      memory: v.memory,
      cpuPercent: v.cpu,
      timeout: v.timeout,
      seccomp: v.seccomp,
    });
  }
  const set = <K extends keyof SandboxConfig>(key: K, name: string) => {
    const v = one(p, name);
    if (v !== undefined) c[key] = v as SandboxConfig[K];
  };
  const setWith = <K extends keyof SandboxConfig>(
    key: K,
    name: string,
    conv: (v: string, name: string) => SandboxConfig[K],
  ) => {
    const v = one(p, name);
    if (v !== undefined) c[key] = conv(v, name);
  };
  setWith("timeout", "timeout", cliDuration);
  setWith("cpuTime", "cpu-time", cliDuration);
  set("memory", "memory");
  setWith("cpuPercent", "cpu", cliNumber);
  setWith("maxPids", "pids", cliInt);
  setWith("openFiles", "open-files", cliInt);
  set("fileSize", "file-size");
  set("maxOutput", "max-output");
  set("limits", "limits");
  if (preset !== undefined && one(p, "cpu") === undefined && c.cpuQuota !== undefined) {
    delete c.cpuPercent; // a config file's cpuQuota wins over the preset's percent
  }
  set("cwd", "cwd");
  set("network", "net");
  egressFromFlags(p, c, flag);
  set("hostname", "hostname");
  set("user", "user");
  set("privilegeMode", "mode");
  set("tmpSize", "tmp-size");
  set("id", "id");
  const list = (name: string) =>
    p.options.get(name)?.flatMap((v) => v.split(",")).map((v) => v.trim()).filter(Boolean);
  const sc = ["seccomp", "seccomp-allow", "seccomp-deny", "seccomp-action"];
  if (sc.some((f) => p.options.has(f))) {
    const base = typeof c.seccomp === "string" ? { profile: c.seccomp } : { ...c.seccomp };
    const profile = one(p, "seccomp");
    if (profile !== undefined) {
      const hint = mixUpHint(profile, "seccomp");
      if (hint) {
        throw new UsageError(
          `Invalid ${flag("seccomp")} "${profile}": expected one of ${
            PROFILE_NAMES.join(", ")
          }, none${hint}`,
        );
      }
      base.profile = profile;
    }
    const allow = list("seccomp-allow");
    if (allow) base.allow = allow;
    const deny = list("seccomp-deny");
    if (deny) base.deny = deny;
    const action = one(p, "seccomp-action");
    if (action !== undefined) base.action = action as "kill" | "errno";
    c.seccomp = base;
  }
  const root = p.options.get("root");
  if (root) {
    // -r/--root is the seed's name for the sandbox's root directory: --rootfs.
    if (p.options.has("rootfs")) throw new UsageError(`Options "--root" and "--rootfs" conflict`);
    p.options.set("rootfs", root);
    p.spelled.set("rootfs", flag("root"));
  }
  try {
    Object.assign(c, filesystemFromFlags(p.options, c));
  } catch (e) {
    if (e instanceof RangeError) throw new UsageError(e.message);
    throw e;
  }
  const hostIds = one(p, "host-ids");
  if (hostIds !== undefined) {
    const m = /^(\d+):(\d+)(?::(\d+))?$/.exec(hostIds);
    if (!m) {
      throw new UsageError(`Invalid --host-ids "${hostIds}": expected START:COUNT[:GID_START]`);
    }
    c.hostIds = {
      start: Number(m[1]),
      count: Number(m[2]),
      ...(m[3] ? { gidStart: Number(m[3]) } : {}),
    };
  }
  const budgets = p.options.get("budget");
  if (budgets) {
    const b: Record<string, number | string> = { ...c.budgets };
    for (const kv of budgets) {
      const m = /^(\w+)=(.+)$/.exec(kv);
      if (!m) throw new UsageError(`Invalid --budget "${kv}": expected NAME=VALUE`);
      b[m[1]!] = m[1] === "mqueueBytes" ? m[2]! : cliInt(m[2]!, "budget");
    }
    c.budgets = b;
  }
  const env = p.options.get("env");
  if (env) {
    c.env = { ...c.env };
    for (const kv of env) {
      const eq = kv.indexOf("=");
      if (eq <= 0) throw new UsageError(`Invalid --env "${kv}": expected KEY=VALUE`);
      c.env[kv.slice(0, eq)] = kv.slice(eq + 1);
    }
  }
  return c;
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/**
 * A validation message with each config field that a flag set replaced by that flag as the user
 * typed it (`Invalid memory "lots"` → `Invalid -m "lots"`, `mounts[2].source` → `--bind source`).
 * Fields that came from `--config FILE` keep their names. `baseMounts` counts the config file's
 * mounts (the flags' come after them).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseArgs } from "./cli_args.ts";
 * import { nameFlags, RUN_SPECS } from "./cli_config.ts";
 * const p = parseArgs(["-m", "lots", "--bind", "x", "ls"], RUN_SPECS, { stopAtPositional: true });
 * assert.equal(nameFlags('Invalid memory "lots": expected a size', p, 0), 'Invalid -m "lots": expected a size');
 * assert.equal(nameFlags('Invalid mounts[0].source "x"', p, 0), 'Invalid --bind source "x"');
 * assert.equal(nameFlags("Cannot enforce the memory limit: no cgroup", p, 0), "Cannot enforce the memory limit (-m): no cgroup");
 * ```
 */
export function nameFlags(message: string, p: ParsedArgs, baseMounts: number): string {
  // field → [the flag as typed, whether a ".sub" field after it belongs to it too]
  const names = new Map<string, [string, boolean]>();
  for (const [field, name] of FIELD_FLAGS) {
    const spelled = p.spelled.get(name);
    if (spelled !== undefined) names.set(field, [spelled, field === "rootfs" || field === "env"]);
  }
  if (p.options.has("budget")) names.set("budgets", ["--budget", true]);
  let i = baseMounts;
  for (const name of MOUNT_FLAGS) {
    for (const _ of p.options.get(name) ?? []) names.set(`mounts[${i++}]`, [`--${name}`, true]);
  }
  let out = message;
  // A limit this host cannot enforce: which flag (or preset) asked for it.
  out = out.replace(/^Cannot enforce the (memory|pids|cpu) limit(?=:)/, (m, what: string) => {
    const typed = p.spelled.get(what);
    const preset = p.options.get("profile")?.[0];
    if (typed !== undefined) return `${m} (${typed})`;
    if (preset !== undefined && what !== "pids") {
      return `${m} (${p.spelled.get("profile")} ${preset})`;
    }
    return m;
  });
  // Longest first, so "seccomp.allow" is replaced before a shorter field could match inside it.
  for (const [field, [flag, sub]] of [...names].sort((a, b) => b[0].length - a[0].length)) {
    // A whole field token where a message names a field ("Invalid memory", "in seccomp.allow"),
    // not a word of the prose ("a user name") nor part of a longer name ("memory.max").
    const tail = sub ? `(?:\\.(\\w+))?(?![\\w\\[])` : `(?![\\w\\[]|\\.\\w)`;
    const re = new RegExp(
      `(?<=\\b(?:Invalid|Unknown|Conflicting|and|in) )${escapeRegExp(field)}${tail}`,
      "g",
    );
    // Without a sub-field group the second argument is the offset, not a string.
    out = out.replace(
      re,
      (_m, part: unknown) => typeof part === "string" ? `${flag} ${part}` : flag,
    );
  }
  return out;
}
