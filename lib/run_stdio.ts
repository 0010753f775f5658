/**
 * A run's stdio plumbing, host side: feeding the target's stdin (piped, `input`, or a caller's
 * stream), waiting for the launcher's "ready" before the FIFOs open, merging stdout and stderr
 * into one ordered stream, and collecting a stream's bytes.
 *
 * @module
 */

import type { FifoStdio } from "./fifo_stdio.ts";
import type { RunSettings } from "./run_options.ts";

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

/**
 * Opens the run's FIFOs once the launcher said "ready" on its stdout (its only line there); the
 * rest of its stdout is drained.
 */
export function awaitReady(stdout: ReadableStream<Uint8Array>, fifo: FifoStdio): void {
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

export function pipedStdin(
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
export type StdinSource = string | Uint8Array | ReadableStreamDefaultReader<Uint8Array> | null;

/**
 * The stdin source of a run; a stream's reader is taken here, synchronously, so that a stream
 * someone else reads (this process's stdin under another run) is refused before anything starts.
 */
export function stdinSource(options: RunSettings): StdinSource {
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
export function feedStdin(
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

export async function* mergeStreams(
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

/** A stream's lines as text, without the newline; a last line without one comes too. */
export async function* textLines(stream: ReadableStream<Uint8Array>): AsyncGenerator<string> {
  let rest = "";
  for await (const text of stream.pipeThrough(new TextDecoderStream())) {
    const parts = (rest + text).split("\n");
    rest = parts.pop()!;
    yield* parts;
  }
  if (rest) yield rest;
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
