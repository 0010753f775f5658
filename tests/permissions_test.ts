// Deno permissions (issue 13 item 2): a library or CLI user grants exactly what README's "Deno
// permissions" lists — the launcher (run and read) and the state dir (read and write), no -A —
// for a run with the defaults and for a run with limits, and gets the same sandbox as with -A.
// A permission Deno refuses is one clear error naming it, never "not found" or a weaker sandbox.
import { assert, assertEquals, assertMatch } from "./_assert.ts";
import { euid, isRoot, kernelTest, LAUNCHER, ROOT } from "./_helpers.ts";

/** README's state dir: `/tmp/sandbox-ts-<uid>` (without --allow-env, TMPDIR is not read). */
const STATE = `/tmp/sandbox-ts-${euid}`;

/** README's permission set, for the library and the CLI alike. */
const NARROW = [
  `--allow-run=${LAUNCHER}`,
  `--allow-read=${LAUNCHER},${STATE}`,
  `--allow-write=${STATE}`,
];

const dec = (b: Uint8Array) => new TextDecoder().decode(b);

/**
 * Runs `code` (a module importing mod.ts as `S`) under `deno run` with exactly `flags` and no
 * prompt; returns its last stdout line, parsed as JSON when it is.
 */
async function runWith(flags: string[], code: string): Promise<unknown> {
  const dir = Deno.makeTempDirSync({ prefix: "sandbox-ts-perms-" });
  try {
    Deno.chmodSync(dir, 0o755);
    Deno.writeTextFileSync(
      `${dir}/run.ts`,
      `import * as S from "${ROOT}mod.ts";
       try { ${code} } catch (e) { console.log(JSON.stringify({ error: e.name + ": " + e.message })); }`,
    );
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "--no-lock", "--no-prompt", ...flags, `${dir}/run.ts`],
      env: { SANDBOX_LAUNCHER: "" },
    }).output();
    const last = dec(out.stdout).trim().split("\n").at(-1) ?? "";
    assert(last, `no output; stderr: ${dec(out.stderr)}`);
    return JSON.parse(last);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
}

const DEFAULTS = `
  const sb = new S.SandboxBuilder("perms").build();
  const r = await sb.run("sh", ["-c", "echo $((6 * 7)); cat /etc/hostname 2>/dev/null; id -u"]);
  console.log(JSON.stringify({ enforced: sb.enforced, exitCode: r.exitCode, stdout: r.stdout }));`;

kernelTest("a run with the defaults works with README's permissions, no -A", async () => {
  const narrow = await runWith(NARROW, DEFAULTS) as Record<string, unknown>;
  assertEquals(narrow.error, undefined);
  assertEquals([narrow.exitCode, (narrow.stdout as string).split("\n")[0]], [0, "42"]);
  // The same sandbox as with -A: nothing guessed "absent" for lack of a permission.
  const all = await runWith(["-A"], DEFAULTS) as Record<string, unknown>;
  assertEquals(narrow.enforced, all.enforced);
  assertEquals(narrow.stdout, all.stdout);
});

// Root gets cgroups here; uid 65534 has no delegated cgroup on this host, so it asks for
// best-effort limits (rlimits) — and must get exactly what -A gets.
const LIMITS = `
  const sb = new S.SandboxBuilder("perms", {
    memory: "64M", maxPids: 16, cpuTime: "5s", limits: "${isRoot ? "strict" : "best-effort"}",
  }).build();
  const bomb = await sb.run("python3", ["-c", "b = bytearray(256 << 20); print(len(b))"]);
  const forks = await sb.run("sh", ["-c", "for i in $(seq 40); do sleep 2 & done; wait"]);
  console.log(JSON.stringify({
    limits: sb.enforced.limits, bomb: [bomb.exitCode, bomb.reason, bomb.oomKilled],
    forks: [forks.exitCode, forks.reason],
  }));`;

kernelTest("a run with limits works with README's permissions and the limits hold", async () => {
  const narrow = await runWith(NARROW, LIMITS) as Record<string, unknown>;
  assertEquals(narrow.error, undefined);
  const all = await runWith(["-A"], LIMITS) as Record<string, unknown>;
  assertEquals(narrow.limits, all.limits, "a narrow permission set weakened the limits");
  const limits = narrow.limits as { backend: string; memoryBytes: number; pids: number };
  assertEquals([limits.memoryBytes, limits.pids], [64 << 20, 16]);
  const [code, reason, oom] = narrow.bomb as [number | null, string, boolean];
  if (isRoot) {
    assert(limits.backend.startsWith("cgroup"), limits.backend);
    assertEquals([reason, oom], ["memory", true]);
  } else {
    // RLIMIT_DATA: the allocation fails inside the program (MemoryError, exit 1).
    assert(code !== 0, `the memory bomb ran to completion: ${reason}`);
  }
  const [forkCode, forkReason] = narrow.forks as [number, string];
  assert(forkCode !== 0, `40 forks ran under a limit of 16 (${forkReason})`);
});

kernelTest(
  "two processes with README's permissions run side by side; neither sweeps the other's run",
  async () => {
    // Each process sweeps stale run state (status files, cgroups) when it starts; the other's live
    // run is locked, so it survives, whatever /proc a narrow --allow-read hides.
    const code = (name: string) => `
    const sb = new S.SandboxBuilder("${name}").memoryLimit("64M").maxPids(32)
      .limitsMode("best-effort").build();
    const r = await sb.run("sh", ["-c", "sleep 1.5; echo ${name}"]);
    console.log(JSON.stringify({ exitCode: r.exitCode, stdout: r.stdout, reason: r.reason }));`;
    const first = runWith(NARROW, code("first"));
    await new Promise((r) => setTimeout(r, 700)); // the first run is live when the second starts
    const second = runWith(NARROW, code("second"));
    for (const [out, name] of [[await first, "first"], [await second, "second"]] as const) {
      assertEquals(out, { exitCode: 0, stdout: `${name}\n`, reason: "exited" });
    }
  },
);

kernelTest("the CLI runs with README's permissions, no -A, with and without limits", async () => {
  const cli = (...args: string[]) =>
    new Deno.Command(Deno.execPath(), {
      args: ["run", "--no-lock", "--no-prompt", ...NARROW, `${ROOT}cli.ts`, "run", "-q", ...args],
      env: { SANDBOX_LAUNCHER: "" },
    }).output();
  const plain = await cli("--", "sh", "-c", "echo ok");
  assertEquals([plain.code, dec(plain.stdout)], [0, "ok\n"], dec(plain.stderr));
  // uid 65534 has no delegated cgroup here: best-effort limits (rlimits), as with -A.
  const limits = [
    "--memory",
    "256M",
    "--pids",
    "64",
    ...(isRoot ? [] : ["--limits", "best-effort"]),
  ];
  const limited = await cli(...limits, "--json", "--", "sh", "-c", "echo ok");
  assertEquals([limited.code, dec(limited.stdout)], [0, "ok\n"], dec(limited.stderr));
  const stderr = dec(limited.stderr);
  const result = JSON.parse(stderr.slice(stderr.indexOf("{")));
  assertEquals([result.enforced.limits.memoryBytes, result.enforced.limits.pids], [256 << 20, 64]);
  // doctor too: every fact it prints comes from the launcher.
  const doctor = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--no-lock", "--no-prompt", ...NARROW, `${ROOT}cli.ts`, "doctor", "--json"],
    env: { SANDBOX_LAUNCHER: "" },
  }).output();
  assertEquals(doctor.code, 0, dec(doctor.stderr));
  assertEquals(JSON.parse(dec(doctor.stdout)).euid, euid);
});

kernelTest("without --allow-run for the launcher: one error naming --allow-run", async () => {
  const line = await runWith(NARROW.slice(1), DEFAULTS) as { error: string };
  assertMatch(
    line.error,
    /^NotCapable: The sandbox needs ".*sandbox-launcher" to run the sandbox launcher, and Deno refused: .*--allow-run/,
  );
});

kernelTest(
  'without read access to the launcher: an error naming --allow-read, not "not built"',
  async () => {
    const line = await runWith([NARROW[0]!, `--allow-read=${STATE}`, NARROW[2]!], DEFAULTS) as {
      error: string;
    };
    assertMatch(line.error, /^NotCapable: The sandbox needs ".*sandbox-launcher".*--allow-read/);
  },
);

kernelTest("without the state dir: an error naming it and --allow-write", async () => {
  const line = await runWith([NARROW[0]!, `--allow-read=${LAUNCHER}`], DEFAULTS) as {
    error: string;
  };
  assertMatch(
    line.error,
    new RegExp(
      `^NotCapable: The sandbox needs "${STATE}" for the state of its runs, and Deno refused: .*--allow-write`,
    ),
  );
});
