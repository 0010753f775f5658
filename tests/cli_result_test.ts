// The CLI's result on every exit path, the seed's direct mode, and messages printed once.
import { assert, assertEquals, assertMatch } from "./_assert.ts";
import { cli, isRoot, kernelTest, ROOT } from "./_helpers.ts";

/** The last line of stderr, parsed: where `--json` puts the result. */
function lastJson(stderr: string): Record<string, unknown> {
  return JSON.parse(stderr.trimEnd().split("\n").at(-1)!);
}

async function withResultFile<T>(fn: (path: string) => Promise<T>): Promise<T> {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/r.json`, '{"stale":true}');
    return await fn(`${dir}/r.json`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

kernelTest(
  "--json is the last line of stderr, after the program's own stderr and the summary",
  async () => {
    // The program's last stderr line has no newline: the result still starts a line of its own.
    const r = await cli(
      "run",
      "--json",
      "--",
      "sh",
      "-c",
      "echo out; printf 'no newline' >&2; exit 4",
    );
    assertEquals([r.code, r.stdout], [4, "out\n"]);
    const lines = r.stderr.trimEnd().split("\n");
    assertMatch(lines.at(-2)!, /^exit_code=4 \|/);
    const result = lastJson(r.stderr);
    assertEquals([result.exitCode, result.reason, result.success], [4, "exited", false]);
  },
);

kernelTest("the result reaches a descriptor of its own: --result-file /dev/fd/3", async () => {
  // sh gives the CLI fd 3 = our stdout pipe, and sends the CLI's own stdout and stderr elsewhere.
  const deno = Deno.execPath();
  const script =
    `exec 3>&1 1>/dev/null 2>/dev/null; "$0" run -A --quiet "$1" run --result-file /dev/fd/3 -- sh -c 'echo noise; echo noise >&2'`;
  const out = await new Deno.Command("sh", {
    args: ["-c", script, deno, `${ROOT}cli.ts`],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  assertEquals(out.code, 0);
  const result = JSON.parse(new TextDecoder().decode(out.stdout));
  assertEquals([result.exitCode, result.success], [0, true]);
  // "-" would mix the result into the program's stdout: refused, with the ways that work.
  const dash = await cli("run", "--json", "--result-file", "-", "--", "true");
  assertEquals(dash.code, 2);
  assertMatch(dash.stderr, /Invalid --result-file "-": .*\/dev\/fd\/3/);
  assertEquals(lastJson(dash.stderr).reason, "usage-error");
});

kernelTest(
  "every exit path writes --result-file and --json: usage, config, launcher, setup",
  async () => {
    const cases: [string[], number, string, string][] = [
      [["--bogus"], 2, "usage-error", "UsageError"],
      [["-m", "lots"], 2, "usage-error", "UsageError"],
      [["--launcher", "/no/such/launcher"], 125, "setup-failed", "LauncherError"],
      [["--bind", "/no/such/dir:/x"], 125, "setup-failed", "SandboxSetupError"],
      [["--", "/no/such/program"], 127, "setup-failed", "ProgramNotFoundError"],
    ];
    for (const [flags, code, reason, name] of cases) {
      await withResultFile(async (path) => {
        const args = ["run", "-q", "--json", "--result-file", path, ...flags];
        const r = await cli(...(flags[0] === "--" ? args : [...args, "--", "true"]));
        assertEquals(r.code, code, `${flags.join(" ")}: ${r.stderr}`);
        const file = JSON.parse(await Deno.readTextFile(path));
        assertEquals(file, lastJson(r.stderr));
        assertEquals([file.reason, file.success, file.cliExitCode, file.error.name], [
          reason,
          false,
          code,
          name,
        ]);
        assert(file.exitCode === null && typeof file.error.message === "string");
      });
    }
  },
);

kernelTest(
  "a limit this host cannot enforce (LimitUnavailableError, 125) still writes the result",
  { skip: isRoot ? "root enforces a memory limit here; the uid 65534 pass runs it" : false },
  async () => {
    await withResultFile(async (path) => {
      const r = await cli("run", "--json", "--result-file", path, "-m", "64M", "--", "true");
      assertEquals(r.code, 125, r.stderr);
      const file = JSON.parse(await Deno.readTextFile(path));
      assertEquals([file.reason, file.error.name], ["setup-failed", "LimitUnavailableError"]);
      assertMatch(file.error.message, /^Cannot enforce the memory limit \(-m\): /);
      assertEquals(lastJson(r.stderr), file);
      // Said once, not twice.
      assertEquals(r.stderr.split("Cannot enforce the memory limit").length - 1, 2); // message + JSON
    });
  },
);

kernelTest("each failure is printed once", async () => {
  const nf = await cli("run", "-q", "--", "/no/such/program");
  assertEquals(nf.code, 127);
  assertEquals(nf.stderr.trimEnd().split("\n").length, 1, nf.stderr);
  const bind = await cli("run", "-q", "--bind", "/no/such/dir:/x", "--", "true");
  assertEquals(bind.code, 125);
  assertEquals(bind.stderr.trimEnd().split("\n").length, 1, bind.stderr);
  assertMatch(bind.stderr, /\/no\/such\/dir/);
  const usage = await cli("run", "-m", "lots", "--", "true");
  assertEquals(usage.stderr.split('Invalid -m "lots"').length - 1, 1, usage.stderr);
  const launcher = await cli("run", "--launcher", "/no/such/launcher", "--", "true");
  assertEquals(launcher.code, 125);
  assertEquals(launcher.stderr.trimEnd().split("\n").length, 1, launcher.stderr);
});

kernelTest(
  "the seed's direct mode: sandbox [FLAGS] PROGRAM [ARGS], flags before the program",
  async () => {
    const r = await cli(
      "-P",
      "permissive",
      "-t",
      "5",
      "-i",
      "direct-1",
      // As uid 65534 here the preset's memory and CPU limits are approximated or dropped.
      "--limits",
      "best-effort",
      "-v",
      "--",
      "sh",
      "-c",
      "echo $0 $1",
      "a",
      "b",
    );
    assertEquals([r.code, r.stdout], [0, "a b\n"]);
    assertMatch(r.stderr, /sandbox: mode (privileged|unprivileged); enforced /);
    const bare = await cli("-q", "echo", "-n", "hi");
    assertEquals([bare.code, bare.stdout], [0, "hi"]);
    // A typo of a command is a program that is not found, as in the seed.
    assertEquals((await cli("-q", "frobnicate")).code, 127);
    // The seed's flags with their seed meanings: -s seccomp, -r root, -c cpu percent.
    const seed = await cli(
      "-q",
      "-s",
      "io-heavy",
      "-r",
      "/",
      "-c",
      "50",
      "--limits=best-effort",
      "true",
    );
    assertEquals(seed.code, 0, seed.stderr);
  },
);

kernelTest("presets and seccomp profiles mixed up: the hint names the other flag", async () => {
  const p = await cli("--profile", "io-heavy", "true");
  assertEquals(p.code, 2);
  assertMatch(p.stderr, /"io-heavy" is a seccomp profile, which -s\/--seccomp takes/);
  const s = await cli("run", "-s", "strict", "true");
  assertEquals(s.code, 2);
  assertMatch(s.stderr, /Invalid -s "strict".*"strict" is a preset, which -P\/--profile takes/);
  const list = await cli("profiles", "moderate");
  assertEquals(list.code, 2);
  assertMatch(list.stderr, /"moderate" is a preset, which run -P\/--profile takes/);
});

kernelTest("help: unknown topics exit 2; run --help shows examples", async () => {
  const bad = await cli("help", "nosuch");
  assertEquals(bad.code, 2);
  assertMatch(bad.stderr, /No help for "nosuch"/);
  const run = await cli("run", "--help");
  assertEquals(run.code, 0);
  assertMatch(run.stdout, /^Examples:\n {2}sandbox run -- /m);
  assertEquals((await cli("help", "run")).stdout, run.stdout);
  assertMatch((await cli("--help")).stdout, /sandbox \[OPTIONS\] \[--\] PROGRAM/);
});

kernelTest(
  "CLI durations: a bare number is seconds; a CPU time is whole seconds or refused",
  async () => {
    const r = await cli("run", "-q", "--json", "-t", "1", "--", "sleep", "5");
    assertEquals(r.code, 124);
    const result = lastJson(r.stderr);
    assert((result.wallTimeMs as number) >= 1000 && (result.wallTimeMs as number) < 4000);
    const ok = await cli("run", "-q", "--json", "--cpu-time", "2", "--", "true");
    assertEquals(
      (lastJson(ok.stderr).enforced as { limits: { cpuTimeMs: number } }).limits.cpuTimeMs,
      2000,
    );
    const half = await cli("run", "--cpu-time", "1500ms", "--", "true");
    assertEquals(half.code, 2);
    assertMatch(half.stderr, /whole seconds only \(RLIMIT_CPU\); use "1s" or "2s"/);
  },
);
