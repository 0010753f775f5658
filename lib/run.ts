/**
 * One run's lifecycle: a private status dir, the launcher process, stdin, kill/abort, the
 * result, and cleanup on every path.
 *
 * @module
 */

import { FORWARDED_SIGNALS, KILL_SIGNAL } from "./abi.ts";
import { encodeFrame, joinFrames } from "./config.ts";
import { type ByteSource, readerSource, sourceStream } from "./byte_source.ts";
import { type FifoStdio, fifoStdio } from "./fifo_stdio.ts";
import {
  awaitReady,
  collect,
  feedStdin,
  mergeStreams,
  type OutputChunk,
  pipedStdin,
  type StdinSource,
  stdinSource,
  textLines,
} from "./run_stdio.ts";
import { countRun, type WarmPool } from "./warm.ts";
import { type Launched, startWarmRun } from "./warm_run.ts";
import { SandboxError, SandboxSetupError } from "./errors.ts";
import { runOps, type RunSpec } from "./policy.ts";
import { makeRunStatus } from "./rundir.ts";
import { runCgroupName } from "./cgroups.ts";
import { spawnLauncher } from "./spawn.ts";
import { TtyControl, ttyControlPath, validateTtySize } from "./tty.ts";
import { decodeResult } from "./status.ts";
import type { CapturedResult, Enforced, ResolvedMode, SandboxResult } from "./types.ts";
import type { ResolvedEgress } from "./types.ts";
import { runEgress } from "./egress/run_egress.ts";
import type { Op } from "./config.ts";
import type { RunSettings } from "./run_options.ts";

/** Everything a sandbox prepares once and reuses for every run. */
export interface Prepared {
  launcher: string;
  /** The encoded static ops. */
  frame: Uint8Array;
  staticOps: readonly Op[];
  mode: ResolvedMode;
  enforced: Enforced;
  env: Record<string, string>;
  cwd: string;
  /** The sandbox's wall-clock limit in ms (a run may override it), or null. */
  timeoutMs: number | null;
  /** The sandbox id when runs get a cgroup, else null. */
  cgroupId: string | null;
  /** The egress allow-list, or null (no way out of the private network). */
  egress: ResolvedEgress | null;
  /**
   * How a run's stdio reaches the target: the launcher's own pipes (`"pipes"`, the default), or
   * FIFOs in the run's private state dir sent to init with the per-run request (`"fifos"`,
   * lib/fifo_stdio.ts, launcher/request.c: the channel a launcher that is already running uses).
   */
  stdio?: "pipes" | "fifos";
  /** The sandbox's warm launcher (lib/warm.ts), when it has one: runs go through it while usable. */
  warm?: WarmPool;
}

/** A validated program and its arguments. */
export interface Command {
  program: string;
  args: readonly string[];
}

export type { OutputChunk } from "./run_stdio.ts";
export { collect };

/** Signals the launcher forwards to the target; anything else kills the whole sandbox. */
const FORWARDED = new Set(FORWARDED_SIGNALS);

/** How long a launcher gets to report after being told to kill the sandbox. */
const KILL_GRACE_MS = 2000;

/**
 * A running sandboxed process, from `Sandbox.spawn()`: streams, a result promise, kill and
 * disposal. `status` resolves only after the whole sandbox is gone (every process of the run is
 * dead) and the streams being read have delivered everything; a stream nobody reads does not
 * hold the result back.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { SandboxBuilder } from "../mod.ts";
 *
 * const sandbox = new SandboxBuilder("child").timeout("5s").build();
 * const child = sandbox.spawn("sh", ["-c", "echo one; echo two"]);
 * const lines: string[] = [];
 * for await (const line of child.lines()) lines.push(line);
 * const result = await child.status;
 * assert.deepEqual(lines, ["one", "two"]);
 * assert.equal(result.exitCode, 0);
 * ```
 */
export class SandboxChild implements AsyncDisposable {
  /**
   * The launcher's pid on the host (the target's own pid is 2 inside its pid namespace); with a
   * warm launcher (`SandboxOptions.warm`), the warm launcher's, the same for every run it serves
   * (and, for a run it could not start that then ran the cold way, that run's own launcher's).
   */
  get pid(): number {
    return this.#proc.pid;
  }
  /** The target's stdout, as raw bytes. */
  readonly stdout: ReadableStream<Uint8Array>;
  /** The target's stderr, as raw bytes. */
  readonly stderr: ReadableStream<Uint8Array>;
  /**
   * The target's stdin when `stdin: "piped"`, else null. Close it to send end-of-file.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { SandboxBuilder } from "../mod.ts";
   *
   * const child = new SandboxBuilder("stdin").build().spawn("wc", ["-l"], { stdin: "piped" });
   * const writer = child.stdin!.getWriter();
   * await writer.write(new TextEncoder().encode("a\nb\n"));
   * await writer.close();
   * const out = await new Response(child.stdout).text();
   * assert.equal(out.trim(), "2");
   * assert.equal((await child.status).exitCode, 0);
   * ```
   */
  readonly stdin: WritableStream<Uint8Array> | null;
  /**
   * Resolves with the result once the sandbox is gone; rejects with a
   * {@linkcode SandboxSetupError} (or a subclass) when the target never ran. The seed's
   * `StreamChunk::Exit { exit_code, signal }`, with the whole result.
   */
  readonly status: Promise<SandboxResult>;
  #proc: Launched;
  #aborted = false;
  /** The signals kill() forwarded, in order. */
  #forwarded: string[] = [];
  #outputLimited = false;
  #exited = false;
  #killTimer: ReturnType<typeof setTimeout> | undefined;
  #tty: TtyControl | null = null;

  /** @internal Use `Sandbox.spawn()`. */
  constructor(prepared: Prepared, command: Command, options: RunSettings) {
    const { program, args } = command;
    options.signal?.throwIfAborted();
    if (options.tty && !prepared.staticOps.some((op) => op[0] === "dev")) {
      throw new RangeError(
        `Invalid options.tty: this sandbox has no /dev of its own (a terminal comes from the sandbox's own devpts instance); run it with namespaces`,
      );
    }
    // A warm launcher that is usable serves the run (its stdio then is always FIFOs); one that
    // failed was reported once, and the run goes the cold way. A terminal and an egress listener
    // are made by init before the request exists, so such runs go the cold way too, on the
    // launcher's own stdio (the terminal's relay reads and writes it).
    const warmable = !options.tty && !prepared.egress;
    const warm = warmable && prepared.warm?.canStart() ? prepared.warm : null;
    // Its status file and FIFOs made ahead, when the warm launcher has them ready.
    const premade = warm?.takeStdio() ?? null;
    const status = premade?.status ?? makeRunStatus({ tty: options.tty !== undefined });
    const control = ttyControlPath(status.path);
    const egress = runEgress(prepared.egress, status.path);
    const fifos = !options.tty && (prepared.stdio === "fifos" || warm !== null);
    const input = options.stdin;
    let stdioDir: string | undefined;
    try {
      if (fifos) stdioDir = premade?.dir ?? status.makeStdioDir();
    } catch (e) {
      status.cleanup();
      throw e;
    }
    // An empty stdin needs no FIFO: the launcher gives the target an empty pipe.
    const stdinMode: "null" | "fifo" = input === "null" ? "null" : "fifo";
    const cgroupName = prepared.cgroupId ? runCgroupName(prepared.cgroupId) : null;
    const opsSpec: RunSpec = {
      ...(egress ? { egress: egress.spec } : {}),
      statusPath: status.path,
      program,
      args,
      env: { ...prepared.env, ...options.env },
      cwd: options.cwd ?? prepared.cwd,
      timeoutMs: options.timeoutMs ?? prepared.timeoutMs,
      ...(options.tty ? { tty: { ...options.tty, control } } : {}),
      ...(stdioDir ? { stdio: { dir: stdioDir, stdin: stdinMode } } : {}),
    };
    // A prepared run's cgroup is named by the warm launcher.
    const ops = runOps(cgroupName && !warm ? { ...opsSpec, cgroupName } : opsSpec);
    if (options.tty) this.#tty = new TtyControl(control, () => !this.#exited);
    // A run's own output cap is what its result reports as enforced.
    const maxOutputBytes = options.maxOutputBytes ?? prepared.enforced.limits.maxOutputBytes;
    const enforced: Enforced = maxOutputBytes === prepared.enforced.limits.maxOutputBytes
      ? prepared.enforced
      : { ...prepared.enforced, limits: { ...prepared.enforced.limits, maxOutputBytes } };
    let frame: Uint8Array;
    try {
      frame = warm ? encodeFrame(ops) : joinFrames(prepared.frame, encodeFrame(ops));
    } catch (e) {
      status.cleanup();
      throw e;
    }
    let source: StdinSource;
    try {
      // Taken before the launcher starts, so a stream already being read is refused, not
      // half-fed.
      source = stdinSource(options);
    } catch (e) {
      status.cleanup();
      throw e;
    }
    let proc: Deno.ChildProcess | null = null;
    let fifo: FifoStdio | null = null;
    try {
      egress?.start();
    } catch (e) {
      status.cleanup();
      if (source instanceof ReadableStreamDefaultReader) source.releaseLock();
      throw e;
    }
    try {
      if (warm) {
        fifo = fifoStdio(stdioDir!, { stdin: stdinMode });
        this.#proc = startWarmRun(warm, fifo, ops, {
          launcher: prepared.launcher,
          frame: () =>
            joinFrames(
              prepared.frame,
              encodeFrame(runOps(cgroupName ? { ...opsSpec, cgroupName } : opsSpec)),
            ),
          statusPath: status.path,
          stdioDir: stdioDir!,
        }, premade !== null);
      } else {
        proc = spawnLauncher(prepared.launcher);
        const p = proc;
        this.#proc = { pid: p.pid, status: p.status, kill: (sig) => p.kill(sig) };
        // A sandbox with a warm launcher: its pool is woken once this run (which found no
        // prepared run) ended, not before, so that its prepares do not compete with it. Runs
        // that could not have gone through it (a terminal, egress) do not start it.
        const ended = warmable ? prepared.warm?.coldRun() : undefined;
        if (ended) p.status.then(ended, ended);
      }
    } catch (e) {
      // The proxy never served: closing it cannot fail, and nothing waits for its report.
      void egress?.finish();
      status.cleanup();
      if (source instanceof ReadableStreamDefaultReader) source.releaseLock();
      throw new SandboxError(
        `Cannot start the sandbox launcher "${prepared.launcher}": ${(e as Error).message}`,
      );
    }
    countRun(this.#proc.status);
    // One budget for both streams: past it, the sandbox is killed and what fits is kept.
    let budget = maxOutputBytes;
    // Each stream is read from its source (the FIFO, or the launcher's pipe) on demand, the cap
    // applied as bytes arrive; `drained` settles once the source hit EOF and every byte went
    // into the stream (the pid namespace is dead by then, so EOF comes promptly even if a daemon
    // had the pipe: nothing can hang the result).
    const drained = new Map<ReadableStream<Uint8Array>, Promise<void>>();
    const capped = (source: ByteSource) => {
      const s = sourceStream(source, (chunk) => {
        if (chunk.length <= budget) {
          budget -= chunk.length;
          return { chunk, end: false };
        }
        const part = budget > 0 ? chunk.subarray(0, budget) : null;
        budget = 0;
        this.#outputLimited = true;
        this.#terminate(false);
        return { chunk: part, end: true };
      });
      drained.set(s.stream, s.drained);
      return s.stream;
    };
    let writer: WritableStreamDefaultWriter<Uint8Array>;
    let frameWritten: Promise<void>;
    if (fifo) {
      // The warm launcher: the request went with start(), "ready" comes as its event.
      this.stdout = capped(fifo.stdout);
      this.stderr = capped(fifo.stderr);
      writer = (fifo.stdin ?? new WritableStream<Uint8Array>()).getWriter();
      frameWritten = Promise.resolve();
    } else if (stdioDir && proc) {
      fifo = fifoStdio(stdioDir, { stdin: stdinMode, fallbackStderr: proc.stderr });
      this.stdout = capped(fifo.stdout);
      this.stderr = capped(fifo.stderr);
      awaitReady(proc.stdout, fifo);
      // The launcher's stdin carries the frame only: the target's is the stdin FIFO.
      const launcherIn = proc.stdin.getWriter();
      launcherIn.write(frame).then(() => launcherIn.close()).catch(() => {});
      writer = (fifo.stdin ?? new WritableStream<Uint8Array>()).getWriter();
      frameWritten = Promise.resolve();
    } else {
      this.stdout = capped(readerSource(proc!.stdout));
      this.stderr = capped(readerSource(proc!.stderr));
      writer = proc!.stdin.getWriter();
      frameWritten = writer.write(frame);
    }
    // A launcher that dies before reading its frame fails this write; whoever awaits it (the
    // stdin feeder, a piped stdin's first write) sees that, but it must never go unhandled.
    frameWritten.catch(() => {});
    this.stdin = input === "piped" ? pipedStdin(writer, frameWritten) : null;
    if (input !== "piped") feedStdin(writer, frameWritten, source);
    const onAbort = () => this.#terminate();
    options.signal?.addEventListener("abort", onAbort, { once: true });
    this.status = this.#proc.status.then(async (st) => {
      this.#exited = true;
      // FIFO opens still waiting (a launcher that died before or during its opens) end now.
      fifo?.release();
      // Nothing reads the target's stdin any more: release the pipe even if the caller never
      // closes a piped stdin (a launcher that died after taking its frame left it open).
      if (input === "piped") writer.abort().catch(() => {});
      // Drained: the streams someone reads have delivered everything into them. A stream
      // nobody reads does not hold the result back.
      await Promise.all(
        [this.stdout, this.stderr].filter((s) => s.locked).map((s) => drained.get(s)),
      );
      clearTimeout(this.#killTimer);
      options.signal?.removeEventListener("abort", onAbort);
      // The sandbox is gone: nothing more comes through the proxy. Its report is final.
      const network = await egress?.finish();
      // A few hundred bytes, usually on tmpfs: read and remove synchronously (cheaper than a
      // trip through the thread pool).
      let text = "";
      try {
        text = Deno.readTextFileSync(status.path);
      } catch {
        // no status file: the launcher died early; decodeResult reports it
      } finally {
        status.cleanup();
      }
      const result = decodeResult(text, {
        mode: prepared.mode,
        enforced,
        // Op indexes count the static ops first, then this run's.
        opPath: (i, step) => {
          const n = prepared.staticOps.length;
          return opPath(i < n ? prepared.staticOps[i] : ops[i - n], step);
        },
        launcherCode: st.code,
        launcherSignal: st.signal,
        aborted: this.#aborted,
        forwarded: this.#forwarded,
        outputLimited: this.#outputLimited,
      });
      return network ? { ...result, network } : result;
    });
    // Callers read the output first and await status after: a setup error must not count as
    // an unhandled rejection meanwhile (Deno would end the process). Awaiting still rejects.
    this.status.catch(() => {});
  }

  /**
   * Sends a signal. `SIGKILL` (the default) and any signal that is not forwarded kill the whole
   * sandbox and still yield a result with `aborted: true`; the forwardable signals (`SIGHUP`,
   * `SIGINT`, `SIGQUIT`, `SIGTERM`, `SIGUSR1`, `SIGUSR2`, `SIGCONT`, `SIGWINCH`, `SIGALRM`) go to
   * the target. Does nothing once the sandbox has exited.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { SandboxBuilder } from "../mod.ts";
   *
   * const sandbox = new SandboxBuilder("kill").build();
   * const child = sandbox.spawn("sleep", ["10"]);
   * child.kill();
   * const result = await child.status;
   * assert.equal(result.aborted, true);
   * assert.equal(result.signal, "SIGKILL");
   *
   * const polite = sandbox.spawn("sleep", ["10"]);
   * setTimeout(() => polite.kill("SIGTERM"), 50); // forwarded to sleep
   * assert.equal((await polite.status).signal, "SIGTERM");
   * ```
   */
  kill(signal: Deno.Signal = "SIGKILL"): void {
    if (this.#exited) return;
    if (FORWARDED.has(signal)) {
      this.#forwarded.push(signal);
      try {
        this.#proc.kill(signal);
      } catch {
        // already gone
      }
      return;
    }
    this.#terminate();
  }

  /**
   * Changes the size of the run's terminal (`options.tty`): the program gets `SIGWINCH`.
   * Resolves once the launcher has the new size (at once when the run is over); the latest size
   * wins when calls overlap. A run without a terminal throws a `TypeError`.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { SandboxBuilder } from "../mod.ts";
   *
   * const sandbox = new SandboxBuilder("resize").timeout("10s").build();
   * const child = sandbox.spawn("sh", ["-c", "read x; stty size"], {
   *   tty: { cols: 80, rows: 24 },
   *   stdin: "piped",
   * });
   * await child.resize(132, 43);
   * const writer = child.stdin!.getWriter();
   * await writer.write(new TextEncoder().encode("go\n"));
   * const out = await new Response(child.stdout).text();
   * assert.match(out, /43 132\r\n$/);
   * await writer.close().catch(() => {});
   * assert.equal((await child.status).exitCode, 0);
   * ```
   */
  resize(cols: number, rows: number): Promise<void> {
    const size = validateTtySize({ cols, rows }, "size");
    if (!this.#tty) {
      return Promise.reject(
        new TypeError(`Cannot resize: this run has no terminal (spawn it with options.tty)`),
      );
    }
    return this.#tty.resize(size);
  }

  /** Kills the sandbox through the launcher, which then reports; escalates if it hangs. */
  #terminate(byCaller = true): void {
    if (this.#exited || this.#aborted || (!byCaller && this.#killTimer)) return;
    if (byCaller) this.#aborted = true;
    try {
      this.#proc.kill(KILL_SIGNAL);
    } catch {
      return;
    }
    this.#killTimer = setTimeout(() => {
      try {
        this.#proc.kill("SIGKILL");
      } catch {
        // gone
      }
    }, KILL_GRACE_MS);
  }

  /**
   * The lines of one stream as text (UTF-8, split on `\n`, without the newline; a last line
   * without a newline is yielded too). Takes that stream: read the other one separately or not
   * at all.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { SandboxBuilder } from "../mod.ts";
   *
   * const sandbox = new SandboxBuilder("lines").build();
   * const child = sandbox.spawn("sh", ["-c", "echo a >&2; printf 'b\\nc'"]);
   * const errors: string[] = [];
   * for await (const line of child.lines("stderr")) errors.push(line);
   * assert.deepEqual(errors, ["a"]);
   * ```
   */
  async *lines(stream: "stdout" | "stderr" = "stdout"): AsyncGenerator<string> {
    yield* textLines(stream === "stdout" ? this.stdout : this.stderr);
  }

  /**
   * Interleaves stdout and stderr chunks in arrival order, as raw bytes; ends when both streams
   * end. Takes both streams. Await `status` afterwards for the exit.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { SandboxBuilder } from "../mod.ts";
   *
   * const child = new SandboxBuilder("out").build().spawn("sh", ["-c", "yes | head -3"]);
   * let text = "";
   * for await (const chunk of child.output()) {
   *   if (chunk.stream === "stdout") text += new TextDecoder().decode(chunk.data);
   * }
   * assert.equal(text, "y\ny\ny\n");
   * assert.equal((await child.status).reason, "exited");
   * ```
   */
  async *output(): AsyncGenerator<OutputChunk> {
    yield* mergeStreams(this.stdout, this.stderr);
  }

  /**
   * Kills the sandbox if it still runs and waits until everything is cleaned up, for
   * `await using`.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { SandboxBuilder } from "../mod.ts";
   *
   * const sandbox = new SandboxBuilder("dispose").build();
   * let status;
   * {
   *   await using child = sandbox.spawn("sleep", ["10"]);
   *   status = child.status;
   * } // killed here
   * assert.equal((await status).aborted, true);
   * ```
   */
  async [Symbol.asyncDispose](): Promise<void> {
    this.kill();
    await this.stdout.cancel().catch(() => {});
    await this.stderr.cancel().catch(() => {});
    await this.status.catch(() => {});
  }
}

function opPath(op: Op | undefined, step: string): string | null {
  if (!op) return null;
  // The path the failed step was about: a bind's source when it could not be opened or
  // attached, its destination when the mount point could not be made (or went through a
  // refused symlink); the program for exec.
  // ("idmap" asks for the mount's target: a fallback record, not a failure.)
  const dest = step === "mkdir" || step === "dest-link" || step === "idmap";
  switch (op[0]) {
    case "ro-bind":
    case "bind":
    case "ro-bind-try":
    case "copy-try":
    case "overlay":
    case "ro-bind-idmap":
    case "bind-idmap":
    case "overlay-idmap":
      return (dest ? op[2] : op[1]) ?? null;
    case "overlay-keep":
    case "overlay-keep-idmap":
      return (dest ? op[4] : op[1]) ?? null;
    case "symlink":
      return op[2] ?? null;
    case "cgroupfs":
    case "file":
      return op[1] ?? null;
    case "memory-max":
    case "pids-max":
    case "cpu-max":
      return op[0]; // a limit knob, not a path
    case "host-ids":
      return `${op[1]}+${op[3]}`; // the range: first uid + count
    case "egress":
      return `127.0.0.1:${op[1]}`; // the listener inside the run's network namespace
    default:
      return op[1] ?? null;
  }
}

/** Runs to completion and captures stdout/stderr as bytes and as text. */
export async function runToCompletion(
  prepared: Prepared,
  command: Command,
  options: RunSettings,
): Promise<CapturedResult> {
  const child = new SandboxChild(prepared, command, options);
  const dec = new TextDecoder();
  const [out, err] = await Promise.all([collect(child.stdout), collect(child.stderr)]);
  try {
    const result = await child.status;
    return {
      ...result,
      stdout: dec.decode(out),
      stderr: dec.decode(err),
      stdoutBytes: out,
      stderrBytes: err,
    };
  } catch (e) {
    if (e instanceof SandboxSetupError) e.stderr = dec.decode(err);
    throw e;
  }
}
