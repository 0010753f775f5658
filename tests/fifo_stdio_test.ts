// The per-run request channel (lib/fifo_stdio.ts, launcher/request.c): a run's stdio through
// FIFOs in its private state dir, and the per-run part sent to an init that waits inside the
// finished sandbox. Each probe exits with a sentinel only if the property held.
import { assert, assertEquals } from "./_assert.ts";
import { kernelTest } from "./_helpers.ts";
import { collect } from "../lib/run.ts";
import { runDirBase } from "../lib/rundir.ts";
import { SandboxBuilder, SandboxError, SandboxSetupError } from "../mod.ts";
import type { SandboxConfig } from "../mod.ts";

const dec = new TextDecoder();

/**
 * A sandbox whose cold runs use the FIFO channel (the switch is read once, when it is prepared):
 * never a warm launcher's (tests/warm_test.ts has those), even under `SANDBOX_TS_WARM=1`, for
 * these tests kill a run's own launcher.
 */
function fifoSandbox(config: SandboxConfig = {}) {
  const before = Deno.env.get("SANDBOX_TS_FIFO_STDIO");
  Deno.env.set("SANDBOX_TS_FIFO_STDIO", "1");
  try {
    return new SandboxBuilder(config.id ?? "test", { timeout: "120s", ...config }, { warm: false })
      .build();
  } finally {
    if (before === undefined) Deno.env.delete("SANDBOX_TS_FIFO_STDIO");
    else Deno.env.set("SANDBOX_TS_FIFO_STDIO", before);
  }
}

/** The run dirs' `*.stdio` entries on the host. */
function stdioDirs(): string[] {
  const base = runDirBase();
  if (!base) return [];
  return [...Deno.readDirSync(base)].map((e) => e.name).filter((n) => n.endsWith(".stdio"));
}

/**
 * The `*.stdio` entries made since `before` and still there (none once every run is done). An
 * earlier test file's sandboxes share the dir and this process: their default warm pools keep
 * the stdio of their prepared runs until they go idle (30 s), under names this file's runs may
 * also take (each test file counts its runs from 1).
 */
function leftStdioDirs(before: ReadonlySet<string>): string[] {
  return stdioDirs().filter((d) => !before.has(d));
}

kernelTest("fifo stdio: the target's 0-2 are FIFOs it can reopen through /dev/std*", async () => {
  const r = await fifoSandbox().run("sh", [
    "-c",
    "test -p /dev/stdin && test -p /dev/stdout && test -p /dev/stderr || exit 3; " +
    "echo via-path > /dev/stdout && echo err-path > /dev/stderr && read l && " +
    'echo "got $l" && exit 42',
  ], { input: "line\n" });
  assertEquals(r.exitCode, 42, r.stderr);
  assertEquals(r.stdout, "via-path\ngot line\n");
  assertEquals(r.stderr, "err-path\n");
});

kernelTest("fifo stdio: no input is an empty pipe (end of file at once)", async () => {
  const r = await fifoSandbox().run("sh", ["-c", "test -p /dev/stdin || exit 3; cat; exit 42"]);
  assertEquals(r.exitCode, 42, r.stderr);
  assertEquals(r.stdout, "");
});

kernelTest(
  "fifo stdio: piped stdin, 8 MiB through both ways in order, with backpressure",
  async () => {
    const child = fifoSandbox().spawn("sh", ["-c", "cat; echo done >&2"], { stdin: "piped" });
    const size = 8 << 20;
    const data = new Uint8Array(size);
    for (let i = 0; i < size; i++) data[i] = (i * 7 + (i >> 12)) & 0xff;
    const writer = child.stdin!.getWriter();
    const written = (async () => {
      for (let off = 0; off < size; off += 100_000) {
        await writer.write(
          data.subarray(off, off + 100_000),
        );
      }
      await writer.close();
    })();
    const [out, err] = await Promise.all([collect(child.stdout), collect(child.stderr), written]);
    assertEquals(out.length, size);
    assert(out.every((b, i) => b === data[i]), "bytes out of order or changed");
    assertEquals(dec.decode(err), "done\n");
    assertEquals((await child.status).exitCode, 0);
  },
);

kernelTest("fifo stdio: the output cap kills the run and keeps what fits", async () => {
  const r = await fifoSandbox().run("sh", ["-c", "yes"], { maxOutput: "64K" });
  assertEquals(r.reason, "output-limit");
  assertEquals(r.stdoutBytes.length, 64 << 10);
});

kernelTest("fifo stdio: exec failures and setup failures keep their message", async () => {
  const notFound = await fifoSandbox().run("no-such-program-x").catch((e) => e);
  assert(notFound instanceof SandboxSetupError);
  assertEquals(notFound.exitCode, 127);
  assert(/exec no-such-program-x/.test(notFound.stderr), notFound.stderr);
  // The cwd is checked after the request arrived: the same path through init.
  const badCwd = await fifoSandbox().run("true", [], { cwd: "/no/such/dir" }).catch((e) => e);
  assert(badCwd instanceof SandboxSetupError);
  assertEquals(badCwd.step, "chdir");
});

kernelTest("fifo stdio: a launcher killed from outside ends the run; nothing is left", async () => {
  const before = new Set(stdioDirs());
  const child = fifoSandbox().spawn("sleep", ["30"]);
  const out = collect(child.stdout);
  // Killed at once: before, during or after its FIFO opens, the run must end.
  Deno.kill(child.pid, "SIGKILL");
  const result = await child.status.catch((e) => e);
  // The launcher's end without a result is an error, as it is with pipes.
  assert(result instanceof SandboxError || result.signal === "SIGKILL", String(result));
  await out;
  await child.stderr.cancel().catch(() => {});
  assertEquals(leftStdioDirs(before), []);
});

kernelTest("fifo stdio: kill() and timeouts work as with pipes; dirs are removed", async () => {
  const before = new Set(stdioDirs());
  const sb = fifoSandbox();
  const child = sb.spawn("sleep", ["30"]);
  setTimeout(() => child.kill(), 50);
  assertEquals((await child.status).aborted, true);
  const slow = await sb.run("sleep", ["30"], { timeout: "100ms" });
  assertEquals(slow.reason, "timeout");
  assertEquals(leftStdioDirs(before), []);
});
