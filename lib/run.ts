/**
 * One run's lifecycle: a private status dir, the launcher process, stdin, kill/abort, the
 * result, and cleanup on every path.
 *
 * @module
 */

import { FORWARDED_SIGNALS, KILL_SIGNAL } from "./abi.ts";
import { encodeFrame, joinFrames } from "./config.ts";
import { type FifoStdio, fifoStdio } from "./fifo_stdio.ts";
import { SandboxError, SandboxSetupError } from "./errors.ts";
import { runOps } from "./policy.ts";
import { makeRunStatus } from "./rundir.ts";
import { runCgroupName } from "./cgroups.ts";
import { spawnLauncher } from "./spawn.ts";
import { decodeResult } from "./status.ts";
import type { CapturedResult, Enforced, ResolvedMode, SandboxResult } from "./types.ts";
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
  /**
   * How a run's stdio reaches the target: the launcher's own pipes (`"pipes"`, the default), or
   * FIFOs in the run's private state dir sent to init with the per-run request (`"fifos"`,
   * lib/fifo_stdio.ts, launcher/request.c: the channel a launcher that is already running uses).
   */
  stdio?: "pipes" | "fifos";
}

/** A validated program and its arguments. */
export interface Command {
  program: string;
  args: readonly string[];
}

/**
 * One chunk of output from `SandboxChild.output()`: the bytes of one read from one stream (not a
 * line), in arrival order. The seed's `StreamChunk::Stdout`/`Stderr`, as raw bytes.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { type OutputChunk, SandboxBuilder } from "../mod.ts";
 *
 * const child = new SandboxBuilder("chunks").build().spawn("sh", ["-c", "echo out; echo err >&2"]);
 * const chunks: OutputChunk[] = [];
 * for await (const chunk of child.output()) chunks.push(chunk);
 * const decoder = new TextDecoder();
 * const text = (stream: string) =>
 *   chunks.filter((c) => c.stream === stream).map((c) => decoder.decode(c.data)).join("");
 * assert.equal(text("stdout"), "out\n");
 * assert.equal(text("stderr"), "err\n");
 * ```
 */
export interface OutputChunk {
  /** Which stream the bytes came from. */
  stream: "stdout" | "stderr";
  /** The bytes, as read. */
  data: Uint8Array;
}

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
  /** The launcher's pid on the host (the target's own pid is 2 inside its pid namespace). */
  readonly pid: number;
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
  #proc: Deno.ChildProcess;
  #aborted = false;
  /** The signals kill() forwarded, in order. */
  #forwarded: string[] = [];
  #outputLimited = false;
  #exited = false;
  #killTimer: ReturnType<typeof setTimeout> | undefined;

  /** @internal Use `Sandbox.spawn()`. */
  constructor(prepared: Prepared, command: Command, options: RunSettings) {
    const { program, args } = command;
    options.signal?.throwIfAborted();
    const status = makeRunStatus();
    const fifos = prepared.stdio === "fifos";
    const input = options.stdin;
    let stdioDir: string | undefined;
    try {
      if (fifos) stdioDir = status.makeStdioDir();
    } catch (e) {
      status.cleanup();
      throw e;
    }
    // An empty stdin needs no FIFO: the launcher gives the target an empty pipe.
    const stdinMode = input === "null" ? "null" : "fifo";
    const ops = runOps({
      statusPath: status.path,
      ...(prepared.cgroupId ? { cgroupName: runCgroupName(prepared.cgroupId) } : {}),
      program,
      args,
      env: { ...prepared.env, ...options.env },
      cwd: options.cwd ?? prepared.cwd,
      timeoutMs: options.timeoutMs ?? prepared.timeoutMs,
      ...(stdioDir ? { stdio: { dir: stdioDir, stdin: stdinMode } } : {}),
    });
    // A run's own output cap is what its result reports as enforced.
    const maxOutputBytes = options.maxOutputBytes ?? prepared.enforced.limits.maxOutputBytes;
    const enforced: Enforced = maxOutputBytes === prepared.enforced.limits.maxOutputBytes
      ? prepared.enforced
      : { ...prepared.enforced, limits: { ...prepared.enforced.limits, maxOutputBytes } };
    let frame: Uint8Array;
    try {
      frame = joinFrames(prepared.frame, encodeFrame(ops));
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
    try {
      this.#proc = spawnLauncher(prepared.launcher);
    } catch (e) {
      status.cleanup();
      if (source instanceof ReadableStreamDefaultReader) source.releaseLock();
      throw new SandboxError(
        `Cannot start the sandbox launcher "${prepared.launcher}": ${(e as Error).message}`,
      );
    }
    this.pid = this.#proc.pid;
    // One budget for both streams: past it, the sandbox is killed and what fits is kept.
    let budget = maxOutputBytes;
    // Each pipe is pumped into a capped transform; `pumped` settles once the launcher's pipe hit
    // EOF and every byte went into the transform (the pid namespace is dead by then, so EOF
    // comes promptly even if a daemon had the pipe: nothing can hang the result).
    const pumped = new Map<ReadableStream<Uint8Array>, Promise<void>>();
    const capped = (stream: ReadableStream<Uint8Array>) => {
      const ts = new TransformStream<Uint8Array, Uint8Array>({
        transform: (chunk, ctl) => {
          if (chunk.length <= budget) {
            budget -= chunk.length;
            ctl.enqueue(chunk);
            return;
          }
          if (budget > 0) ctl.enqueue(chunk.subarray(0, budget));
          budget = 0;
          this.#outputLimited = true;
          this.#terminate(false);
          ctl.terminate();
        },
      });
      pumped.set(ts.readable, stream.pipeTo(ts.writable).catch(() => {}));
      return ts.readable;
    };
    let fifo: FifoStdio | null = null;
    let writer: WritableStreamDefaultWriter<Uint8Array>;
    let frameWritten: Promise<void>;
    if (stdioDir) {
      fifo = fifoStdio(stdioDir, { stdin: stdinMode, fallbackStderr: this.#proc.stderr });
      this.stdout = capped(fifo.stdout);
      this.stderr = capped(fifo.stderr);
      awaitReady(this.#proc.stdout, fifo);
      // The launcher's stdin carries the frame only: the target's is the stdin FIFO.
      const launcherIn = this.#proc.stdin.getWriter();
      launcherIn.write(frame).then(() => launcherIn.close()).catch(() => {});
      writer = (fifo.stdin ?? new WritableStream<Uint8Array>()).getWriter();
      frameWritten = Promise.resolve();
    } else {
      this.stdout = capped(this.#proc.stdout);
      this.stderr = capped(this.#proc.stderr);
      writer = this.#proc.stdin.getWriter();
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
        [this.stdout, this.stderr].filter((s) => s.locked).map((s) => pumped.get(s)),
      );
      clearTimeout(this.#killTimer);
      options.signal?.removeEventListener("abort", onAbort);
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
      return decodeResult(text, {
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
    let rest = "";
    const source = (stream === "stdout" ? this.stdout : this.stderr).pipeThrough(
      new TextDecoderStream(),
    );
    for await (const text of source) {
      const parts = (rest + text).split("\n");
      rest = parts.pop()!;
      yield* parts;
    }
    if (rest) yield rest;
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

/**
 * Opens the run's FIFOs once the launcher said "ready" on its stdout (its only line there); the
 * rest of its stdout is drained.
 */
function awaitReady(stdout: ReadableStream<Uint8Array>, fifo: FifoStdio): void {
  (async () => {
    let seen = "";
    for await (const chunk of stdout) {
      if (fifo.opened) continue;
      seen += new TextDecoder().decode(chunk);
      if (seen.includes("ready\n")) fifo.open();
    }
  })().catch(() => {
    // The launcher's stdout failed: release() at exit ends what waits.
  });
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
    default:
      return op[1] ?? null;
  }
}

function pipedStdin(
  writer: WritableStreamDefaultWriter<Uint8Array>,
  ready: Promise<void>,
): WritableStream<Uint8Array> {
  return new WritableStream<Uint8Array>({
    async write(chunk) {
      await ready;
      await writer.write(chunk);
    },
    async close() {
      await ready;
      await writer.close();
    },
    async abort() {
      await writer.abort().catch(() => {});
    },
  });
}

/** What feeds the target's stdin: data, a reader already taken from a stream, or nothing. */
type StdinSource = string | Uint8Array | ReadableStreamDefaultReader<Uint8Array> | null;

/**
 * The stdin source of a run; a stream's reader is taken here, synchronously, so that a stream
 * someone else reads (this process's stdin under another run) is refused before anything starts.
 */
function stdinSource(options: RunSettings): StdinSource {
  // "inherit": this process's stdin as bytes (the target never gets the terminal itself).
  const stream = options.stdin === "inherit"
    ? Deno.stdin.readable
    : options.input instanceof ReadableStream
    ? options.input
    : null;
  if (stream?.locked) {
    throw new RangeError(
      options.stdin === "inherit"
        ? `Invalid options.stdin "inherit": this process's stdin is already being read (by another run or by the caller)`
        : `Invalid options.input: the stream is locked (already being read)`,
    );
  }
  if (stream) return stream.getReader();
  return options.stdin === "input" ? options.input as string | Uint8Array : null;
}

/** Writes `source` (none: an empty stdin) after the frame, then closes the target's stdin. */
function feedStdin(
  writer: WritableStreamDefaultWriter<Uint8Array>,
  ready: Promise<void>,
  source: StdinSource,
): void {
  const done = (async () => {
    await ready;
    // A string is data, whatever it says ("null" and "piped" included): modes are `stdin`'s.
    if (typeof source === "string") {
      if (source) await writer.write(new TextEncoder().encode(source));
    } else if (source instanceof Uint8Array) {
      await writer.write(source);
    } else if (source) {
      try {
        for (let r = await source.read(); !r.done; r = await source.read()) {
          await writer.write(r.value);
        }
      } catch (e) {
        // The target went away first: stop reading the source.
        await source.cancel().catch(() => {});
        throw e;
      }
    }
    await writer.close();
  })();
  // The target may exit without reading its input (EPIPE): that is not an error.
  done.catch(() => writer.abort().catch(() => {}));
}

async function* mergeStreams(
  a: ReadableStream<Uint8Array>,
  b: ReadableStream<Uint8Array>,
): AsyncGenerator<OutputChunk> {
  const readers = [
    { stream: "stdout" as const, reader: a.getReader() },
    { stream: "stderr" as const, reader: b.getReader() },
  ];
  const pending = new Map<
    number,
    Promise<{ i: number; r: ReadableStreamReadResult<Uint8Array> }>
  >();
  const pull = (i: number) => pending.set(i, readers[i]!.reader.read().then((r) => ({ i, r })));
  pull(0);
  pull(1);
  try {
    while (pending.size) {
      const { i, r } = await Promise.race(pending.values());
      if (r.done) {
        pending.delete(i);
        continue;
      }
      pull(i);
      yield { stream: readers[i]!.stream, data: r.value };
    }
  } finally {
    for (const { reader } of readers) reader.releaseLock();
  }
}

/** Reads a whole stream into one byte array. */
export async function collect(stream: ReadableStream<Uint8Array>): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  let len = 0;
  for await (const c of stream) {
    chunks.push(c);
    len += c.length;
  }
  const out = new Uint8Array(len);
  let off = 0;
  for (const c of chunks) {
    out.set(c, off);
    off += c.length;
  }
  return out;
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
