/**
 * {@linkcode SandboxSession}: one sandbox that stays up — its init, namespaces, root, network
 * namespace and one cgroup whose limits and accounting cover every command — until `close()`, an
 * idle timeout, its lifetime, or the end of the Deno process (the launcher dies with its parent
 * and takes the whole pid namespace with it).
 *
 * How: the launcher's target is the session's agent (`sandbox-launcher --session-agent`, the
 * launcher binary bound read-only into the sandbox), which runs inside with the session's
 * identity, Landlock and seccomp and serves commands, files and ports over its stdin/stdout
 * (`lib/session_wire.ts`). The agent holds nothing the sandboxed code lacks.
 *
 * @module
 */

import { DEFAULT_PATH } from "./policy.ts";
import type { Prepared } from "./run.ts";
import { SandboxChild } from "./run.ts";
import { validateCommand } from "./policy.ts";
import { parseDuration } from "./parse.ts";
import { validateRunOptions } from "./run_options.ts";
import { SessionChannel, SessionClosedError } from "./session_channel.ts";
import { captureChild, SessionChild, type SessionChild as Child } from "./session_child.ts";
import { SessionFs } from "./session_fs.ts";
import { ExposedPort } from "./session_port.ts";
import { FRAME, splitTokens } from "./session_wire.ts";
import { EGRESS_PORT, egressEnv } from "./egress/env.ts";
import { compileRefusals, resolvePolicy, type SeccompPolicy } from "./seccomp/mod.ts";
import { type Arch, syscallNumber } from "./syscalls.ts";
import { SandboxError } from "./errors.ts";
import type { CapturedResult, ResolvedConfig, RunOptions, SandboxResult } from "./types.ts";

export { SessionClosedError };

/** Where the agent (the launcher binary) is bound, read-only, inside a session. */
export const AGENT_PATH = "/.sandbox-session-agent";

/**
 * The syscalls the agent itself makes (commands, files, ports), added to the session's seccomp
 * allow-list so that every profile can host a session. Each command gets a second filter that
 * refuses those the session's own policy refuses ({@link commandFilter}).
 */
export const AGENT_SYSCALLS = [
  "read",
  "write",
  "close",
  "ppoll",
  "poll",
  "pipe2",
  "dup2",
  "dup3",
  "fcntl",
  "wait4",
  "kill",
  "prctl",
  "openat",
  "newfstatat",
  "fstat",
  "getdents64",
  "mkdirat",
  "unlinkat",
  "chdir",
  "execve",
  "clone",
  "setpgid",
  "getpid",
  "rt_sigaction",
  "rt_sigprocmask",
  "getrusage",
  "pread64",
  "socket",
  "connect",
  "setsockopt",
  "shutdown",
  "exit_group",
  "lseek",
  "ioctl",
  "setsid",
  "fstatfs",
] as const; // deno-fmt-ignore

/**
 * Options of `sandbox.session()`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { SandboxBuilder, type SessionOptions } from "../mod.ts";
 *
 * const options: SessionOptions = { idleTimeout: "5m", lifetime: "1h" };
 * await using session = await new SandboxBuilder("opts").build().session(options);
 * assert.equal((await session.run("true")).exitCode, 0);
 * ```
 */
export interface SessionOptions {
  /**
   * End the session after this long with no command running and no request or connection open.
   * @default none
   */
  idleTimeout?: number | string;
  /** End the session this long after it started, whatever runs. @default none */
  lifetime?: number | string;
}

/**
 * The session's resource use so far, from `session.usage()`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { SandboxBuilder } from "../mod.ts";
 *
 * await using session = await new SandboxBuilder("usage").build().session();
 * await session.run("sh", ["-c", "i=0; while [ $i -lt 20000 ]; do i=$((i+1)); done"]);
 * const usage = await session.usage();
 * assert.ok(usage.cpuTimeUs > 0);
 * ```
 */
export interface SessionUsage {
  /** `"cgroup"`: the session's cgroup (every process); `"rusage"`: finished commands only. */
  source: "cgroup" | "rusage";
  /** CPU time of the session so far, in µs. */
  cpuTimeUs: number;
  /** Memory in use now (cgroup only), else null. */
  memoryBytes: number | null;
  /** Peak memory so far. */
  memoryPeakBytes: number;
  /** Processes now (cgroup only), else null. */
  pids: number | null;
  /** OOM kills so far (cgroup only), else null. */
  oomKills: number | null;
}

/**
 * How a session ended (`session.closed`): `"closed"` by `close()`, `"idle"` by its idle timeout,
 * else the launcher's reason (`"timeout"`: its lifetime; `"memory"`, `"pids"`, `"seccomp"`, …).
 */
export interface SessionEnd {
  /** Why it ended. */
  reason: "closed" | "idle" | SandboxResult["reason"];
  /** The whole session's result: its CPU time, memory peak, OOM kill, limits hit. */
  result: SandboxResult | null;
}

/** Validated session options. */
interface SessionSettings {
  idleMs: number | null;
  lifetimeMs: number | null;
}

/** @internal */
export function validateSessionOptions(o: SessionOptions): SessionSettings {
  if (typeof o !== "object" || o === null) throw new TypeError("Invalid session options");
  for (const k of Object.keys(o)) {
    if (k !== "idleTimeout" && k !== "lifetime") {
      throw new TypeError(`Unknown session option "${k}": allowed are idleTimeout, lifetime`);
    }
  }
  return {
    idleMs: o.idleTimeout === undefined ? null : parseDuration(o.idleTimeout, "idleTimeout"),
    lifetimeMs: o.lifetime === undefined ? null : parseDuration(o.lifetime, "lifetime"),
  };
}

/**
 * @internal The session's config: the agent bound in, the lifetime as the launcher's wall clock,
 * and the agent's syscalls allowed.
 */
export function sessionConfig(
  config: ResolvedConfig,
  launcher: string,
  settings: SessionSettings,
): ResolvedConfig {
  // The agent needs its syscalls: a deny list that names one cannot be honoured, so the session
  // is refused (never a silently dropped deny entry).
  const clash = config.seccomp.deny.filter((n) =>
    (AGENT_SYSCALLS as readonly string[]).includes(n)
  );
  if (config.seccomp.profile !== "none" && clash.length) {
    throw new RangeError(
      `Invalid seccomp.deny for a session: ${clash.join(", ")} ${
        clash.length > 1 ? "are" : "is"
      } needed by the session's agent (lib/session.ts AGENT_SYSCALLS); run such code with sandbox.run() instead`,
    );
  }
  const seccomp = config.seccomp.profile === "none" ? config.seccomp : {
    ...config.seccomp,
    allow: [...new Set([...config.seccomp.allow, ...AGENT_SYSCALLS])],
  };
  return {
    ...config,
    timeoutMs: settings.lifetimeMs,
    mounts: [...config.mounts, {
      type: "bind",
      source: launcher,
      target: AGENT_PATH,
      readOnly: true,
    }],
    seccomp,
  };
}

/**
 * @internal The filter each command of a session gets on top of the session's (hex; "" for none):
 * the agent's syscalls that the session's own policy refuses, refused again, so that a command
 * runs under exactly the session's policy. Such a refusal is EPERM or a kill of the command, as
 * the policy's action says, and is not named (the monitor never sees it).
 */
export function commandFilter(seccomp: ResolvedConfig["seccomp"], arch: Arch): string {
  if (seccomp.profile === "none") return "";
  const own = resolvePolicy({
    profile: seccomp.profile as SeccompPolicy["profile"],
    allow: seccomp.allow,
    deny: seccomp.deny,
    action: seccomp.action,
  }, arch);
  const passes = new Set([
    ...own.allowed,
    ...own.argumentRules.map((r) => r.nr),
    ...own.fixedErrno.map((f) => f.nr),
  ]);
  const refused = AGENT_SYSCALLS.map((n) => syscallNumber(arch, n))
    .filter((nr): nr is number => nr !== undefined && !passes.has(nr));
  let hex = "";
  for (const b of compileRefusals(refused, arch, seccomp.action)) {
    hex += b.toString(16).padStart(2, "0");
  }
  return hex;
}

function quote(v: unknown): string {
  if (Array.isArray(v)) return v.map(quote).join(" ");
  if (typeof v !== "string" && typeof v !== "number" && typeof v !== "bigint") {
    throw new TypeError(`Invalid sh value ${String(v)}: expected a string, number or array`);
  }
  return `'${String(v).replaceAll("'", `'\\''`)}'`;
}

/**
 * A live sandbox from `sandbox.session()`: many commands, files in and out, ports out, one cgroup
 * for all of it. `await using` closes it.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { SandboxBuilder } from "../mod.ts";
 *
 * const sandbox = new SandboxBuilder("agent").memoryLimit("256M").build();
 * await using session = await sandbox.session({ idleTimeout: "10m" });
 * await session.fs.writeTextFile("/tmp/greet.py", "def hi(n): return f'hi {n}'\n");
 * const name = "Robert'); rm -rf /; echo ('";
 * const r = await session.sh`cd /tmp && python3 -c "import greet, sys; print(greet.hi(sys.argv[1]))" ${name}`;
 * assert.equal(r.stdout, `hi ${name}\n`);
 * ```
 */
export class SandboxSession implements AsyncDisposable {
  /** A random id for this session (the CLI addresses sessions by it). */
  readonly id: string;
  /** The session's files. */
  readonly fs: SessionFs;
  /** The launcher's pid on the host. */
  readonly pid: number;
  /** Resolves once the session has ended, however it ended. */
  readonly closed: Promise<SessionEnd>;
  #launcher: SandboxChild;
  #channel: SessionChannel;
  #ports: ExposedPort[] = [];
  #closing: "closed" | "idle" | null = null;
  #idleTimer: ReturnType<typeof setTimeout> | undefined;
  #ctx: ConstructorParameters<typeof SessionChild>[0];
  #commandTimeoutMs: number | null;

  /** @internal Use `sandbox.session()`. */
  constructor(
    launcher: SandboxChild,
    commands: Prepared,
    settings: SessionSettings,
    commandTimeoutMs: number | null,
  ) {
    this.id = crypto.randomUUID().replaceAll("-", "").slice(0, 16);
    this.#launcher = launcher;
    this.pid = launcher.pid;
    this.#commandTimeoutMs = commandTimeoutMs;
    this.#channel = new SessionChannel(launcher.stdin!.getWriter());
    this.fs = new SessionFs(this.#channel);
    this.#ctx = {
      channel: this.#channel,
      mode: commands.mode,
      enforced: commands.enforced,
      env: { PATH: DEFAULT_PATH, ...commands.env },
      // The session's egress listener (the launcher's, as for a run): its proxy variables go
      // last, over a command's own env, as in a run.
      proxyEnv: commands.egress ? egressEnv(EGRESS_PORT) : {},
      cwd: commands.cwd,
      timeoutMs: commandTimeoutMs,
      maxOutputBytes: commands.enforced.limits.maxOutputBytes,
    };
    if (settings.idleMs !== null) {
      const idleMs = settings.idleMs;
      this.#channel.onActivity = () => {
        clearTimeout(this.#idleTimer);
        if (this.#channel.openCount > 0 || this.#channel.ended) return;
        const timer = setTimeout(() => this.#end("idle"), idleMs);
        Deno.unrefTimer(timer);
        this.#idleTimer = timer;
      };
      this.#channel.onActivity();
    }
    this.closed = launcher.status.then(
      (result) => this.#ended(result),
      () => this.#ended(null),
    );
  }

  /** @internal Waits for the agent's hello; rejects with the launcher's error if it never came. */
  async ready(): Promise<this> {
    let hello!: () => void;
    const greeted = new Promise<void>((r) => hello = r);
    const pumped = this.#channel.pump(this.#launcher.stdout, () => hello()).catch(() => {
      // A malformed frame: the agent is not speaking the protocol; end the whole session.
      this.#launcher.kill();
    });
    // The launcher's own stderr (and the agent's): read so it never blocks, kept short.
    let tail = "";
    const stderr = (async () => {
      for await (const t of this.#launcher.stderr.pipeThrough(new TextDecoderStream())) {
        tail = (tail + t).slice(-4096);
      }
    })().catch(() => {});
    const first = await Promise.race([
      greeted.then(() => "ready" as const),
      this.#launcher.status.then(() => "ended" as const, (e) => e as Error),
    ]);
    if (first === "ready") {
      // When the agent's output ends, the session has.
      pumped.then(() => this.#channel.end(this.#closing ?? "agent exited"));
      return this;
    }
    await stderr;
    if (first instanceof Error) throw first;
    const r = await this.#launcher.status;
    // A seccomp kill names the syscall: one the agent needs that the policy refuses.
    const killedBy = r.seccompViolation ? ` by ${r.seccompViolation.syscall}` : "";
    throw new SandboxError(
      `The session's agent did not start (${r.reason}${killedBy}, exit ${r.exitCode}): ${tail.trim()}`,
    );
  }

  #ended(result: SandboxResult | null): SessionEnd {
    clearTimeout(this.#idleTimer);
    this.#channel.end(this.#closing ?? result?.reason ?? "ended");
    for (const p of this.#ports) p.close();
    return { reason: this.#closing ?? result?.reason ?? "exited", result };
  }

  /**
   * Starts a command in the session, like `Sandbox.spawn()`: the same options (`stdin`, `input`,
   * `timeout`, `maxOutput`, `signal`, `env`, `cwd`), the sandbox's timeout and output cap by
   * default. Processes it starts in the background outlive it.
   */
  spawn(program: string, args: string[] = [], options: RunOptions = {}): Child {
    const [p, a] = validateCommand(program, args);
    const o = validateRunOptions(options);
    return new SessionChild(this.#ctx, { program: p, args: a }, o);
  }

  /**
   * Runs a command to completion and captures its output, like `Sandbox.run()`.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { SandboxBuilder } from "../mod.ts";
   *
   * await using session = await new SandboxBuilder("run").build().session();
   * await session.run("sh", ["-c", "echo 41 > /tmp/n"]);
   * const r = await session.run("sh", ["-c", "echo $(( $(cat /tmp/n) + 1 ))"]);
   * assert.equal(r.stdout, "42\n");
   * ```
   */
  run(program: string, args: string[] = [], options: RunOptions = {}): Promise<CapturedResult> {
    try {
      const [p, a] = validateCommand(program, args);
      const o = validateRunOptions(options, { capture: true });
      return captureChild(new SessionChild(this.#ctx, { program: p, args: a }, o));
    } catch (e) {
      return Promise.reject(e);
    }
  }

  /**
   * Runs a shell script (`sh -c`) to completion; each `${}` value is quoted as one argument (an
   * array as one argument per element), so no value can inject shell syntax.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { SandboxBuilder } from "../mod.ts";
   *
   * await using session = await new SandboxBuilder("sh").build().session();
   * const file = "a file; rm -rf /";
   * const r = await session.sh`echo ${file} ${["x", "y z"]} | wc -w`;
   * assert.equal(r.stdout.trim(), "8");
   * ```
   */
  sh(strings: TemplateStringsArray, ...values: unknown[]): Promise<CapturedResult> {
    try {
      let script = strings[0] ?? "";
      values.forEach((v, i) => script += quote(v) + (strings[i + 1] ?? ""));
      return this.run("sh", ["-c", script]);
    } catch (e) {
      return Promise.reject(e);
    }
  }

  /**
   * Exposes `port` on `127.0.0.1` inside the session at a URL on the host's loopback; every
   * connection is relayed to it by the agent. Closed with the session.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { SandboxBuilder } from "../mod.ts";
   *
   * await using session = await new SandboxBuilder("http").build().session();
   * await session.fs.writeTextFile("/tmp/index.html", "hello\n");
   * session.spawn("python3", ["-m", "http.server", "8000", "-b", "127.0.0.1", "-d", "/tmp"]);
   * const url = await session.exposeHttp({ port: 8000 });
   * let body = "";
   * for (let i = 0; i < 100 && body !== "hello\n"; i++) {
   *   body = await fetch(`${url}/index.html`).then((r) => r.text()).catch(() => "");
   *   if (body !== "hello\n") await new Promise((r) => setTimeout(r, 50));
   * }
   * assert.equal(body, "hello\n");
   * ```
   */
  exposeHttp(target: number | { port: number }): Promise<string> {
    return this.exposeTcp(target).then((a) => `http://${a.hostname}:${a.port}`);
  }

  /**
   * Like `exposeHttp`, for any TCP protocol: the host's loopback address that reaches `port`
   * inside, for `Deno.connect()`.
   */
  exposeTcp(target: number | { port: number }): Promise<{ hostname: string; port: number }> {
    try {
      const port = typeof target === "number" ? target : target?.port;
      if (typeof port !== "number" || !Number.isInteger(port) || port < 1 || port > 65535) {
        throw new RangeError(`Invalid port ${JSON.stringify(port)}: expected 1 to 65535`);
      }
      if (this.#channel.ended) {
        throw new SessionClosedError(`The session has ended (${this.#channel.ended})`);
      }
      const exposed = new ExposedPort(this.#channel, port);
      this.#ports.push(exposed);
      const { hostname, port: hostPort } = exposed.address;
      return Promise.resolve({ hostname, port: hostPort });
    } catch (e) {
      return Promise.reject(e);
    }
  }

  /** The session's CPU time, memory and processes so far (its cgroup's, when it has one). */
  async usage(): Promise<SessionUsage> {
    const f = await this.#channel.request(FRAME.USAGE, []);
    const [source, cpu, mem, peak, pids, oom] = splitTokens(f.payload).tokens.map((t, i) =>
      i === 0 ? t : Number(t)
    );
    const known = (n: unknown) => typeof n === "number" && n >= 0 ? n : null;
    return {
      source: source === "cgroup" ? "cgroup" : "rusage",
      cpuTimeUs: known(cpu) ?? 0,
      memoryBytes: known(mem),
      memoryPeakBytes: known(peak) ?? 0,
      pids: known(pids),
      oomKills: known(oom),
    };
  }

  /** The default per-command timeout in ms (the sandbox's), or null. */
  get commandTimeoutMs(): number | null {
    return this.#commandTimeoutMs;
  }

  #end(reason: "closed" | "idle"): Promise<SessionEnd> {
    if (!this.#closing) {
      this.#closing = reason;
      for (const p of this.#ports) p.close();
      // The agent sees end-of-file and exits; the launcher then kills whatever is left in the
      // pid namespace and removes the cgroup. If it does not go in time, kill the sandbox.
      this.#channel.end(reason);
      const timer = setTimeout(() => this.#launcher.kill(), 1000);
      this.closed.finally(() => clearTimeout(timer));
    }
    return this.closed;
  }

  /** Ends the session: every process in it is killed, its cgroup and root removed. */
  close(): Promise<SessionEnd> {
    return this.#end("closed");
  }

  /** `await using`: closes the session. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

/** @internal Starts the launcher with the agent as its target and waits for the agent. */
export function openSession(
  prepared: Prepared,
  commands: Prepared,
  settings: SessionSettings,
  filter: string,
): Promise<SandboxSession> {
  const args = ["--session-agent", ...(filter ? ["--command-filter", filter] : [])];
  const launcher = new SandboxChild(prepared, { program: AGENT_PATH, args }, {
    stdin: "piped",
    input: null,
    maxOutputBytes: Number.MAX_SAFE_INTEGER,
  });
  return new SandboxSession(launcher, commands, settings, commands.timeoutMs).ready();
}
