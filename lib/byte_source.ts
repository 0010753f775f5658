/**
 * A run's output as one stream per pipe: the bytes are read on demand from their source (a FIFO
 * the host opened, or a pipe Deno made) straight into the stream the caller reads, with the run's
 * output cap applied as they arrive. One `ReadableStream` per output, where the file's own stream
 * was piped through two transforms: at eight runs in flight those streams and pipes took about a
 * third of Deno's main-thread CPU samples (`perf`), and Deno's CPU per warm run went from
 * 2.25-2.35 ms to 2.0 ms with one stream.
 *
 * Interface: a {@linkcode ByteSource} is read one chunk at a time (null at its end) and can be
 * cancelled; {@linkcode fileSource}, {@linkcode readerSource}, {@linkcode lazySource} and
 * {@linkcode emptySource} make them; {@linkcode sourceStream} turns one into the stream.
 *
 * @module
 */

/** Bytes read on demand: `read()` gives the next chunk, or null once the source ended. */
export interface ByteSource {
  read(): Promise<Uint8Array | null>;
  /** Ends the source (closing what it holds); a read in flight then ends it too. Idempotent. */
  cancel(): void;
}

/** The size of one read: a FIFO's or a pipe's default capacity. */
const CHUNK = 64 * 1024;

/** A source with nothing in it. */
export function emptySource(): ByteSource {
  return { read: () => Promise.resolve(null), cancel: () => {} };
}

/**
 * The bytes of a file being opened (a FIFO's read end: its open completes when the writer opens
 * its end). A failed open or read ends the source, as a broken pipe would; the file is closed at
 * the end, on cancel, or both.
 */
export function fileSource(opening: Promise<Deno.FsFile>): ByteSource {
  let file: Deno.FsFile | null = null;
  let ended = false;
  /** The last read's buffer, when that read was short (taken by a read while it runs). */
  let spare: Uint8Array | null = null;
  const closeQuietly = (f: Deno.FsFile | null) => {
    try {
      f?.close();
    } catch {
      // closed already
    }
  };
  const end = () => {
    if (ended) return;
    ended = true;
    closeQuietly(file);
  };
  // Closed as soon as it opens, if the source was cancelled meanwhile (end() then had no file
  // to close).
  opening.then((f) => {
    file = f;
    if (ended) closeQuietly(f);
  }, end);
  return {
    async read() {
      try {
        const f = file ?? await opening;
        if (ended) return null;
        // A short read is copied out and its buffer kept for the next read: a chunk of a few
        // bytes does not hold 64 KiB alive in whatever keeps it (a caller's list of chunks).
        const buf = spare ?? new Uint8Array(CHUNK);
        spare = null;
        const n = await f.read(buf);
        if (n !== null && n <= CHUNK / 4) {
          spare = buf;
          return buf.slice(0, n);
        }
        if (n !== null) return buf.subarray(0, n);
      } catch {
        // failed open, or closed under the read by cancel()
      }
      end();
      return null;
    },
    cancel: end,
  };
}

/** The chunks of a reader (a pipe's stream that Deno made). */
export function readerSource(stream: ReadableStream<Uint8Array>): ByteSource {
  const reader = stream.getReader();
  let ended = false;
  const end = () => {
    if (ended) return;
    ended = true;
    reader.cancel().catch(() => {});
  };
  return {
    async read() {
      if (ended) return null;
      try {
        const r = await reader.read();
        if (!r.done) return r.value;
      } catch {
        // the pipe failed: its end
      }
      end();
      return null;
    },
    cancel: end,
  };
}

/** A source chosen later (which one depends on how the run's start went). */
export function lazySource(choice: Promise<ByteSource>): ByteSource {
  let cancelled = false;
  return {
    async read() {
      const s = await choice;
      return cancelled ? null : s.read();
    },
    cancel() {
      cancelled = true;
      choice.then((s) => s.cancel(), () => {});
    },
  };
}

/** What a stream made by {@linkcode sourceStream} reports about its source. */
export interface SourceStream {
  stream: ReadableStream<Uint8Array>;
  /** Settles once the source ended or was cancelled: every byte it gave is in the stream. */
  drained: Promise<void>;
}

/**
 * The stream of a source's bytes. It reads ahead up to `CHUNK` bytes while nobody reads (as a
 * pipe's buffer would: a short output is complete, and its source closed, without a reader),
 * then waits for the reader. `take` sees each chunk first and returns what goes into the stream
 * and whether the stream ends after it (the output cap); the source is then cancelled.
 */
export function sourceStream(
  source: ByteSource,
  take: (chunk: Uint8Array) => { chunk: Uint8Array | null; end: boolean } = (chunk) => ({
    chunk,
    end: false,
  }),
): SourceStream {
  let drainedNow: () => void = () => {};
  const drained = new Promise<void>((r) => (drainedNow = r));
  // Cancelled by the reader while a read was in flight: that read's bytes go nowhere.
  let cancelled = false;
  const stream = new ReadableStream<Uint8Array>({
    async pull(ctl) {
      const chunk = await source.read();
      if (cancelled) return;
      if (chunk === null) {
        ctl.close();
        drainedNow();
        return;
      }
      const t = take(chunk);
      if (t.chunk?.length) ctl.enqueue(t.chunk);
      if (!t.end) return;
      source.cancel();
      ctl.close();
      drainedNow();
    },
    cancel() {
      cancelled = true;
      source.cancel();
      drainedNow();
    },
  }, new ByteLengthQueuingStrategy({ highWaterMark: CHUNK }));
  return { stream, drained };
}
