/**
 * The public entry points: an immutable {@linkcode SandboxBuilder} and a reusable
 * {@linkcode Sandbox} with `run()` and `spawn()`.
 *
 * @module
 */

import { encodeFrame } from "./config.ts";
import { findLauncher, launcherFeatures } from "./launcher.ts";
import { type DirEntry, filesystemPlan } from "./mounts.ts";
import {
  ETC_ENTRIES,
  type HostLayout,
  namespacesFor,
  NOBODY,
  resolveMode,
  staticOps,
  SYSTEM_DIRS,
  targetUid,
  validateCommand,
  validateConfig,
  validateEnv,
} from "./policy.ts";
import { describeValue, validateAbsolutePath } from "./parse.ts";
import { type Prepared, runToCompletion, SandboxChild } from "./run.ts";
import { limitOps } from "./limits.ts";
import { cgroupHost } from "./cgroups.ts";
import type { Arch } from "./seccomp.ts";
import { UnsupportedError } from "./errors.ts";
import type {
  CapturedResult,
  Enforced,
  LandlockMode,
  MountConfig,
  NetworkMode,
  PrivilegeMode,
  ResolvedConfig,
  ResolvedMode,
  RunOptions,
  SandboxConfig,
  SeccompConfig,
} from "./types.ts";

let hostLayout: HostLayout | undefined;

function hostArch(): Arch {
  const arch = Deno.build.arch;
  if (arch !== "x86_64" && arch !== "aarch64") {
    throw new UnsupportedError(`Unsupported architecture "${arch}": expected x86_64 or aarch64`);
  }
  return arch;
}

/** Reads which system directories exist on the host and which are symlinks (once). */
function readHostLayout(): HostLayout {
  if (hostLayout) return hostLayout;
  const system: HostLayout["system"] = {};
  for (const dir of SYSTEM_DIRS) {
    try {
      const st = Deno.lstatSync(dir);
      if (st.isSymlink) system[dir] = { link: Deno.readLinkSync(dir) };
      else if (st.isDirectory) system[dir] = { dir: true };
    } catch {
      // absent on this host
    }
  }
  const etc: Record<string, "file" | "dir"> = {};
  for (const name of ETC_ENTRIES) {
    try {
      const st = Deno.statSync(`/etc/${name}`);
      if (st.isFile) etc[name] = "file";
      else if (st.isDirectory) etc[name] = "dir";
    } catch {
      // absent on this host
    }
  }
  hostLayout = { system, etc, arch: hostArch() };
  return hostLayout;
}

/** The kernel's Landlock ABI and user-namespace support, once per launcher (a real probe). */
const kernelFacts = new Map<string, { landlockAbi: number; userns?: boolean }>();

function readKernelFacts(launcher: string): { landlockAbi: number; userns?: boolean } {
  let facts = kernelFacts.get(launcher);
  if (!facts) {
    try {
      const f = launcherFeatures(launcher);
      facts = { landlockAbi: f.landlockAbi, userns: f.userns };
    } catch {
      facts = { landlockAbi: 0 }; // not a launcher that answers --features: assume nothing
    }
    kernelFacts.set(launcher, facts);
  }
  return facts;
}

/** The host facts one sandbox needs: layout, kernel facts, its rootfs entries, overlay dirs. */
function readHost(config: ResolvedConfig, launcher: string, euid: number): HostLayout {
  const host: HostLayout = { ...readHostLayout() };
  if (config.landlock !== "off" || config.namespaces === "auto") {
    Object.assign(host, readKernelFacts(launcher));
  }
  if (config.rootfs) {
    const entries: Record<string, DirEntry> = {};
    try {
      for (const e of Deno.readDirSync(config.rootfs.path)) {
        const p = `${config.rootfs.path}/${e.name}`;
        if (e.isSymlink) entries[e.name] = { link: Deno.readLinkSync(p) };
        else if (e.isDirectory) entries[e.name] = { dir: true };
        else if (e.isFile) entries[e.name] = { file: true };
      }
    } catch (e) {
      throw new UnsupportedError(
        `Cannot read rootfs "${config.rootfs.path}": ${(e as Error).message}`,
      );
    }
    host.rootfs = entries;
  }
  // An overlay's kept-changes dirs: created when missing, owned by the uid the sandbox maps to.
  for (const m of config.mounts) {
    if (m.type !== "overlay" || m.upper === null) continue;
    for (const dir of [m.upper, m.work!]) {
      try {
        Deno.mkdirSync(dir, { mode: 0o700 });
        if (euid === 0) Deno.chownSync(dir, NOBODY, NOBODY);
      } catch (e) {
        if (!(e instanceof Deno.errors.AlreadyExists)) throw e;
      }
    }
  }
  return host;
}

/** The seed's `NamespaceConfig`: which namespaces to create. */
export interface SeedNamespaces {
  pid?: boolean;
  ipc?: boolean;
  net?: boolean;
  mount?: boolean;
  uts?: boolean;
  user?: boolean;
}

/** Options that are not part of the serialisable config. */
export interface SandboxOptions {
  /** Path of the launcher binary (else `SANDBOX_LAUNCHER`, else built next to the module). */
  launcherPath?: string;
}

/**
 * A validated sandbox. Reusable and safe to run many times concurrently: each run gets its own
 * namespaces, root and status directory.
 *
 * @example
 * ```ts ignore
 * import { SandboxBuilder } from "../mod.ts";
 * const sandbox = new SandboxBuilder("demo").timeout("5s").build();
 * const result = await sandbox.run("sh", ["-c", "echo hello from $(hostname)"]);
 * console.log(result.stdout); // "hello from sandbox"
 * ```
 */
export class Sandbox {
  /** The validated configuration. */
  readonly config: Readonly<ResolvedConfig>;
  #options: SandboxOptions;
  #prepared: Prepared | undefined;

  /** Validates `config` (throws `TypeError`/`RangeError` naming the field). */
  constructor(config: SandboxConfig = {}, options: SandboxOptions = {}) {
    this.config = Object.freeze(validateConfig(config));
    this.#options = { ...options };
  }

  /** The sandbox id. */
  get id(): string {
    return this.config.id;
  }

  /**
   * What every run of this sandbox enforces: namespaces, seccomp profile, Landlock ABI and
   * what it dropped, the limits applied (and approximated or dropped), the uid. Known before
   * the first run, so a caller can refuse a weaker sandbox than it needs.
   */
  get enforced(): Readonly<Enforced> {
    return this.#prepare().enforced;
  }

  /** The mode runs use (`privileged` as root under `auto`). */
  get mode(): ResolvedMode {
    return this.#prepare().mode;
  }

  /** Prepares the static part of every run once: launcher, mode, encoded ops. */
  #prepare(): Prepared {
    if (this.#prepared) return this.#prepared;
    const launcher = findLauncher(this.#options.launcherPath);
    const euid = Deno.uid() ?? 0;
    const egid = Deno.gid() ?? 0;
    const mode = resolveMode(this.config.privilegeMode, euid);
    const limits = limitOps(this.config.limits, cgroupHost(euid));
    const host = readHost(this.config, launcher, euid);
    const fs = filesystemPlan(this.config, host);
    const ops = [...staticOps(this.config, mode, { euid, egid }, host), ...limits.ops];
    this.#prepared = {
      launcher,
      frame: encodeFrame(ops),
      staticOps: ops,
      mode,
      enforced: {
        namespaces: namespacesFor(this.config, host),
        seccomp: this.config.seccomp.profile === "none" ? null : this.config.seccomp.profile,
        landlock: fs.landlock.abi,
        landlockDropped: fs.landlock.dropped,
        limits: limits.applied,
        uid: targetUid(fs.namespaces, { euid, egid }),
      },
      env: this.config.env,
      cwd: this.config.cwd,
      cgroupId: limits.applied.backend.startsWith("cgroup") ? this.config.id : null,
    };
    return this.#prepared;
  }

  #check(program: unknown, args: unknown, options: RunOptions): [string, string[], RunOptions] {
    const [p, a] = validateCommand(program, args);
    if (typeof options !== "object" || options === null) {
      throw new TypeError(`Invalid options ${describeValue(options)}: expected an object`);
    }
    for (const key of Object.keys(options)) {
      if (!["stdin", "signal", "env", "cwd", "stdio"].includes(key)) {
        throw new RangeError(
          `Unknown options field "${key}": expected one of stdin, signal, env, cwd`,
        );
      }
    }
    const stdin = options.stdin;
    if (
      stdin !== undefined && typeof stdin !== "string" && !(stdin instanceof Uint8Array) &&
      !(stdin instanceof ReadableStream)
    ) {
      throw new TypeError(
        `Invalid options.stdin ${
          describeValue(stdin)
        }: expected "null", "piped", a string, a Uint8Array or a ReadableStream`,
      );
    }
    const o: RunOptions = { ...options };
    if (options.env !== undefined) o.env = validateEnv(options.env, "options.env");
    if (options.cwd !== undefined) o.cwd = validateAbsolutePath(options.cwd, "options.cwd");
    if (options.signal !== undefined && !(options.signal instanceof AbortSignal)) {
      throw new TypeError(
        `Invalid options.signal ${describeValue(options.signal)}: expected an AbortSignal`,
      );
    }
    return [p, a, o];
  }

  /**
   * Runs a program to completion and captures its output as text.
   *
   * Throws {@linkcode ProgramNotFoundError} (exit code 127) or another
   * {@linkcode SandboxSetupError} when the sandbox could not be set up.
   */
  run(program: string, args: string[] = [], options: RunOptions = {}): Promise<CapturedResult> {
    try {
      const [p, a, o] = this.#check(program, args, options);
      return runToCompletion(this.#prepare(), p, a, o);
    } catch (e) {
      return Promise.reject(e);
    }
  }

  /** Starts a program and returns a handle with streams, `status`, `kill()` and disposal. */
  spawn(program: string, args: string[] = [], options: RunOptions = {}): SandboxChild {
    const [p, a, o] = this.#check(program, args, options);
    return new SandboxChild(this.#prepare(), p, a, o);
  }

  /** @internal Spawns with the launcher's stdio inherited (used by the CLI for `--inherit`). */
  spawnWithStdio(
    program: string,
    args: string[],
    options: RunOptions & { stdio: "piped" | "inherit" },
  ): SandboxChild {
    const [p, a, o] = this.#check(program, args, options);
    return new SandboxChild(this.#prepare(), p, a, { ...o, stdio: options.stdio });
  }
}

/**
 * An immutable builder in the style of sandbox-rs: every setter returns a new builder, so a base
 * can be shared and specialised. Values are validated by `build()` (and by setters that parse).
 *
 * @example
 * ```ts
 * import { SandboxBuilder } from "./sandbox.ts";
 * const base = new SandboxBuilder("job").timeout("2s");
 * const withEnv = base.env({ LANG: "C.UTF-8" });
 * console.assert(base !== withEnv);
 * const sandbox = withEnv.build();
 * console.assert(sandbox.config.timeoutMs === 2000);
 * ```
 */
export class SandboxBuilder {
  #config: SandboxConfig;
  #options: SandboxOptions;

  /** Starts a builder for sandbox `id` (`^[A-Za-z0-9_.-]{1,64}$`). */
  constructor(id = "sandbox", config: SandboxConfig = {}, options: SandboxOptions = {}) {
    this.#config = { ...config, id };
    this.#options = options;
  }

  #with(patch: Partial<SandboxConfig>, options?: SandboxOptions): SandboxBuilder {
    return new SandboxBuilder(
      this.#config.id ?? "sandbox",
      { ...this.#config, ...patch },
      options ?? this.#options,
    );
  }

  /** Wall-clock limit: milliseconds or a string like `"2s"`. */
  timeout(value: number | string): SandboxBuilder {
    return this.#with({ timeout: value });
  }

  /** Adds environment variables (merged over earlier ones). */
  env(vars: Record<string, string>): SandboxBuilder {
    return this.#with({ env: { ...this.#config.env, ...vars } });
  }

  /** Working directory inside the sandbox. */
  cwd(path: string): SandboxBuilder {
    return this.#with({ cwd: path });
  }

  /** `none` (private network with loopback) or `host`. */
  network(mode: NetworkMode): SandboxBuilder {
    return this.#with({ network: mode });
  }

  /** Hostname inside the sandbox. */
  hostname(name: string): SandboxBuilder {
    return this.#with({ hostname: name });
  }

  /** `auto`, `privileged` (root) or `unprivileged`. */
  privilegeMode(mode: PrivilegeMode): SandboxBuilder {
    return this.#with({ privilegeMode: mode });
  }

  /** The seccomp profile: `essential` … `unrestricted`, or `none` (debugging only). */
  seccompProfile(profile: string): SandboxBuilder {
    return this.#with({ seccomp: { ...this.#seccomp(), profile } });
  }

  /** Allows extra syscalls on top of the profile (never-list names are refused). */
  seccompAllow(names: string[]): SandboxBuilder {
    return this.#with({ seccomp: { ...this.#seccomp(), allow: names } });
  }

  /** Refuses syscalls the profile would allow. */
  seccompDeny(names: string[]): SandboxBuilder {
    return this.#with({ seccomp: { ...this.#seccomp(), deny: names } });
  }

  /** What a refused syscall does: `kill` the sandbox (default) or fail with `errno` EPERM. */
  seccompAction(action: "kill" | "errno"): SandboxBuilder {
    return this.#with({ seccomp: { ...this.#seccomp(), action } });
  }

  #seccomp(): SeccompConfig {
    const s = this.#config.seccomp;
    return typeof s === "string" ? { profile: s } : { ...s };
  }

  /** Hard memory limit (swap off): bytes or a size like `"256M"`. */
  memoryLimit(size: number | string): SandboxBuilder {
    return this.#with({ memory: size });
  }

  /** The seed's string form of {@linkcode memoryLimit}: `"256M"`, `"1.5G"`, `"512MB"`. */
  memoryLimitStr(size: string): SandboxBuilder {
    return this.#with({ memory: size });
  }

  /** Maximum processes and threads in the sandbox. */
  maxPids(n: number): SandboxBuilder {
    return this.#with({ maxPids: n });
  }

  /** CPU share in percent of one CPU (above 100 allowed, up to 100 × CPUs). */
  cpuLimitPercent(percent: number): SandboxBuilder {
    const { cpuQuota: _, ...rest } = this.#config;
    return new SandboxBuilder(
      this.#config.id ?? "sandbox",
      { ...rest, cpuPercent: percent },
      this.#options,
    );
  }

  /** CPU share as quota and period in microseconds (the seed's `cpu_quota`). */
  cpuQuota(quota: number, period = 100_000): SandboxBuilder {
    const { cpuPercent: _, ...rest } = this.#config;
    return new SandboxBuilder(this.#config.id ?? "sandbox", {
      ...rest,
      cpuQuota: { quota, period },
    }, this.#options);
  }

  /** CPU time per process: milliseconds or `"2s"` (RLIMIT_CPU, rounded up to seconds). */
  cpuTimeLimit(duration: number | string): SandboxBuilder {
    return this.#with({ cpuTime: duration });
  }

  /** Maximum open files per process. */
  openFiles(n: number): SandboxBuilder {
    return this.#with({ openFiles: n });
  }

  /** Maximum size of any file written. */
  fileSizeLimit(size: number | string): SandboxBuilder {
    return this.#with({ fileSize: size });
  }

  /** Cap on captured output per run. */
  maxOutput(size: number | string): SandboxBuilder {
    return this.#with({ maxOutput: size });
  }

  /** `strict` (default) or `best-effort` limits. */
  limitsMode(mode: "strict" | "best-effort"): SandboxBuilder {
    return this.#with({ limits: mode });
  }

  /** Size of the private `/tmp`. */
  tmpSize(size: number | string): SandboxBuilder {
    return this.#with({ tmpSize: size });
  }

  #mount(m: MountConfig): SandboxBuilder {
    return this.#with({ mounts: [...(this.#config.mounts ?? []), m] });
  }

  /** Binds a host path (read-write unless `readOnly`) at `target` (default: the same path). */
  bind(source: string, target?: string, options: { readOnly?: boolean } = {}): SandboxBuilder {
    return this.#mount({ type: "bind", source, ...(target ? { target } : {}), ...options });
  }

  /** Binds a host path read-only. */
  roBind(source: string, target?: string): SandboxBuilder {
    return this.bind(source, target, { readOnly: true });
  }

  /** A fresh tmpfs at `target` (default size 64M, mode 0o755). */
  tmpfs(target: string, options: { size?: number | string; mode?: number } = {}): SandboxBuilder {
    return this.#mount({ type: "tmpfs", target, ...options });
  }

  /** Copy-on-write over a host directory; writes discarded, or kept in the host dir `upper`. */
  overlay(
    source: string,
    target?: string,
    options: { upper?: string; size?: number | string } = {},
  ): SandboxBuilder {
    return this.#mount({ type: "overlay", source, ...(target ? { target } : {}), ...options });
  }

  /** Uses a directory's entries as the root (read-only unless `writable`). */
  rootfs(path: string, options: { writable?: boolean } = {}): SandboxBuilder {
    return this.#with({ rootfs: { path, ...options } });
  }

  /** The seed's `root(path)`: the sandbox's root directory, i.e. {@linkcode rootfs} (read-only). */
  root(path: string): SandboxBuilder {
    return this.rootfs(path);
  }

  /**
   * `true`, `false` (Landlock alone) or `"auto"` (the default: namespaces where the machine
   * allows them, else Landlock alone). The seed's `NamespaceConfig` object is accepted too:
   * `{ net: false }` shares the host network; switching off pid, mount, user, uts or ipc alone
   * is refused (a run's processes could then outlive it or see the host), use `false` instead.
   */
  namespaces(value: boolean | "auto" | SeedNamespaces): SandboxBuilder {
    if (typeof value !== "object" || value === null) return this.#with({ namespaces: value });
    for (const [k, v] of Object.entries(value)) {
      if (!["pid", "ipc", "net", "mount", "uts", "user"].includes(k)) {
        throw new RangeError(
          `Unknown namespaces field "${k}": expected one of pid, ipc, net, mount, uts, user`,
        );
      }
      if (typeof v !== "boolean") {
        throw new TypeError(`Invalid namespaces.${k} ${JSON.stringify(v)}: expected a boolean`);
      }
      if (k !== "net" && v === false) {
        throw new RangeError(
          `Invalid namespaces.${k} false: the sandbox always uses ${k} namespaces; use namespaces(false) for Landlock-only confinement`,
        );
      }
    }
    return this.#with({ namespaces: true, network: value.net === false ? "host" : "none" });
  }

  /** `best-effort` (default), `required` or `off`. */
  landlock(mode: LandlockMode): SandboxBuilder {
    return this.#with({ landlock: mode });
  }

  /** Uses a specific launcher binary. */
  launcherPath(path: string): SandboxBuilder {
    return this.#with({}, { ...this.#options, launcherPath: path });
  }

  /** The configuration so far, as plain data. */
  toConfig(): SandboxConfig {
    return structuredClone(this.#config);
  }

  /**
   * Validates everything and returns a reusable {@linkcode Sandbox}. Also prepares it (finds or
   * builds the launcher, picks the limits backend), so a limit this machine cannot enforce
   * fails here with an `UnsupportedError`.
   */
  build(): Sandbox {
    const sandbox = new Sandbox(this.#config, this.#options);
    void sandbox.mode;
    return sandbox;
  }
}
