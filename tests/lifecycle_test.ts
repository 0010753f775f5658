// Control of a running sandbox: abort, kill, disposal, stdin, concurrency, and what happens to
// everything when Deno itself is killed.
import { assert, assertEquals, assertMatch } from "./_assert.ts";
import { SandboxBuilder, SandboxError } from "../mod.ts";
import { hostProcesses, kernelTest, LAUNCHER, marker, ROOT, sandbox, waitFor } from "./_helpers.ts";
import { collect } from "../lib/run.ts";
import { runDirBase } from "../lib/rundir.ts";
import { stopWarmLaunchers } from "../lib/warm.ts";

kernelTest("SIGKILL of the Deno process leaves no sandbox process behind", async () => {
  const tag = marker();
  const script = `
    import { SandboxBuilder } from "${ROOT}mod.ts";
    const child = new SandboxBuilder("orphan").build()
      .spawn("sh", ["-c", "setsid sh -c 'sleep ${tag}1 &'; sleep ${tag}"]);
    await child.status;`;
  const deno = new Deno.Command(Deno.execPath(), {
    args: ["eval", script],
    stdout: "null",
    stderr: "null",
  }).spawn();
  // Generous: a Deno starting under emulation takes seconds.
  assert(await waitFor(() => hostProcesses(`sleep ${tag}`).length === 2, 60_000), "did not start");
  deno.kill("SIGKILL");
  await deno.status;
  // The launcher dies with its parent (PDEATHSIG), init with the launcher, the pid namespace
  // with init.
  assert(
    await waitFor(() => hostProcesses(`sleep ${tag}`).length === 0, 3000),
    `left behind: ${hostProcesses(`sleep ${tag}`)}`,
  );
});

kernelTest("aborting kills the whole sandbox within a second and the result says so", async () => {
  const tag = marker();
  const ac = new AbortController();
  const p = sandbox().run("sh", ["-c", `sleep ${tag} & sleep ${tag}`], { signal: ac.signal });
  assert(await waitFor(() => hostProcesses(`sleep ${tag}`).length === 2, 60_000), "not started");
  const started = performance.now();
  ac.abort();
  const r = await p;
  assert(r.aborted);
  assertEquals(r.reason, "signaled");
  assertEquals(r.signal, "SIGKILL");
  assert(performance.now() - started < 5000);
  assertEquals(hostProcesses(`sleep ${tag}`), []);
});

kernelTest("an already aborted signal rejects before starting anything", async () => {
  const ac = new AbortController();
  ac.abort(new Error("stop"));
  let err: unknown;
  try {
    await sandbox().run("true", [], { signal: ac.signal });
  } catch (e) {
    err = e;
  }
  assertEquals((err as Error).message, "stop");
});

kernelTest("kill() forwards SIGTERM to the target and SIGKILL kills the sandbox", async () => {
  const sb = sandbox();
  const a = sb.spawn("sh", ["-c", "trap 'exit 9' TERM; echo ready; while :; do sleep 0.05; done"]);
  // Only once the trap is set (a fixed delay is too short on a slow machine).
  const reader = a.stdout.getReader();
  assertEquals(new TextDecoder().decode((await reader.read()).value), "ready\n");
  a.kill("SIGTERM");
  const ra = await a.status;
  await Promise.all([reader.cancel(), a.stderr.cancel()]);
  assertEquals(ra.exitCode, 9, "the target's TERM trap did not run");
  const b = sb.spawn("sleep", ["30"]);
  b.kill();
  const rb = await b.status;
  await Promise.all([b.stdout.cancel(), b.stderr.cancel()]);
  assert(rb.aborted);
  assertEquals(rb.signal, "SIGKILL");
});

kernelTest("the program starts with no signal ignored, blocked or caught", async () => {
  // Dispositions and the mask survive exec. The launcher inherits Deno's; libc's signal() refuses
  // the two real-time signals it reserves (32, 33), which stayed ignored in the program.
  const r = await sandbox().run("sh", ["-c", "grep -E '^Sig(Blk|Ign|Cgt)' /proc/self/status"]);
  assertEquals(r.exitCode, 0, r.stderr);
  const masks = Object.fromEntries(
    r.stdout.trim().split("\n").map((l) => l.split(/:\s+/) as [string, string]),
  );
  assertEquals([masks.SigBlk, masks.SigIgn], ["0000000000000000", "0000000000000000"], r.stdout);
});

kernelTest(
  "kill() right after spawn still gives a result: the launcher holds signals from its start",
  async () => {
    // Before the launcher blocked its signals first thing, a SIGTERM this early killed it with no
    // result ("ended without a result (exit code 143)").
    for (let i = 0; i < 5; i++) {
      const c = sandbox().spawn("sleep", ["30"]);
      c.kill("SIGTERM");
      const r = await c.status;
      await Promise.all([c.stdout.cancel(), c.stderr.cancel()]);
      assertEquals([r.exitCode, r.success], [null, false]);
      assert(r.signal === "SIGTERM" || r.signal === "SIGKILL", `${r.signal}`);
    }
  },
);

kernelTest("await using disposes: the sandbox is killed and cleaned up", async () => {
  const tag = marker();
  {
    await using child = sandbox().spawn("sleep", [tag]);
    assert(await waitFor(() => hostProcesses(`sleep ${tag}`).length === 1, 60_000), "not started");
    assert(child.pid > 0);
  }
  assertEquals(hostProcesses(`sleep ${tag}`), []);
});

kernelTest("input: a string, bytes, a stream, and a piped writer all round-trip", async () => {
  const sb = sandbox();
  assertEquals((await sb.run("cat", [], { input: "hello\n" })).stdout, "hello\n");
  const bytes = new Uint8Array([0, 1, 2, 255, 10]);
  const r = await sb.run("od", ["-An", "-tu1"], { input: bytes });
  assertEquals(r.stdout.trim().split(/\s+/).map(Number), [0, 1, 2, 255, 10]);
  const stream = ReadableStream.from([
    new TextEncoder().encode("a"),
    new TextEncoder().encode("b"),
  ]);
  assertEquals((await sb.run("cat", [], { input: stream })).stdout, "ab");
  const child = sb.spawn("tr", ["a-z", "A-Z"], { stdin: "piped" });
  const w = child.stdin!.getWriter();
  await w.write(new TextEncoder().encode("piped input"));
  await w.close();
  const out = new TextDecoder().decode(await collect(child.stdout));
  await child.stderr.cancel();
  assertEquals(out, "PIPED INPUT");
  assertEquals((await child.status).exitCode, 0);
  // Default stdin is empty: a reader sees EOF at once.
  assertEquals((await sb.run("wc", ["-c"])).stdout.trim(), "0");
});

kernelTest("one Sandbox runs four programs concurrently, each isolated", async () => {
  const sb = sandbox();
  const rs = await Promise.all(
    [1, 2, 3, 4].map((i) =>
      sb.run("sh", ["-c", `echo ${i} > /tmp/mine; sleep 0.2; cat /tmp/mine; ls /tmp | wc -l`])
    ),
  );
  assertEquals(rs.map((r) => r.stdout), ["1\n1\n", "2\n1\n", "3\n1\n", "4\n1\n"]);
});

kernelTest("binary output of 300 KB arrives intact", async () => {
  const child = sandbox().spawn("head", ["-c", "300000", "/dev/urandom"]);
  const out = await collect(child.stdout);
  await child.stderr.cancel();
  assertEquals((await child.status).exitCode, 0);
  assertEquals(out.length, 300000);
});

kernelTest("no status directory is left behind after runs", async () => {
  const base = runDirBase()!;
  await sandbox().run("true");
  // Earlier tests' sandboxes, never closed, may keep warm launchers (and their prepared runs'
  // status files) up: those are not this run's.
  await stopWarmLaunchers();
  const mine = [...Deno.readDirSync(base)].filter((e) => e.name.startsWith(`${Deno.pid}-`));
  assertEquals(mine, []);
});

kernelTest(
  "a launcher that dies before reading its config gives an error, not a crash",
  async () => {
    // A stand-in for a launcher killed at start: it answers the library's --version and
    // --features through the real one, then exits 1 without reading stdin.
    const dir = Deno.makeTempDirSync({ prefix: "sandbox-ts-dead-" });
    Deno.chmodSync(dir, 0o755);
    const dead = `${dir}/launcher`;
    Deno.writeTextFileSync(
      dead,
      `#!/bin/sh\ncase "$1" in --*) exec ${LAUNCHER} "$@";; esac\nexit 1\n`,
    );
    Deno.chmodSync(dead, 0o755);
    // The cold path's launcher (a warm one would be the real launcher, through the wrapper).
    const sb = new SandboxBuilder("dead", {}, { warm: false }).launcherPath(dead).landlock("off")
      .build();
    const child = sb.spawn("true", [], { stdin: "piped" });
    await new Promise((r) => setTimeout(r, 200));
    let err: unknown;
    try {
      await child.status;
    } catch (e) {
      err = e;
    }
    assert(err instanceof SandboxError, String(err));
    assertMatch((err as Error).message, /ended without a result \(exit code 1\)/);
    await Promise.all([child.stdout.cancel(), child.stderr.cancel()]);
    Deno.removeSync(dir, { recursive: true });
  },
);
