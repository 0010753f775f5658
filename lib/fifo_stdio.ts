/**
 * A run's stdin, stdout and stderr as FIFOs in its private 0700 state dir: Deno cannot pass fds
 * to a process it did not start, so a run served by a launcher that is already running (a
 * prepared run, a session) gets its stdio through names both sides open.
 *
 * Interface: `fifoStdio(dir, options)` returns the run's stdio at once, before any FIFO exists:
 * `stdout` and `stderr` as byte sources (lib/byte_source.ts: lib/run.ts makes the caller's
 * streams of them), `stdin` writable or null. The launcher makes the FIFOs in `dir` (the host has
 * no mkfifo), opens its read end of stdin and says "ready" (launcher/request.c); then `open()`
 * opens the host's three ends at once: stdin for writing (the launcher's read end is already
 * open: no wait), stdout and stderr for reading (each completes when the launcher opens its write
 * end). Nothing waits on both sides at once, so no order deadlocks. `release()` ends whatever is
 * still waiting (the launcher died before or during its opens) and ends the sources (stdout
 * empty, stderr the fallback's); after the run it is a no-op for sources that already ended.
 * Backpressure is the FIFO's own (64 KiB, then the target's write blocks until the host reads),
 * and each source delivers its bytes in order; the output cap and the interleaving of the two
 * streams are the caller's (lib/run.ts), as with pipes.
 *
 * @module
 */

import {
  type ByteSource,
  emptySource,
  fileSource,
  lazySource,
  readerSource,
} from "./byte_source.ts";

/** The FIFOs' names inside the run's stdio dir (launcher/request.c makes them). */
export const FIFO_NAMES = { stdin: "stdin", stdout: "stdout", stderr: "stderr" } as const;

/** How the target's stdin is fed: through the stdin FIFO, or empty (no FIFO is made). */
export type FifoStdinMode = "fifo" | "null";

/** A run's stdio through FIFOs; see the module doc for the order of opens. */
export interface FifoStdio {
  /** The run's stdio dir. */
  readonly dir: string;
  /** The target's stdout. */
  readonly stdout: ByteSource;
  /** The target's stderr; when the FIFOs never opened, `fallbackStderr`'s bytes instead. */
  readonly stderr: ByteSource;
  /** The target's stdin with `stdin: "fifo"`, else null. */
  readonly stdin: WritableStream<Uint8Array> | null;
  /** Whether `open()` was called (the launcher said "ready"). */
  readonly opened: boolean;
  /** Opens the host's ends; call once the launcher said "ready". */
  open(): void;
  /** Unblocks opens still waiting and ends streams never opened; idempotent. */
  release(): void;
}

/** Options of {@linkcode fifoStdio}. */
export interface FifoStdioOptions {
  /** Whether the target's stdin is a FIFO (else an empty pipe made by the launcher). */
  stdin: FifoStdinMode;
  /**
   * What the run's stderr carries when the FIFOs never opened (the launcher's own stderr, with
   * its message about a setup that failed before the run's stdio existed). Drained otherwise.
   */
  fallbackStderr?: ReadableStream<Uint8Array>;
}

/** One FIFO end being opened: the open (a thread of Deno's pool waits in it) and its state. */
interface PendingOpen {
  path: string;
  file: Promise<Deno.FsFile> | null;
  done: boolean;
}

/** The run's stdio through FIFOs in `dir` (see the module doc). */
export function fifoStdio(dir: string, options: FifoStdioOptions): FifoStdio {
  const ends: PendingOpen[] = [];
  const pending = (name: string): PendingOpen => {
    const p: PendingOpen = { path: `${dir}/${name}`, file: null, done: false };
    ends.push(p);
    return p;
  };
  const out = pending(FIFO_NAMES.stdout);
  const err = pending(FIFO_NAMES.stderr);
  const inp = options.stdin === "fifo" ? pending(FIFO_NAMES.stdin) : null;
  // Which sources the run's output comes from is known once the FIFOs open or never will.
  let chooseOut: (s: ByteSource) => void = () => {};
  let chooseErr: (s: ByteSource) => void = () => {};
  const stdout = lazySource(new Promise((r) => (chooseOut = r)));
  const stderr = lazySource(new Promise((r) => (chooseErr = r)));
  let opened = false;
  let released = false;
  let resolveIn: (f: Deno.FsFile | null) => void = () => {};
  const inFile = new Promise<Deno.FsFile | null>((r) => (resolveIn = r));
  let inWriter: WritableStreamDefaultWriter<Uint8Array> | null = null;
  const writer = async () => {
    if (inWriter) return inWriter;
    const f = await inFile;
    if (!f) throw new Deno.errors.BrokenPipe("The run's stdin was never opened");
    return (inWriter ??= f.writable.getWriter());
  };
  const stdin = inp
    ? new WritableStream<Uint8Array>({
      async write(chunk) {
        await (await writer()).write(chunk);
      },
      async close() {
        await (await writer()).close();
      },
      async abort() {
        const f = await inFile;
        if (!f) return;
        await (inWriter ?? f.writable).abort().catch(() => {});
      },
    })
    : null;
  const start = (end: PendingOpen, read: boolean) => {
    end.file = Deno.open(end.path, read ? { read: true } : { write: true });
    end.file.then(() => (end.done = true), () => (end.done = true));
    return end.file;
  };
  return {
    dir,
    stdout,
    stderr,
    stdin,
    get opened() {
      return opened;
    },
    open() {
      if (opened || released) return;
      opened = true;
      // Cancelled: the launcher's stderr is not the run's once the FIFOs exist.
      options.fallbackStderr?.cancel().catch(() => {});
      // A failed open or a cancelled reader ends the source; the target sees EPIPE as with a
      // pipe.
      chooseOut(fileSource(start(out, true)));
      chooseErr(fileSource(start(err, true)));
      if (inp) start(inp, false).then(resolveIn, () => resolveIn(null));
    },
    release() {
      if (released) return;
      released = true;
      if (!opened) {
        resolveIn(null);
        chooseOut(emptySource());
        const fallback = options.fallbackStderr;
        chooseErr(fallback ? readerSource(fallback) : emptySource());
        return;
      }
      // An open still waiting gets its other end from us: a read-write open of a FIFO never
      // blocks (Linux), so the waiting open completes; closing ours then leaves the stream at
      // end of file (or the target's stdin without a reader).
      for (const end of ends) {
        if (end.done) continue;
        try {
          Deno.openSync(end.path, { read: true, write: true }).close();
        } catch {
          // gone with its dir: the waiting open fails instead
        }
      }
    },
  };
}
