/**
 * The public entry points: an immutable {@linkcode SandboxBuilder} and a reusable
 * {@linkcode Sandbox} with `run()` and `spawn()`.
 *
 * @module
 */

import { encodeFrame } from "./config.ts";
import { findLauncher } from "./launcher.ts";
import {
  type HostLayout,
  namespacesFor,
  resolveMode,
  SANDBOX_UID,
  staticOps,
  SYSTEM_DIRS,
  validateCommand,
  validateConfig,
  validateEnv,
} from "./policy.ts";
import { validateAbsolutePath } from "./parse.ts";
import { type Prepared, runToCompletion, SandboxChild } from "./run.ts";
import type { Arch } from "./seccomp.ts";
import { UnsupportedError } from "./errors.ts";
import type {
  CapturedResult,
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
  hostLayout = { system, arch: hostArch() };
  return hostLayout;
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
    const ops = staticOps(this.config, mode, { euid, egid }, readHostLayout());
    this.#prepared = {
      launcher,
      frame: encodeFrame(ops),
      staticOps: ops,
      mode,
      enforced: {
        namespaces: namespacesFor(this.config),
        seccomp: this.config.seccomp.profile === "none" ? null : this.config.seccomp.profile,
        landlock: null,
        limits: "none",
        uid: SANDBOX_UID,
      },
      env: this.config.env,
      cwd: this.config.cwd,
    };
    return this.#prepared;
  }

  #check(program: unknown, args: unknown, options: RunOptions): [string, string[], RunOptions] {
    const [p, a] = validateCommand(program, args);
    const o: RunOptions = { ...options };
    if (options.env !== undefined) o.env = validateEnv(options.env, "options.env");
    if (options.cwd !== undefined) o.cwd = validateAbsolutePath(options.cwd, "options.cwd");
    if (options.signal !== undefined && !(options.signal instanceof AbortSignal)) {
      throw new TypeError("Invalid options.signal: expected an AbortSignal");
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

  /** Size of the private `/tmp`. */
  tmpSize(size: number | string): SandboxBuilder {
    return this.#with({ tmpSize: size });
  }

  /** Uses a specific launcher binary. */
  launcherPath(path: string): SandboxBuilder {
    return this.#with({}, { ...this.#options, launcherPath: path });
  }

  /** The configuration so far, as plain data. */
  toConfig(): SandboxConfig {
    return structuredClone(this.#config);
  }

  /** Validates everything and returns a reusable {@linkcode Sandbox}. */
  build(): Sandbox {
    return new Sandbox(this.#config, this.#options);
  }
}
