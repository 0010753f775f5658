// `sandbox session start|exec|cp|stop|list`: what a shell script uses. Each test has its own
// XDG_RUNTIME_DIR, so the sessions it sees are its own.
import { assert, assertEquals, assertMatch } from "./_assert.ts";
import { cliCommand, exists, isRoot, kernelTest } from "./_helpers.ts";

async function cliIn(runtime: string, args: string[], stdin = "") {
  const child = cliCommand(["session", ...args], {
    env: { XDG_RUNTIME_DIR: runtime },
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const w = child.stdin.getWriter();
  await w.write(new TextEncoder().encode(stdin));
  await w.close();
  const out = await child.output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

kernelTest("cli session: start, exec, cp both ways, stop, list", async () => {
  const runtime = await Deno.makeTempDir({ prefix: "sbx-run-" });
  try {
    const limits = isRoot ? ["--memory", "256M"] : []; // uid 65534 has no cgroup here
    const start = await cliIn(runtime, ["start", ...limits, "--idle-timeout", "2m"]);
    assertEquals(start.code, 0, start.stderr);
    const id = start.stdout.trim();
    assertMatch(id, /^[0-9a-f]{16}$/);
    // Private to this user: the directory 0700, the socket 0600.
    const dir = `${runtime}/sandbox-ts/sessions`;
    assertEquals((Deno.statSync(dir).mode ?? 0) & 0o777, 0o700);
    assertEquals((Deno.statSync(`${dir}/${id}.sock`).mode ?? 0) & 0o777, 0o600);
    assertEquals((await cliIn(runtime, ["list"])).stdout, `${id}\n`);
    const write = await cliIn(runtime, [
      "exec",
      id,
      "--",
      "sh",
      "-c",
      "echo 'print(6*7)' > /tmp/m.py; echo e >&2; exit 3",
    ]);
    assertEquals([write.code, write.stderr], [3, "e\n"]);
    const use = await cliIn(runtime, [
      "exec",
      "--cwd",
      "/tmp",
      "--env",
      "X=1",
      id,
      "sh",
      "-c",
      "python3 m.py; echo $X",
    ]);
    assertEquals([use.code, use.stdout], [0, "42\n1\n"]);
    const input = await cliIn(runtime, ["exec", "--stdin", id, "--", "wc", "-c"], "12345");
    assertEquals(input.stdout.trim(), "5");
    const slow = await cliIn(runtime, ["exec", "--timeout", "100ms", id, "--", "sleep", "5"]);
    assertEquals(slow.code, 124);
    // cp out, and in again.
    const out = `${runtime}/m.py`;
    assertEquals((await cliIn(runtime, ["cp", `${id}:/tmp/m.py`, out])).code, 0);
    assertEquals(await Deno.readTextFile(out), "print(6*7)\n");
    await Deno.writeTextFile(out, "print('back')\n");
    assertEquals((await cliIn(runtime, ["cp", out, `${id}:/tmp/back.py`])).code, 0);
    assertEquals((await cliIn(runtime, ["exec", id, "python3", "/tmp/back.py"])).stdout, "back\n");
    const stop = await cliIn(runtime, ["stop", id]);
    assertEquals(stop.code, 0, stop.stderr);
    assert(!exists(`${dir}/${id}.sock`), "the socket is left behind");
    assertEquals((await cliIn(runtime, ["list"])).stdout, "");
    const gone = await cliIn(runtime, ["exec", id, "true"]);
    assertEquals(gone.code, 125);
    assertMatch(gone.stderr, /No session/);
  } finally {
    await Deno.remove(runtime, { recursive: true });
  }
});

kernelTest("cli session: bad ids and flags are usage errors naming them", async () => {
  const runtime = await Deno.makeTempDir({ prefix: "sbx-run-" });
  try {
    const bad = await cliIn(runtime, ["exec", "../../etc", "true"]);
    assertEquals(bad.code, 2);
    assertMatch(bad.stderr, /Invalid session id "\.\.\/\.\.\/etc"/);
    const flag = await cliIn(runtime, ["start", "--memory", "lots"]);
    assertEquals(flag.code, 2);
    assertMatch(flag.stderr, /--memory/);
  } finally {
    await Deno.remove(runtime, { recursive: true });
  }
});

kernelTest(
  "cli session: a session directory of another user is refused",
  { skip: isRoot ? false : "needs root to make a directory of another uid" },
  async () => {
    const runtime = await Deno.makeTempDir({ prefix: "sbx-run-" });
    try {
      // Another user got there first (or a symlink was planted): nothing is started.
      await Deno.mkdir(`${runtime}/sandbox-ts`, { mode: 0o700 });
      Deno.chownSync(`${runtime}/sandbox-ts`, 65534, 65534);
      const r = await cliIn(runtime, ["start"]);
      assertEquals(r.code, 125);
      assertMatch(r.stderr, /Refusing the session directory/);
    } finally {
      await Deno.remove(runtime, { recursive: true });
    }
  },
);
