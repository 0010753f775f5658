// A run's output streams (lib/byte_source.ts): read ahead like a pipe's buffer, the cap applied
// as bytes arrive, and the source closed on every way out (its end, the cap, a reader's cancel).
// Real files and FIFOs, no sandbox: the run-level behaviour is in streaming_test.ts and
// fifo_stdio_test.ts.
import { assert, assertEquals } from "./_assert.ts";
import {
  type ByteSource,
  fileSource,
  lazySource,
  readerSource,
  sourceStream,
} from "../lib/byte_source.ts";
import { collect } from "../lib/run_stdio.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

/** A source of fixed chunks that records its reads and its cancel. */
function chunks(parts: string[]): ByteSource & { reads: number; cancelled: boolean } {
  const s = {
    reads: 0,
    cancelled: false,
    read() {
      s.reads++;
      const p = s.cancelled ? undefined : parts.shift();
      return Promise.resolve(p === undefined ? null : enc.encode(p));
    },
    cancel() {
      s.cancelled = true;
    },
  };
  return s;
}

/** Resolves once `ok()` holds (a few seconds at most). */
async function until(what: string, ok: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !ok(); i++) await new Promise((r) => setTimeout(r, 10));
  assert(ok(), `timed out waiting for ${what}`);
}

Deno.test("a short output is read to its end with no reader, then delivered whole", async () => {
  const src = chunks(["one ", "two"]);
  const { stream, drained } = sourceStream(src);
  // Nobody reads yet: the stream still drains its source (as a pipe's buffer would).
  await drained;
  assertEquals(src.reads, 3);
  assertEquals(dec.decode(await collect(stream)), "one two");
});

Deno.test("the stream stops reading ahead at 64 KiB until someone reads", async () => {
  const big = "x".repeat(40 * 1024);
  const src = chunks([big, big, big, big]);
  const { stream, drained } = sourceStream(src);
  await until("two reads", () => src.reads >= 2);
  await new Promise((r) => setTimeout(r, 50));
  assertEquals(src.reads, 2, "read past 64 KiB with no reader");
  assertEquals((await collect(stream)).length, 4 * big.length);
  await drained;
});

Deno.test("take() ending the stream keeps what it gave and cancels the source", async () => {
  const src = chunks(["abc", "defgh", "never"]);
  let budget = 5;
  const { stream, drained } = sourceStream(src, (chunk) => {
    if (chunk.length <= budget) {
      budget -= chunk.length;
      return { chunk, end: false };
    }
    const part = chunk.subarray(0, budget);
    budget = 0;
    return { chunk: part, end: true };
  });
  assertEquals(dec.decode(await collect(stream)), "abcde");
  await drained;
  assert(src.cancelled, "the source was not cancelled at the cap");
});

Deno.test("a reader's cancel cancels the source and settles drained", async () => {
  const src = chunks(["a", "b"]);
  const { stream, drained } = sourceStream(src);
  await stream.cancel();
  await drained;
  assert(src.cancelled);
});

Deno.test("a file source reads a file whole and closes it; a failed open is an empty end", async () => {
  const dir = Deno.makeTempDirSync({ prefix: "sandbox-ts-bytes-" });
  try {
    const data = new Uint8Array(200_000).map((_, i) => i % 251);
    Deno.writeFileSync(`${dir}/f`, data);
    const got = await collect(sourceStream(fileSource(Deno.open(`${dir}/f`))).stream);
    assertEquals(got, data);
    const none = await collect(sourceStream(fileSource(Deno.open(`${dir}/missing`))).stream);
    assertEquals(none.length, 0);
    // A short read is its own small buffer, not a view of the 64 KiB one read into.
    Deno.writeTextFileSync(`${dir}/short`, "ten bytes\n");
    const short = fileSource(Deno.open(`${dir}/short`));
    const chunk = (await short.read())!;
    assertEquals(dec.decode(chunk), "ten bytes\n");
    assertEquals(chunk.buffer.byteLength, 10);
    assertEquals(await short.read(), null);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("a FIFO source cancelled mid-read closes the FIFO: the writer sees EPIPE", async () => {
  const dir = Deno.makeTempDirSync({ prefix: "sandbox-ts-bytes-" });
  const fifo = `${dir}/out`;
  try {
    const mk = new Deno.Command("mkfifo", { args: [fifo] }).outputSync();
    assert(mk.success, "mkfifo failed");
    // The writer: writes a line, waits, then keeps writing until the reader is gone.
    const writer = new Deno.Command("sh", {
      args: ["-c", `exec 3>"${fifo}"; echo first >&3; while echo more >&3; do sleep 0.05; done`],
      stderr: "null",
    }).spawn();
    const { stream, drained } = sourceStream(fileSource(Deno.open(fifo, { read: true })));
    const reader = stream.getReader();
    const first = await reader.read();
    assertEquals(dec.decode(first.value!).split("\n")[0], "first");
    await reader.cancel();
    await drained;
    // The FIFO's only reader closed: the writer's next write fails (EPIPE), ending its loop.
    const st = await writer.status;
    assert(!st.success, "the writer never saw the reader go");
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("a lazy source cancelled before its choice cancels what is chosen", async () => {
  let choose: (s: ByteSource) => void = () => {};
  const lazy = lazySource(new Promise((r) => (choose = r)));
  lazy.cancel();
  const src = chunks(["x"]);
  choose(src);
  assertEquals(await lazy.read(), null);
  assert(src.cancelled);
});

Deno.test("a reader source gives a stream's chunks and cancels the stream", async () => {
  let cancelled = false;
  const stream = new ReadableStream<Uint8Array>({
    start(ctl) {
      ctl.enqueue(enc.encode("p"));
      ctl.enqueue(enc.encode("q"));
    },
    cancel() {
      cancelled = true;
    },
  });
  const src = readerSource(stream);
  assertEquals(dec.decode((await src.read())!), "p");
  src.cancel();
  assertEquals(await src.read(), null);
  assert(cancelled);
});
