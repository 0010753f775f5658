/**
 * {@linkcode Sandbox}: a validated configuration, prepared once (launcher, mode, limits backend,
 * host facts, encoded static ops) and run many times with `run()` and `spawn()`. The builder is
 * in `lib/builder.ts`, the host reads in `lib/host_facts.ts`, run-option checks in
 * `lib/policy.ts`.
 *
 * @module
 */

import { encodeFrame } from "./config.ts";
import { findLauncher } from "./launcher.ts";
import { CGROUP_VIEW, filesystemPlan, usesNamespaces } from "./mounts.ts";
import {
  hasHostIds,
  namespacesFor,
  resolveMode,
  staticOps,
  targetUid,
  validateCommand,
  validateConfig,
} from "./policy.ts";
import { validateRunOptions } from "./run_options.ts";
import { hostArch, hostProbe, readHost } from "./host_facts.ts";
import { droppedBudgets } from "./budgets.ts";
import { ownershipPlan } from "./ownership.ts";
import { type Prepared, runToCompletion, SandboxChild } from "./run.ts";
import { limitOps } from "./limits.ts";
import { cgroupHost, runCgroupName } from "./cgroups.ts";
import { envVar } from "./_host.ts";
import { WarmPool, type WarmSettings } from "./warm.ts";
import {
  commandFilter,
  openSession,
  type SandboxSession,
  sessionConfig,
  type SessionOptions,
  validateSessionOptions,
} from "./session.ts";
import type {
  CapturedResult,
  Enforced,
  ResolvedConfig,
  ResolvedMode,
  RunOptions,
  SandboxConfig,
} from "./types.ts";

/**
 * Options that are not part of the serialisable config: the second argument of
 * `new Sandbox(config, options)` (third of `new SandboxBuilder(id, config, options)`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Sandbox, type SandboxOptions } from "../mod.ts";
 *
 * const options: SandboxOptions = {
 *   launcherPath: new URL("../launcher/sandbox-launcher", import.meta.url).pathname,
 * };
 * const result = await new Sandbox({}, options).run("true");
 * assert.equal(result.exitCode, 0);
 * ```
 */
export interface SandboxOptions {
  /**
   * Path of the launcher binary.
   * @default `SANDBOX_LAUNCHER`, else `launcher/sandbox-launcher` next to the module (built with
   * `make` on first use), else `~/.cache/sandbox-ts/<version>/sandbox-launcher`
   */
  launcherPath?: string;
  /**
   * The sandbox's warm launcher (lib/warm.ts), on unless `false`: one long-lived launcher started
   * with the sandbox's fixed policy keeps `pool` runs prepared ahead (namespaces, root, cgroup),
   * each waiting only for its program, args, env, cwd, stdin and timeout, so that a run skips
   * building them (about 7-8 ms instead of 13-20 on a 2-core VM; README "Warm launcher"). Each
   * prepared run is used once; the pool refills in the background once no run of it is starting;
   * after `idleMs` without a run its prepared runs end and the launcher stops (it starts again
   * on demand). Results are the same as without it. If the warm launcher fails, that is reported
   * once (`console.warn`) and runs go the usual (cold) way.
   *
   * - Not given (the default): `{ pool: 2, idleMs: 30000 }`, started once the sandbox's second
   *   run ended (a sandbox run once never starts one), and only while fewer than 8 warm launchers
   *   are up in this process; otherwise its runs go the cold way. A root caller's default pool
   *   keeps at most `hostIds.count - 1` runs prepared (each holds a host id), none for a range of
   *   one.
   * - `true` or `{ pool, idleMs }`: started once the first run ended, or by `warmUp()`.
   * - `false`: none; every run goes the cold way.
   * - For sandboxes that say nothing, the environment decides: `SANDBOX_TS_WARM=0` turns the
   *   default off; `SANDBOX_TS_WARM=1` makes it stop whenever no run is in flight (and take every
   *   run: for test suites run with Deno's `--sanitize-ops`/`--sanitize-resources`).
   *
   * A warm launcher is a child process of this one until it stops or the sandbox is closed
   * (`await sandbox.close()`, `await using`); an idle one never holds the process open, and dies
   * with it, taking its prepared runs along.
   * @default `{ pool: 2, idleMs: 30000 }`, started on the second run
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { Sandbox } from "../mod.ts";
   *
   * await using sandbox = new Sandbox({ timeout: "5s" }, { warm: { pool: 1 } });
   * for (let i = 0; i < 3; i++) assert.equal((await sandbox.run("true")).exitCode, 0);
   * ```
   */
  warm?: boolean | { pool?: number; idleMs?: number };
}

/** What `warmSettings()` returns: the pool, and how it starts and stops. */
type WarmChoice = WarmSettings & {
  /** The launcher stops whenever no run is in flight (`SANDBOX_TS_WARM=1`). */
  stopWhenIdle: boolean;
};

/**
 * The pool of `SandboxOptions.warm`, validated; null when off (`warm: false`, or nothing said and
 * `SANDBOX_TS_WARM=0`). On by default: a sandbox that says nothing gets `{ pool: 2, idleMs:
 * 30000 }`, started once its second run ended (a sandbox run once never starts one) and only while
 * fewer than `IMPLICIT_LAUNCHERS_MAX` warm launchers are up in this process (lib/warm.ts). With
 * `SANDBOX_TS_WARM=1` alone, the launcher stops whenever no run is in flight, so that no process
 * outlives a test that never closes its sandbox (for test suites with Deno's sanitizers on).
 */
function warmSettings(warm: SandboxOptions["warm"]): WarmChoice | null {
  const env = envVar("SANDBOX_TS_WARM");
  // What the sandbox says wins; the environment decides for sandboxes that say nothing.
  const implicit = warm === undefined;
  if (warm === false || (implicit && env === "0")) return null;
  const given = typeof warm === "object" ? warm : {};
  const stopWhenIdle = implicit && env === "1";
  const pool = given.pool ?? (stopWhenIdle ? 1 : 2);
  const idleMs = given.idleMs ?? 30_000;
  if (!Number.isInteger(pool) || pool < 1 || pool > 32) {
    throw new RangeError(`Invalid options.warm.pool ${pool}: expected an integer 1..32`);
  }
  if (!Number.isInteger(idleMs) || idleMs < 1 || idleMs > 86_400_000) {
    throw new RangeError(
      `Invalid options.warm.idleMs ${idleMs}: expected an integer 1..86400000 (ms)`,
    );
  }
  return { pool, idleMs, stopWhenIdle, implicit };
}

/**
 * A validated sandbox. Reusable and safe to run many times concurrently: each run gets its own
 * namespaces, root, cgroup and status file. Make one with {@linkcode SandboxBuilder} or from a
 * plain {@linkcode SandboxConfig}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Sandbox, SandboxBuilder } from "../mod.ts";
 *
 * const sandbox = new SandboxBuilder("demo").timeout("5s").build();
 * const result = await sandbox.run("sh", ["-c", "echo hello from $(hostname)"]);
 * assert.equal(result.stdout, "hello from sandbox\n");
 *
 * // The same from plain data, e.g. a parsed JSON file:
 * const same = new Sandbox({ id: "demo", timeout: "5s" });
 * assert.equal(same.config.timeoutMs, 5000);
 * ```
 */
export class Sandbox implements AsyncDisposable {
  /** The validated configuration. */
  readonly config: Readonly<ResolvedConfig>;
  #options: SandboxOptions;
  #prepared: Prepared | undefined;
  #warm: WarmChoice | null;

  /**
   * Validates `config` (throws `TypeError`/`RangeError` naming the field, the value and what is
   * allowed). The launcher is found, and the limits backend chosen, on first use (`mode`,
   * `enforced`, `run()`, `spawn()`) or by `prepare()`; `SandboxBuilder.build()` prepares at once.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { Sandbox } from "../mod.ts";
   *
   * assert.throws(
   *   () => new Sandbox({ timeout: "soon" }),
   *   /^RangeError: Invalid timeout "soon": expected a duration like 500, "500ms", "2s" or "1m"/,
   * );
   * ```
   */
  constructor(config: SandboxConfig = {}, options: SandboxOptions = {}) {
    this.config = Object.freeze(validateConfig(config));
    this.#options = { ...options };
    this.#warm = warmSettings(options.warm);
  }

  /**
   * Stops the sandbox's warm launcher, if it has one (`SandboxOptions.warm`): its prepared runs
   * end, runs still in progress are killed (their results still come). Resolves once everything
   * of it is gone. Runs started afterwards go the cold way. Does nothing without a warm launcher.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { Sandbox } from "../mod.ts";
   *
   * const sandbox = new Sandbox({}, { warm: true });
   * assert.equal((await sandbox.run("true")).exitCode, 0);
   * await sandbox.close();
   * ```
   */
  async close(): Promise<void> {
    await this.#prepared?.warm?.close();
  }

  /**
   * Waits until the sandbox's warm launcher (`SandboxOptions.warm`) holds a full pool of prepared
   * runs, starting it if need be: the next runs (up to the pool's size) each start from a prepared
   * run instead of the cold way. Resolves at once without a warm launcher, or with one that stops
   * when idle (`SANDBOX_TS_WARM=1`) or has failed; never rejects. Prepares the sandbox first, so
   * it throws what `prepare()` throws.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { Sandbox } from "../mod.ts";
   *
   * await using sandbox = new Sandbox({}, { warm: { pool: 2 } });
   * await sandbox.warmUp();
   * assert.equal((await sandbox.run("true")).exitCode, 0);
   * ```
   */
  async warmUp(): Promise<void> {
    await this.#ready().warm?.full();
  }

  /** `close()`, for `await using`. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  /** The sandbox id. */
  get id(): string {
    return this.config.id;
  }

  /**
   * What every run of this sandbox enforces: namespaces, seccomp profile, Landlock ABI and
   * what it dropped, the limits applied (and approximated or dropped), the uid. Known before
   * the first run, so a caller can refuse a weaker sandbox than it needs.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { SandboxBuilder } from "../mod.ts";
   *
   * const sandbox = new SandboxBuilder("job").build();
   * if (sandbox.enforced.namespaces.length === 0) {
   *   throw new Error("user namespaces are unavailable here; refusing to run");
   * }
   * assert.equal(sandbox.enforced.seccomp, "compute");
   * ```
   */
  get enforced(): Readonly<Enforced> {
    return this.#ready().enforced;
  }

  /**
   * The mode runs use (`privileged` as root under `auto`).
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { SandboxBuilder } from "../mod.ts";
   *
   * const sandbox = new SandboxBuilder("job").build();
   * assert.equal(sandbox.mode, Deno.uid() === 0 ? "privileged" : "unprivileged");
   * ```
   */
  get mode(): ResolvedMode {
    return this.#ready().mode;
  }

  /**
   * Prepares what every run shares, now rather than on first use, so that what this machine
   * cannot do throws here: finds (or builds) the launcher, picks the limits backend, reads the
   * host, and encodes the static ops (an overlay's kept-changes dirs are made by the launcher,
   * each run, never through a symlink a sandbox could have planted). Done
   * once; later calls return at once. Returns the sandbox. `SandboxBuilder.build()` calls it.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { LauncherError, Sandbox } from "../mod.ts";
   *
   * const sandbox = new Sandbox({ timeout: "5s" }).prepare();
   * assert.equal((await sandbox.run("true")).exitCode, 0);
   * const broken = new Sandbox({}, { launcherPath: "/no/such/launcher" });
   * assert.throws(() => broken.prepare(), LauncherError);
   * ```
   */
  prepare(): this {
    this.#ready();
    return this;
  }

  /** The static part of every run, prepared on first use. */
  #ready(): Prepared {
    if (this.#prepared) return this.#prepared;
    const launcher = findLauncher(this.#options.launcherPath);
    this.#prepared = prepareRuns(this.config, launcher);
    const ops = this.#prepared.staticOps;
    // Kept overlay changes must be seen by the next run, and an upper dir cannot be mounted by a
    // prepared run while another run writes to it: such a sandbox runs cold (said once).
    const keeps = ops.some((op) => op[0] === "overlay-keep" || op[0] === "overlay-keep-idmap");
    if (this.#warm && keeps && !this.#warm.implicit) {
      console.warn(
        `sandbox-ts: sandbox "${this.config.id}" keeps overlay changes (upper), so its runs go the cold way (warm ignored)`,
      );
    }
    // A default pool leaves a host id to the runs that cannot go through it (a terminal, egress)
    // and to a run that falls back to the cold way: it keeps at most the range's count less one
    // prepared (each holds an id), and none with a range of one.
    const warm = keeps ? null : this.#warm;
    const ids = ops.find((op) => op[0] === "host-ids");
    const pool = warm?.implicit && ids ? Math.min(warm.pool, Number(ids[3]) - 1) : warm?.pool ?? 0;
    if (warm && pool >= 1) {
      const cgroupName = this.#prepared.cgroupId ? runCgroupName(this.#prepared.cgroupId) : null;
      const settings = { ...warm, pool, label: this.config.id };
      this.#prepared.warm = new WarmPool(launcher, ops, cgroupName, settings);
    }
    return this.#prepared;
  }

  /**
   * Opens a {@linkcode SandboxSession}: one sandbox of this configuration that stays up and runs
   * many commands (`spawn`, `run`, `` sh`…` ``), with files in and out (`fs`), ports out
   * (`exposeHttp`) and one cgroup for all of it (`usage()`), until `close()` (or `await using`),
   * its idle timeout, its lifetime, or the end of this process. The sandbox's `timeout` is each
   * command's default wall clock; `lifetime` bounds the whole session.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { SandboxBuilder } from "../mod.ts";
   *
   * const sandbox = new SandboxBuilder("session").memoryLimit("256M").timeout("10s").build();
   * await using session = await sandbox.session({ idleTimeout: "5m" });
   * await session.run("sh", ["-c", "echo 'VALUE = 42' > /tmp/mod.py"]);
   * const r = await session.run("python3", ["-c", "import mod; print(mod.VALUE)"], { cwd: "/tmp" });
   * assert.equal(r.stdout, "42\n");
   * ```
   */
  session(options: SessionOptions = {}): Promise<SandboxSession> {
    try {
      const settings = validateSessionOptions(options);
      const commands = this.#ready();
      const config = sessionConfig(this.config, commands.launcher, settings);
      // The agent's channel is the launcher's own stdin and stdout, never FIFOs.
      const { stdio: _stdio, ...prepared } = prepareRuns(config, commands.launcher);
      return openSession(
        prepared,
        commands,
        settings,
        commandFilter(this.config.seccomp, hostArch()),
      );
    } catch (e) {
      return Promise.reject(e);
    }
  }

  /**
   * Runs a program to completion and captures its output as text and as bytes
   * (`stdoutBytes`, `stderrBytes`), with `success`. `program` is looked up on the sandbox's
   * `PATH` inside the sandbox; `args` are passed unchanged. `options.timeout` and
   * `options.maxOutput` override the sandbox's for this run; `options.input` is the stdin.
   *
   * Rejects with {@linkcode ProgramNotFoundError} (exit code 127),
   * {@linkcode ProgramNotExecutableError} (126) or another {@linkcode SandboxSetupError} (125)
   * when the sandbox could not be set up, and with a `TypeError`/`RangeError` for bad arguments.
   * A non-zero exit, a signal, a timeout or a limit is not an error: it is in the result.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { SandboxBuilder } from "../mod.ts";
   *
   * const sandbox = new SandboxBuilder("calc").timeout("5s").build();
   * const result = await sandbox.run("python3", ["-c", "print(6 * 7)"]);
   * assert.equal(result.exitCode, 0);
   * assert.equal(result.stdout, "42\n");
   *
   * const shout = await sandbox.run("tr", ["a-z", "A-Z"], { input: "shout" });
   * assert.equal(shout.stdout, "SHOUT");
   * assert.equal(shout.success, true);
   *
   * const slow = await sandbox.run("sleep", ["5"], { timeout: "200ms" });
   * assert.equal(slow.reason, "timeout");
   * assert.equal(slow.success, false);
   * ```
   */
  run(program: string, args: string[] = [], options: RunOptions = {}): Promise<CapturedResult> {
    try {
      const [p, a] = validateCommand(program, args);
      const o = validateRunOptions(options, { capture: true });
      return runToCompletion(this.#ready(), { program: p, args: a }, o);
    } catch (e) {
      return Promise.reject(e);
    }
  }

  /**
   * Starts a program and returns a {@linkcode SandboxChild}: `pid`, raw-byte `stdout`/`stderr`
   * streams, `stdin` (with `stdin: "piped"`), `status`, `output()`, `lines()`, `kill()` and
   * `await using` disposal. Bad arguments throw at once; setup failures reject `status`.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { SandboxBuilder } from "../mod.ts";
   *
   * const sandbox = new SandboxBuilder("stream").build();
   * const child = sandbox.spawn("sh", ["-c", "for i in 1 2 3; do echo $i; done"]);
   * const seen: string[] = [];
   * for await (const line of child.lines()) seen.push(line);
   * assert.deepEqual(seen, ["1", "2", "3"]);
   * assert.equal((await child.status).exitCode, 0);
   *
   * const controller = new AbortController();
   * const slow = sandbox.spawn("sleep", ["10"], { signal: controller.signal });
   * controller.abort();
   * assert.equal((await slow.status).aborted, true);
   * ```
   */
  spawn(program: string, args: string[] = [], options: RunOptions = {}): SandboxChild {
    const [p, a] = validateCommand(program, args);
    const o = validateRunOptions(options);
    return new SandboxChild(this.#ready(), { program: p, args: a }, o);
  }
}

/** The static part of every run of `config`: host facts, mode, limits, the encoded ops. */
function prepareRuns(config: ResolvedConfig, launcher: string): Prepared {
  // The host facts and the caller's ids come from the launcher (no --allow-sys, no -A).
  const host = readHost(config, launcher);
  const { euid, egid } = hostProbe(launcher);
  const mode = resolveMode(config.privilegeMode, euid);
  const limits = limitOps(config.limits, cgroupHost(euid, launcher), {
    userNamespace: usesNamespaces(config, host),
  });
  const fs = filesystemPlan(config, host);
  const ops = [...staticOps(config, { mode, caller: { euid, egid }, host }), ...limits.ops];
  // A run with a cgroup of its own sees it (its cgroup namespace's root) read-only.
  if (fs.namespaces && !config.rootfs && limits.applied.backend.startsWith("cgroup")) {
    ops.push(["cgroupfs", CGROUP_VIEW]);
  }
  return {
    launcher,
    frame: encodeFrame(ops),
    staticOps: ops,
    mode,
    enforced: {
      namespaces: namespacesFor(config, host),
      seccomp: config.seccomp.profile === "none" ? null : config.seccomp.profile,
      landlock: fs.landlock.abi,
      landlockDropped: fs.landlock.dropped,
      budgetsDropped: droppedBudgets({
        userNamespace: fs.namespaces,
        available: host.usernsLimits,
      }),
      limits: limits.applied,
      uid: targetUid(fs.namespaces, { euid, egid }),
      // A root caller's pair is allocated per run: each result has its own.
      ...(euid === 0 ? {} : { hostUid: euid, hostGid: egid }),
      mounts: ownershipPlan(config, {
        namespaces: fs.namespaces,
        rootCaller: hasHostIds(mode, { euid, egid }),
      }).mounts,
    },
    // The synthesized identity's HOME, USER, LOGNAME and SHELL; the config's env wins.
    env: { ...fs.env, ...config.env },
    cwd: config.cwd,
    timeoutMs: config.timeoutMs,
    cgroupId: limits.applied.backend.startsWith("cgroup") ? config.id : null,
    egress: config.egress ?? null,
    // SANDBOX_TS_FIFO_STDIO=1: every run's stdio through the request channel's FIFOs (tests).
    ...(envVar("SANDBOX_TS_FIFO_STDIO") === "1" ? { stdio: "fifos" as const } : {}),
  };
}
