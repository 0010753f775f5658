// Streaming: raw bytes, arrival order, lines, and a status that waits for the output but can
// never be hung by it.
import { assert, assertEquals } from "./_assert.ts";
import { kernelTest, sandbox } from "./_helpers.ts";
import { collect } from "../lib/run.ts";

const dec = new TextDecoder();

kernelTest("output() yields stdout and stderr chunks in arrival order", async () => {
  const child = sandbox().spawn("sh", [
    "-c",
    "echo o1; sleep 0.05; echo e1 >&2; sleep 0.05; echo o2; sleep 0.05; echo e2 >&2",
  ]);
  const seen: string[] = [];
  for await (const c of child.output()) seen.push(`${c.stream}:${dec.decode(c.data).trim()}`);
  assertEquals(seen, ["stdout:o1", "stderr:e1", "stdout:o2", "stderr:e2"]);
  assertEquals((await child.status).exitCode, 0);
});

kernelTest("lines() splits text output, keeping a last line without newline", async () => {
  const child = sandbox().spawn("sh", ["-c", "printf 'a\\nżółw\\n\\nlast'"]);
  const lines: string[] = [];
  for await (const l of child.lines()) lines.push(l);
  await child.stderr.cancel();
  assertEquals(lines, ["a", "żółw", "", "last"]);
  await child.status;
});

kernelTest("raw bytes survive: every byte value, split multi-byte sequences", async () => {
  const child = sandbox().spawn("python3", [
    "-c",
    "import sys; sys.stdout.buffer.write(bytes(range(256)) * 1000); sys.stdout.flush()",
  ]);
  const out = await collect(child.stdout);
  await child.stderr.cancel();
  assertEquals(out.length, 256_000);
  assert(out.every((b, i) => b === i % 256));
  await child.status;
});

kernelTest("status resolves after the output that is being read has been delivered", async () => {
  const child = sandbox().spawn("sh", ["-c", "head -c 200000 /dev/zero; echo done >&2"]);
  let got = 0;
  const reading = (async () => {
    for await (const c of child.stdout) got += c.length;
  })();
  const errText = collect(child.stderr);
  const result = await child.status;
  // By the time status resolves, the pipe has been read to its end.
  await reading;
  assertEquals([result.exitCode, got, dec.decode(await errText)], [0, 200000, "done\n"]);
});

kernelTest(
  "status does not wait for a stream nobody reads, nor for a daemon holding the pipe",
  async () => {
    const child = sandbox({ timeout: "10s" }).spawn("sh", ["-c", "(sleep 30 &); echo hi"]);
    const started = performance.now();
    const result = await child.status;
    assert(performance.now() - started < 5000);
    assertEquals(result.exitCode, 0);
    assertEquals(dec.decode(await collect(child.stdout)), "hi\n");
    await child.stderr.cancel();
  },
);

kernelTest(
  "a setup error in status is not an unhandled rejection while the output is read",
  async () => {
    // Without care, status rejects while the caller still reads stdout, and Deno ends the process.
    const child = sandbox().spawn("no-such-program-here");
    await collect(child.stdout);
    await collect(child.stderr);
    await new Promise((r) => setTimeout(r, 200)); // status has long rejected by now
    let err: unknown;
    try {
      await child.status;
    } catch (e) {
      err = e;
    }
    assertEquals((err as Error).name, "ProgramNotFoundError");
  },
);
