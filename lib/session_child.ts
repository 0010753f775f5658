/**
 * {@linkcode SessionChild}: one command inside a session — streams, stdin, kill, abort and a
 * result shaped like a one-shot run's.
 *
 * @module
 */

import { errnoName } from "./errno.ts";
import {
  ProgramNotExecutableError,
  ProgramNotFoundError,
  SandboxSetupError,
  type SetupFailure,
} from "./errors.ts";
import { mergeStreams, type OutputChunk, textLines } from "./run_stdio.ts";
import { type SessionChannel, SessionClosedError } from "./session_channel.ts";
import { CHUNK, FRAME, type Frame, splitTokens } from "./session_wire.ts";
import { signalName, signalNumber } from "./status.ts";
import type { SetupStep } from "./abi.ts";
import type {
  CapturedResult,
  Enforced,
  ResolvedMode,
  SandboxReason,
  SandboxResult,
} from "./types.ts";
import type { RunSettings } from "./run_options.ts";
import { validateTtySize } from "./tty.ts";

/** @internal What a session's commands share. */
export interface SessionContext {
  channel: SessionChannel;
  mode: ResolvedMode;
  enforced: Enforced;
  env: Record<string, string>;
  /** The egress proxy's variables (none without an allow-list), over every command's env. */
  proxyEnv: Record<string, string>;
  cwd: string;
  /** The default per-command wall clock in ms, or null. */
  timeoutMs: number | null;
  maxOutputBytes: number;
}

const REASONS = new Set<SandboxReason>(["exited", "signaled", "timeout", "output-limit", "memory"]);

/**
 * A command running inside a {@linkcode SandboxSession}, from `session.spawn()`: the same shape as
 * {@linkcode SandboxChild}. The command is over when its first process exits; processes it left
 * in the background keep running in the session (their output is no longer collected).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { SandboxBuilder } from "../mod.ts";
 *
 * await using session = await new SandboxBuilder("spawn").build().session();
 * const child = session.spawn("sh", ["-c", "echo one; echo two"]);
 * const lines: string[] = [];
 * for await (const line of child.lines()) lines.push(line);
 * assert.deepEqual(lines, ["one", "two"]);
 * assert.equal((await child.status).exitCode, 0);
 * ```
 */
export class SessionChild implements AsyncDisposable {
  /** The command's stdout, as raw bytes. */
  readonly stdout: ReadableStream<Uint8Array>;
  /** The command's stderr, as raw bytes. */
  readonly stderr: ReadableStream<Uint8Array>;
  /** The command's stdin with `stdin: "piped"`, else null. Close it to send end-of-file. */
  readonly stdin: WritableStream<Uint8Array> | null;
  /** Resolves with the result once the command's first process has exited. */
  readonly status: Promise<SandboxResult>;
  #ctx: SessionContext;
  #id: number;
  #aborted = false;
  #done = false;
  #ack: (() => void) | null = null;
  #tty = false;
  #started: Promise<void> = Promise.resolve();

  /** @internal Use `session.spawn()`. */
  constructor(
    ctx: SessionContext,
    command: { program: string; args: readonly string[] },
    options: RunSettings,
  ) {
    options.signal?.throwIfAborted();
    this.#ctx = ctx;
    const controllers: ReadableStreamDefaultController<Uint8Array>[] = [];
    const stream = () =>
      new ReadableStream<Uint8Array>({
        start: (c) => void controllers.push(c),
        // Nobody reads it any more: what arrives later is dropped.
        cancel: () => {},
      });
    this.stdout = stream();
    this.stderr = stream();
    const [out, err] = controllers as [
      ReadableStreamDefaultController<Uint8Array>,
      ReadableStreamDefaultController<Uint8Array>,
    ];
    const closeStreams = () => {
      for (const c of [out, err]) {
        try {
          c.close();
        } catch {
          // cancelled by the reader, or closed already
        }
      }
    };
    let settle!: { resolve: (r: SandboxResult) => void; reject: (e: unknown) => void };
    this.status = new Promise((resolve, reject) => settle = { resolve, reject });
    // Read output first and status after: a failure must not count as unhandled meanwhile.
    this.status.catch(() => {});
    const onAbort = () => this.kill();
    this.#id = ctx.channel.open((f) => {
      if (!f) {
        this.#finish();
        closeStreams();
        settle.reject(new SessionClosedError(`The session ended while "${command.program}" ran`));
        return;
      }
      if (f.type === FRAME.STDOUT || f.type === FRAME.STDERR) {
        try {
          (f.type === FRAME.STDOUT ? out : err).enqueue(f.payload);
        } catch {
          // that stream was cancelled: dropped
        }
      } else if (f.type === FRAME.STDIN_ACK) {
        this.#ack?.();
      } else if (f.type === FRAME.EXIT || f.type === FRAME.SPAWN_FAILED) {
        this.#finish();
        options.signal?.removeEventListener("abort", onAbort);
        closeStreams();
        if (f.type === FRAME.EXIT) settle.resolve(this.#result(f));
        else settle.reject(spawnError(f, command.program, options.cwd ?? ctx.cwd));
      }
    });
    const env = { ...ctx.env, ...options.env, ...ctx.proxyEnv };
    const timeoutMs = options.timeoutMs ?? ctx.timeoutMs;
    const input = options.stdin;
    const tokens = [
      options.cwd ?? ctx.cwd,
      String(timeoutMs ?? 0),
      String(options.maxOutputBytes ?? ctx.maxOutputBytes),
      options.tty
        ? `tty:${options.tty.cols}:${options.tty.rows}`
        : input === "null"
        ? "null"
        : "piped",
      String(Object.keys(env).length),
      ...Object.entries(env).map(([k, v]) => `${k}=${v}`),
      command.program,
      ...command.args,
    ];
    const started = ctx.channel.send(FRAME.SPAWN, this.#id, tokens);
    started.catch((e) => settle.reject(e));
    this.#started = started;
    this.#tty = options.tty !== undefined;
    options.signal?.addEventListener("abort", onAbort, { once: true });
    this.stdin = input === "piped" ? this.#stdinStream(started) : null;
    if (input === "input" || input === "inherit") {
      const source = input === "inherit" ? Deno.stdin.readable : options.input;
      this.#feed(started, source ?? "").catch(() => {});
    }
  }

  /**
   * Changes the size of the command's terminal (`options.tty`): the program gets `SIGWINCH`.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { SandboxBuilder } from "../mod.ts";
   *
   * await using session = await new SandboxBuilder("resize").build().session();
   * const child = session.spawn("sh", ["-c", "read x; stty size"], {
   *   tty: { cols: 80, rows: 24 },
   *   stdin: "piped",
   * });
   * await child.resize(132, 43);
   * const w = child.stdin!.getWriter();
   * await w.write(new TextEncoder().encode("\n"));
   * await w.close();
   * assert.match(await new Response(child.stdout).text(), /43 132\r\n$/);
   * ```
   */
  resize(cols: number, rows: number): Promise<void> {
    try {
      const size = validateTtySize({ cols, rows }, "resize");
      if (!this.#tty) {
        throw new TypeError(
          `Cannot resize: this command has no terminal (spawn it with options.tty)`,
        );
      }
      if (this.#done) return Promise.resolve();
      return this.#started.then(() =>
        this.#ctx.channel.send(FRAME.RESIZE, this.#id, [`${size.cols} ${size.rows}`])
      );
    } catch (e) {
      return Promise.reject(e);
    }
  }

  #finish(): void {
    if (this.#done) return;
    this.#done = true;
    this.#ack?.();
    this.#ctx.channel.release(this.#id);
  }

  /** Sends one chunk and waits until the agent has written it to the command. */
  async #write(chunk: Uint8Array): Promise<void> {
    for (let off = 0; off < chunk.length && !this.#done; off += CHUNK) {
      const acked = new Promise<void>((r) => this.#ack = r);
      await this.#ctx.channel.send(FRAME.STDIN, this.#id, [], chunk.subarray(off, off + CHUNK));
      await acked;
    }
  }

  async #eof(): Promise<void> {
    if (!this.#done) await this.#ctx.channel.send(FRAME.STDIN_EOF, this.#id);
  }

  #stdinStream(started: Promise<void>): WritableStream<Uint8Array> {
    return new WritableStream<Uint8Array>({
      write: async (chunk) => {
        await started;
        await this.#write(chunk);
      },
      close: async () => {
        await started;
        await this.#eof();
      },
      abort: async () => {
        await this.#eof().catch(() => {});
      },
    });
  }

  async #feed(started: Promise<void>, source: string | Uint8Array | ReadableStream<Uint8Array>) {
    await started;
    if (typeof source === "string") {
      await this.#write(new TextEncoder().encode(source));
    } else if (source instanceof Uint8Array) {
      await this.#write(source);
    } else {
      for await (const chunk of source) {
        if (this.#done) break;
        await this.#write(chunk);
      }
    }
    await this.#eof();
  }

  #result(f: Frame): SandboxResult {
    const [code, sig, reason, wall, user, sys, rss] = splitTokens(f.payload).tokens;
    const exitCode = Number(code);
    const signal = Number(sig);
    const r: SandboxReason = REASONS.has(reason as SandboxReason)
      ? reason as SandboxReason
      : "signaled";
    const cpuUserUs = Number(user) || 0;
    const cpuSystemUs = Number(sys) || 0;
    return {
      exitCode: exitCode >= 0 ? exitCode : null,
      signal: signal ? signalName(signal) : null,
      reason: r,
      success: r === "exited" && exitCode === 0 && !this.#aborted,
      timedOut: r === "timeout",
      oomKilled: r === "memory",
      aborted: this.#aborted,
      wallTimeMs: (Number(wall) || 0) / 1000,
      cpuTimeUs: cpuUserUs + cpuSystemUs,
      cpuUserUs,
      cpuSystemUs,
      memoryPeakBytes: (Number(rss) || 0) * 1024,
      memoryPeakSource: "rusage",
      pidsLimitHit: false,
      seccompViolation: null,
      seccompViolations: 0,
      killedBySeccomp: false,
      mode: this.#ctx.mode,
      enforced: this.#ctx.enforced,
    };
  }

  /**
   * Sends a signal to the command's process group (`SIGKILL` by default, which marks the result
   * `aborted`). Does nothing once the command is over.
   */
  kill(signal: Deno.Signal = "SIGKILL"): void {
    if (this.#done) return;
    const n = signalNumber(signal);
    if (n === undefined) throw new TypeError(`Invalid signal "${signal}"`);
    if (n === 9) this.#aborted = true;
    this.#ctx.channel.send(FRAME.KILL, this.#id, [String(n)]).catch(() => {
      // the session ended: the command is gone with it
    });
  }

  /** The lines of one stream as text, without the newline. Takes that stream. */
  async *lines(stream: "stdout" | "stderr" = "stdout"): AsyncGenerator<string> {
    yield* textLines(stream === "stdout" ? this.stdout : this.stderr);
  }

  /** Interleaves stdout and stderr chunks in arrival order. Takes both streams. */
  async *output(): AsyncGenerator<OutputChunk> {
    yield* mergeStreams(this.stdout, this.stderr);
  }

  /** Kills the command if it still runs and waits for its result, for `await using`. */
  async [Symbol.asyncDispose](): Promise<void> {
    this.kill();
    await this.status.catch(() => {});
  }
}

function spawnError(f: Frame, program: string, cwd: string): Error {
  const [stage, err] = splitTokens(f.payload).tokens;
  const errno = errnoName(Number(err));
  const step: SetupStep = stage === "chdir" || stage === "fork" || stage === "pipe" ||
      stage === "tty" || stage === "seccomp"
    ? stage
    : "exec";
  const failure: SetupFailure = {
    step,
    errno,
    path: step === "chdir" ? cwd : step === "tty" ? "/dev/pts/ptmx" : program,
    exitCode: step !== "exec" ? 125 : errno === "ENOENT" ? 127 : errno === "EACCES" ? 126 : 125,
  };
  if (failure.exitCode === 127) return new ProgramNotFoundError(failure);
  if (failure.exitCode === 126) return new ProgramNotExecutableError(failure);
  return new SandboxSetupError(failure);
}

/** Runs a command to completion and captures its output. */
export async function captureChild(child: SessionChild): Promise<CapturedResult> {
  const dec = new TextDecoder();
  const [out, err] = await Promise.all([
    new Response(child.stdout).bytes(),
    new Response(child.stderr).bytes(),
  ]);
  const result = await child.status;
  return {
    ...result,
    stdout: dec.decode(out),
    stderr: dec.decode(err),
    stdoutBytes: out,
    stderrBytes: err,
  };
}
