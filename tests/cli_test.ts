// The CLI as a user runs it: a subprocess per call.
import { assert, assertEquals, assertMatch } from "./_assert.ts";
import { cli, cliCommand, kernelTest } from "./_helpers.ts";

kernelTest("run passes output through and exits with the program's code", async () => {
  const r = await cli("run", "--", "sh", "-c", "echo out; echo err >&2; exit 3");
  assertEquals(r.code, 3);
  assertEquals(r.stdout, "out\n");
  assertMatch(r.stderr, /^err\n/);
  assertMatch(
    r.stderr,
    /exit_code=3 \| wall_time_ms=\d+ \| memory_peak_bytes=\d+ \| cpu_time_us=\d+/,
  );
});

kernelTest("run: timeout → 124, signal → 128+N, missing → 127, not executable → 126", async () => {
  const to = await cli("run", "-q", "--timeout", "300ms", "--", "sleep", "10");
  assertEquals(to.code, 124);
  assertEquals((await cli("run", "-q", "--", "sh", "-c", "kill -TERM $$")).code, 143);
  const nf = await cli("run", "-q", "--", "no-such-cmd");
  assertEquals(nf.code, 127);
  // Said once, by the launcher, with the step and the errno.
  assertEquals(nf.stderr, "sandbox-launcher: exec no-such-cmd: No such file or directory\n");
  assertEquals((await cli("run", "-q", "--", "/etc")).code, 126);
});

kernelTest("usage errors exit 2 and name the flag", async () => {
  const cases: [string[], RegExp][] = [
    [["run", "--bogus", "ls"], /Unknown option "--bogus"/],
    [["run", "--timeout", "soon", "ls"], /Invalid --timeout "soon"/],
    [["run", "-t", "soon", "ls"], /Invalid -t "soon"/],
    [["run", "--net", "wifi", "ls"], /Invalid --net "wifi"/],
    [["run", "--env", "NOVALUE", "ls"], /Invalid --env "NOVALUE"/],
    [["run", "--timeout"], /needs a value/],
    [["run"], /Missing PROGRAM/],
    [["help", "frobnicate"], /No help for "frobnicate"/],
    [["run", "--config", "/nonexistent.json", "ls"], /Cannot read --config/],
  ];
  for (const [args, re] of cases) {
    const r = await cli(...args);
    assertEquals(r.code, 2, args.join(" "));
    assertMatch(r.stderr, re);
  }
});

kernelTest(
  "-- ends options: a program named like an option is a program; its flags are its own",
  async () => {
    const r = await cli("run", "-q", "--", "--bind");
    assertEquals(r.code, 127);
    const ls = await cli("run", "-q", "ls", "-d", "/tmp");
    assertEquals([ls.code, ls.stdout], [0, "/tmp\n"]);
  },
);

kernelTest("--json, --result-file, --env, --cwd, --hostname and --config", async () => {
  const dir = await Deno.makeTempDir();
  const cfg = `${dir}/c.json`;
  await Deno.writeTextFile(cfg, JSON.stringify({ hostname: "fromfile", env: { A: "1" } }));
  const r = await cli(
    "run",
    "--config",
    cfg,
    "--env",
    "B=2",
    "--cwd",
    "/tmp",
    "--json",
    "--result-file",
    `${dir}/r.json`,
    "--",
    "sh",
    "-c",
    'echo "$(hostname) $A$B $(pwd)"',
  );
  assertEquals(r.stdout, "fromfile 12 /tmp\n");
  const result = JSON.parse(await Deno.readTextFile(`${dir}/r.json`));
  assertEquals(result.exitCode, 0);
  assertEquals(result.reason, "exited");
  assertEquals(JSON.parse(r.stderr.trimEnd().split("\n").at(-1)!).exitCode, 0);
  await Deno.remove(dir, { recursive: true });
});

kernelTest("doctor reports the machine, as text and JSON; help everywhere", async () => {
  const text = await cli("doctor");
  assertEquals(text.code, 0);
  assertMatch(text.stdout, /\[(ok|--)\] User namespaces/);
  assertMatch(text.stdout, /Resolved mode \(auto\): (privileged|unprivileged)/);
  const json = JSON.parse((await cli("doctor", "--json")).stdout);
  assertEquals(json.autoMode, Deno.uid() === 0 ? "privileged" : "unprivileged");
  assertEquals(typeof json.userns, "boolean");
  assert(json.cgroupLimits === null || /^cgroup-v[12]$/.test(json.cgroupLimits));
  assertMatch(
    text.stdout,
    /\[(ok|--)\] Cgroup limits: (usable|partly usable|not usable by uid \d+)/,
  );
  for (const args of [["--help"], ["run", "--help"], ["doctor", "-h"], ["help", "run"]]) {
    const h = await cli(...args);
    assertEquals(h.code, 0);
    assertMatch(h.stdout, /Usage/);
  }
});

kernelTest(
  "seccomp flags: a refused syscall exits 159 and is named; bad names exit 2",
  async () => {
    // ptrace: 101 on x86_64, 117 on aarch64 (101 is nanosleep there).
    const ptrace = Deno.build.arch === "aarch64" ? 117 : 101;
    const probe = `import ctypes; ctypes.CDLL(None).syscall(${ptrace})`;
    const r = await cli("run", "-s", "minimal", "--", "python3", "-c", probe);
    assertEquals(r.code, 159);
    assertMatch(r.stderr, /reason=seccomp \| seccomp=ptrace/);
    const e = await cli("run", "-q", "--seccomp-action", "errno", "--", "python3", "-c", probe);
    assertEquals(e.code, 0);
    // An argument-check refusal is answered (EAFNOSUPPORT) and still named on the summary line.
    const netlink =
      "import socket\ntry: socket.socket(16, 3, 0)\nexcept OSError as e: print(e.errno)";
    const a = await cli("run", "--", "python3", "-c", netlink);
    assertEquals([a.code, a.stdout], [0, "97\n"]);
    assertMatch(a.stderr, /^exit_code=0 \|.* \| seccomp=socket$/m);
    const d = await cli("run", "-q", "--seccomp-deny", "uname", "--", "uname");
    assertEquals(d.code, 159);
    for (
      const [args, re] of [
        [["--seccomp", "strictest"], /Invalid --seccomp "strictest"/],
        [["--seccomp-allow", "ptrace"], /can never be allowed/],
        [["--seccomp-allow", "opne"], /Unknown syscall "opne" in --seccomp-allow/],
        [["--seccomp-action", "trap"], /Invalid --seccomp-action "trap"/],
      ] as const
    ) {
      const bad = await cli("run", ...args, "true");
      assertEquals(bad.code, 2, args.join(" "));
      assertMatch(bad.stderr, re);
    }
  },
);

kernelTest(
  "profiles lists profiles with counts, a profile's syscalls, numbers and BPF",
  async () => {
    const list = await cli("profiles");
    assertEquals(list.code, 0);
    for (const name of ["essential", "minimal", "io-heavy", "compute", "network", "unrestricted"]) {
      assertMatch(list.stdout, new RegExp(`^  ${name}\\s+\\d+`, "m"));
    }
    assertEquals((await cli("seccomp")).stdout, list.stdout);
    assertEquals((await cli("--list-seccomp")).stdout, list.stdout);
    const names = (await cli("profiles", "essential")).stdout.trim().split("\n");
    assert(names.includes("execve") && names.includes("pread64"));
    const nums = (await cli("profiles", "minimal", "--numbers")).stdout;
    assertMatch(nums, Deno.build.arch === "x86_64" ? /^read 0$/m : /^read 63$/m);
    assertMatch((await cli("profiles", "essential", "--bpf")).stdout, /^0000: ld \[4\]/);
    assertEquals((await cli("profiles", "nope")).code, 2);
  },
);

kernelTest("a weaker sandbox is never silent: the CLI warns on stderr", async () => {
  const r = await cli("run", "--no-namespaces", "--", "true");
  assertEquals(r.code, 0);
  assertMatch(r.stderr, /warning: namespaces turned off: only Landlock confines the files/);
  const q = await cli("run", "-q", "--no-namespaces", "--", "true");
  assertEquals(q.stderr, "");
});

kernelTest("a setup failure still writes --result-file, with reason setup-failed", async () => {
  const dir = await Deno.makeTempDir();
  await Deno.writeTextFile(`${dir}/r.json`, '{"stale":true}');
  const r = await cli("run", "-q", "--result-file", `${dir}/r.json`, "--", "/no/such/program");
  assertEquals(r.code, 127);
  const result = JSON.parse(await Deno.readTextFile(`${dir}/r.json`));
  assertEquals([result.reason, result.error.step, result.error.errno], [
    "setup-failed",
    "exec",
    "ENOENT",
  ]);
  await Deno.remove(dir, { recursive: true });
});

kernelTest("stdin is passed on to the program as bytes, or empty with --stdin null", async () => {
  const run = async (stdinFlag: string[]) => {
    const child = cliCommand(["run", "-q", ...stdinFlag, "--", "wc", "-c"], {
      stdin: "piped",
      stdout: "piped",
    }).spawn();
    const w = child.stdin.getWriter();
    await w.write(new Uint8Array(12345));
    await w.close();
    const out = await child.output();
    return new TextDecoder().decode(out.stdout).trim();
  };
  assertEquals(await run([]), "12345");
  assertEquals(await run(["--stdin", "null"]), "0");
  assertEquals((await cli("run", "--stdin", "tty", "--", "true")).code, 2);
});
