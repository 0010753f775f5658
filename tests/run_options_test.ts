// Per-run options: timeout and maxOutput override the sandbox's; stdin modes apart from input
// data; raw bytes and success from run().
import { assert, assertEquals, assertMatch, assertRejects, assertThrows } from "./_assert.ts";
import { kernelTest, ROOT, sandbox } from "./_helpers.ts";
import { SandboxBuilder } from "../mod.ts";
import { collect } from "../lib/run.ts";

kernelTest("a run's timeout overrides the sandbox's, shorter or longer", async () => {
  const sb = sandbox({ timeout: "400ms" });
  const short = await sb.run("sleep", ["5"], { timeout: 150 });
  assertEquals([short.reason, short.timedOut, short.success], ["timeout", true, false]);
  assert(short.wallTimeMs < 400, `${short.wallTimeMs}`);
  // Longer than the sandbox's 400 ms: the run's own limit is the one that counts.
  const long = await sb.run("sleep", ["0.7"], { timeout: "3s" });
  assertEquals([long.reason, long.exitCode, long.success], ["exited", 0, true]);
  // Without one, the sandbox's applies.
  assertEquals((await sb.run("sleep", ["5"])).reason, "timeout");
  // spawn() takes it too.
  const child = sb.spawn("sleep", ["5"], { timeout: "1.5s" });
  const r = await child.status;
  assertEquals(r.reason, "timeout");
  assert(r.wallTimeMs >= 1400, `${r.wallTimeMs}`);
});

kernelTest("a run's maxOutput overrides the sandbox's, and its result says so", async () => {
  const sb = sandbox({ maxOutput: "1M" });
  const r = await sb.run("head", ["-c", "100000", "/dev/zero"], { maxOutput: "1K" });
  assertEquals([r.reason, r.stdoutBytes.length, r.enforced.limits.maxOutputBytes], [
    "output-limit",
    1024,
    1024,
  ]);
  const big = await sb.run("head", ["-c", "100000", "/dev/zero"]);
  assertEquals([big.reason, big.stdoutBytes.length, big.enforced.limits.maxOutputBytes], [
    "exited",
    100000,
    1 << 20,
  ]);
  // A higher per-run cap than the sandbox's is allowed: the cap is the library's own count.
  const more = await sb.run("head", ["-c", String(2 << 20), "/dev/zero"], { maxOutput: "4M" });
  assertEquals([more.reason, more.stdoutBytes.length], ["exited", 2 << 20]);
});

kernelTest("input is data whatever it says; stdin takes modes only", async () => {
  const sb = sandbox();
  for (const word of ["null", "piped", "inherit", ""]) {
    const r = await sb.run("cat", [], { input: word });
    assertEquals([r.stdout, r.success], [word, true]);
  }
  assertEquals((await sb.run("wc", ["-c"], { stdin: "null" })).stdout.trim(), "0");
  assertEquals((await sb.run("wc", ["-c"])).stdout.trim(), "0");
  const child = sb.spawn("cat", [], { stdin: "piped" });
  const w = child.stdin!.getWriter();
  await w.write(new TextEncoder().encode("via pipe"));
  await w.close();
  assertEquals(new TextDecoder().decode(await collect(child.stdout)), "via pipe");
  await child.stderr.cancel();
  assertEquals((await child.status).exitCode, 0);
  // The old form (data in stdin) is refused with the way to say it now.
  await assertRejects(
    () => sb.run("cat", [], { stdin: "hello" as never }),
    RangeError,
    "pass data as options.input",
  );
  assertThrows(
    () => sb.spawn("cat", [], { stdin: new Uint8Array(1) as never }),
    TypeError,
    "pass data as options.input",
  );
  // A stream someone else reads is refused before anything starts, not fed half.
  const taken = ReadableStream.from([new Uint8Array(1)]);
  const reader = taken.getReader();
  await assertRejects(
    () => sb.run("cat", [], { input: taken }),
    RangeError,
    "the stream is locked",
  );
  reader.releaseLock();
  assertEquals((await sb.run("wc", ["-c"], { input: taken })).stdout.trim(), "1");
  // run() cannot write to a piped stdin: refused instead of hanging to the timeout.
  await assertRejects(() => sb.run("cat", [], { stdin: "piped" }), RangeError, "use spawn()");
});

kernelTest("run() gives the raw bytes: binary output round-trips exactly", async () => {
  const r = await sandbox().run("python3", [
    "-c",
    "import sys; sys.stdout.buffer.write(bytes(range(256))); sys.stderr.buffer.write(b'\\xff\\xfe')",
  ]);
  assertEquals(r.stdoutBytes.length, 256);
  assert(r.stdoutBytes.every((b, i) => b === i));
  assertEquals([...r.stderrBytes], [0xff, 0xfe]);
  assertEquals(r.stderr, "\ufffd\ufffd"); // the text view is lossy; the bytes are not
  const echo = await sandbox().run("cat", [], { input: r.stdoutBytes });
  assertEquals([...echo.stdoutBytes], [...r.stdoutBytes]);
});

kernelTest("success: exit 0 and nothing killed the run, in run() and spawn().status", async () => {
  const sb = sandbox();
  assertEquals((await sb.run("true")).success, true);
  assertEquals((await sb.run("false")).success, false);
  assertEquals((await sb.run("sh", ["-c", "kill -TERM $$"])).success, false);
  assertEquals((await sb.run("sleep", ["5"], { timeout: 100 })).success, false);
  const abort = new AbortController();
  const run = sb.run("sleep", ["5"], { signal: abort.signal });
  setTimeout(() => abort.abort(), 100);
  const aborted = await run;
  assertEquals([aborted.aborted, aborted.success], [true, false]);
  // spawn()'s status carries it too.
  const ok = sb.spawn("true");
  await ok.stdout.cancel();
  await ok.stderr.cancel();
  assertEquals((await ok.status).success, true);
  const killed = sb.spawn("sleep", ["5"]);
  setTimeout(() => killed.kill(), 100);
  await killed.stdout.cancel();
  await killed.stderr.cancel();
  assertEquals((await killed.status).success, false);
});

kernelTest(
  "durations: ms numbers and unit strings everywhere; CPU time in whole seconds only",
  () => {
    const b = new SandboxBuilder("units");
    assertEquals(b.timeout(1500).build().config.timeoutMs, 1500);
    assertEquals(b.timeout("1500ms").build().config.timeoutMs, 1500);
    assertEquals(b.timeout("1m").build().config.timeoutMs, 60_000);
    assertEquals(
      b.cpuTimeLimit("2s").limitsMode("best-effort").build().enforced.limits.cpuTimeMs,
      2000,
    );
    assertEquals(b.cpuTimeLimit(3000).build().enforced.limits.cpuTimeMs, 3000);
    for (const v of ["1500ms", 1500, "0.5s"]) {
      assertThrows(() => b.cpuTimeLimit(v).build(), RangeError, "whole seconds only (RLIMIT_CPU)");
    }
    assertThrows(() => b.cpuTimeLimit("1500ms").build(), RangeError, 'use "1s" or "2s"');
    assertThrows(
      () => sandbox().spawn("true", [], { cpuTime: "1s" } as never),
      RangeError,
      "sandbox-wide limit",
    );
  },
);

kernelTest('stdin "inherit": this process\'s stdin as bytes, to one run at a time', async () => {
  const code = `
    import { SandboxBuilder } from "${ROOT}mod.ts";
    const sb = new SandboxBuilder("inherit").timeout("10s").build();
    const child = sb.spawn("wc", ["-c"], { stdin: "inherit" });
    try {
      sb.spawn("true", [], { stdin: "inherit" });
    } catch (e) {
      console.error(String(e));
    }
    await child.stderr.cancel();
    console.log((await new Response(child.stdout).text()).trim(), (await child.status).exitCode);
    Deno.exit(0);
  `;
  const proc = new Deno.Command(Deno.execPath(), {
    args: ["eval", code],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const w = proc.stdin.getWriter();
  await w.write(new Uint8Array(4321));
  await w.close();
  const out = await proc.output();
  const dec = new TextDecoder();
  assertEquals(dec.decode(out.stdout), "4321 0\n", dec.decode(out.stderr));
  assertMatch(
    dec.decode(out.stderr),
    /Invalid options.stdin "inherit": this process's stdin is already being read/,
  );
});
