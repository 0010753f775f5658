// Bad input, field by field: wrong types, negatives, NaN, huge numbers, relative paths, NUL
// bytes, unknown names, conflicts. The API throws TypeError/RangeError naming the field, the
// value and what is allowed; the CLI exits 2 naming the flag; nothing is left half-created.
import { assert, assertEquals, assertMatch, assertRejects, assertThrows } from "./_assert.ts";
import { cli, kernelTest, sandbox } from "./_helpers.ts";
import { runDirBase } from "../lib/rundir.ts";
import { Sandbox, SandboxBuilder, type SandboxConfig } from "../mod.ts";

type Bad = [string, Record<string, unknown>, typeof TypeError | typeof RangeError, string];

const T = TypeError;
const R = RangeError;
const CONFIGS: Bad[] = [
  ["id: type", { id: 5 }, T, "Invalid id 5: expected a string"],
  ["id: charset", { id: "a b" }, R, 'Invalid id "a b": expected 1-64 characters'],
  ["id: length", { id: "x".repeat(65) }, R, "Invalid id"],
  ["id: traversal", { id: ".." }, R, 'Invalid id ".."'],
  ["timeout: NaN", { timeout: NaN }, R, "Invalid timeout NaN"],
  ["timeout: negative", { timeout: -5 }, R, "Invalid timeout -5"],
  ["timeout: huge", { timeout: 1e13 }, R, "Invalid timeout 10000000000000"],
  ["timeout: unit", { timeout: "3 days" }, R, 'Invalid timeout "3 days"'],
  ["timeout: type", { timeout: [1] }, T, "Invalid timeout [object Array]"],
  ["env: type", { env: "A=1" }, T, 'Invalid env "A=1"'],
  ["env: name", { env: { "1X": "a" } }, R, 'Invalid env name "1X"'],
  ["env: value", { env: { A: null } }, T, "Invalid env.A null"],
  ["env: NUL", { env: { A: "a\0b" } }, R, "NUL bytes are not allowed"],
  ["cwd: relative", { cwd: "tmp" }, R, 'Invalid cwd "tmp"'],
  ["cwd: dotdot", { cwd: "/tmp/.." }, R, 'Invalid cwd "/tmp/.."'],
  ["cwd: NUL", { cwd: "/t\0" }, R, "NUL bytes are not allowed"],
  ["network", { network: "bridge" }, R, 'Invalid network "bridge": expected one of "none", "host"'],
  ["hostname", { hostname: "-bad" }, R, 'Invalid hostname "-bad"'],
  ["privilegeMode", { privilegeMode: "root" }, R, 'Invalid privilegeMode "root": expected one of'],
  ["tmpSize: zero", { tmpSize: 0 }, R, "Invalid tmpSize 0: must not be 0"],
  ["tmpSize: unit", { tmpSize: "12QB" }, R, 'Invalid tmpSize "12QB": expected a size like'],
  ["seccomp: type", { seccomp: 7 }, T, "Invalid seccomp 7"],
  [
    "seccomp: profile",
    { seccomp: "strict" },
    R,
    'Invalid seccomp.profile "strict": expected one of',
  ],
  ["seccomp: unknown syscall", { seccomp: { allow: ["opne"] } }, R, 'Unknown syscall "opne"'],
  ["seccomp: never list", { seccomp: { allow: ["kexec_load"] } }, R, "can never be allowed"],
  ["seccomp: action", { seccomp: { action: "trap" } }, R, 'Invalid seccomp.action "trap"'],
  ["seccomp: field", { seccomp: { profil: "minimal" } }, R, 'Unknown seccomp field "profil"'],
  ["memory: negative", { memory: -1 }, R, "Invalid memory -1"],
  ["memory: tiny", { memory: 1000 }, R, "Invalid memory 1000: expected at least 1M"],
  ["memory: unit", { memory: "1.5X" }, R, 'Invalid memory "1.5X"'],
  ["maxPids: zero", { maxPids: 0 }, R, "Invalid maxPids 0: expected an integer from 1"],
  ["maxPids: type", { maxPids: "10" }, T, 'Invalid maxPids "10"'],
  ["cpuPercent: NaN", { cpuPercent: NaN }, R, "Invalid cpuPercent NaN"],
  ["cpuPercent: over CPUs", { cpuPercent: 1e9 }, R, "Invalid cpuPercent 1000000000"],
  [
    "cpu: conflict",
    { cpuPercent: 50, cpuQuota: { quota: 50000 } },
    R,
    "Conflicting cpuPercent and cpuQuota",
  ],
  ["cpuQuota: period", { cpuQuota: { quota: 5000, period: 10 } }, R, "Invalid cpuQuota.period"],
  ["cpuTime", { cpuTime: -1 }, R, "Invalid cpuTime -1"],
  ["openFiles", { openFiles: 1.5 }, R, "Invalid openFiles 1.5"],
  ["fileSize", { fileSize: "0" }, R, 'Invalid fileSize "0": must not be 0'],
  ["maxOutput", { maxOutput: {} }, T, "Invalid maxOutput [object Object]"],
  ["limits", { limits: "loose" }, R, 'Invalid limits "loose"'],
  ["mounts: type", { mounts: {} }, T, "Invalid mounts [object Object]"],
  ["mounts: kind", { mounts: [{ type: "nfs", source: "/x" }] }, R, 'Invalid mounts[0].type "nfs"'],
  [
    "mounts: relative",
    { mounts: [{ type: "bind", source: "x" }] },
    R,
    'Invalid mounts[0].source "x"',
  ],
  ["mounts: NUL", { mounts: [{ type: "bind", source: "/x\0" }] }, R, "NUL bytes are not allowed"],
  [
    "mounts: into /proc",
    { mounts: [{ type: "tmpfs", target: "/proc/x" }] },
    R,
    'Invalid mounts[0].target "/proc/x"',
  ],
  ["rootfs", { rootfs: "rel" }, R, 'Invalid rootfs "rel"'],
  ["namespaces", { namespaces: "sometimes" }, R, 'Invalid namespaces "sometimes"'],
  ["landlock", { landlock: "strict" }, R, 'Invalid landlock "strict"'],
  ["unknown field", { memroy: "1G" }, R, 'Unknown config field "memroy"'],
];

for (const [name, config, type, message] of CONFIGS) {
  Deno.test(`bad config: ${name}`, () => {
    const e = assertThrows(() => new Sandbox(config as SandboxConfig), type, message);
    assert(!/undefined/.test(e.message), e.message);
  });
}

Deno.test("bad config: the builder rejects the same values at build()", () => {
  assertThrows(
    () => new SandboxBuilder("ok").memoryLimit("lots").build(),
    R,
    'Invalid memory "lots"',
  );
  assertThrows(() => new SandboxBuilder("ok").maxPids(-3).build(), R, "Invalid maxPids -3");
  assertThrows(
    () => new SandboxBuilder("ok").cpuLimitPercent(0).build(),
    R,
    "Invalid cpuPercent 0",
  );
  assertThrows(() => new SandboxBuilder("a/b").build(), R, 'Invalid id "a/b"');
  assertThrows(
    () => new SandboxBuilder("ok").namespaces({ pid: false }),
    R,
    "namespaces.pid false",
  );
  assertThrows(() => new SandboxBuilder("ok").namespaces({ nett: false } as never), R, "nett");
});

kernelTest("bad run arguments are refused before anything starts", async () => {
  const base = runDirBase()!;
  const mine = () => [...Deno.readDirSync(base)].filter((e) => e.name.startsWith(`${Deno.pid}-`));
  const before = mine().length;
  const sb = sandbox();
  const cases: [() => unknown, typeof TypeError | typeof RangeError, string][] = [
    [() => sb.run(5 as never), T, "Invalid program 5"],
    [() => sb.run(""), R, 'Invalid program ""'],
    [() => sb.run("a\0b"), R, "NUL"],
    [() => sb.run("ls", "-l" as never), T, 'Invalid args "-l"'],
    [() => sb.run("ls", [1 as never]), T, "Invalid args[0] 1"],
    [() => sb.run("ls", ["\0"]), R, "Invalid args[0]"],
    [() => sb.run("ls", [], { cwd: "rel" }), R, 'Invalid options.cwd "rel"'],
    [() => sb.run("ls", [], { env: { "A-B": "x" } }), R, 'Invalid options.env name "A-B"'],
    [() => sb.run("ls", [], { stdin: 5 as never }), T, "Invalid options.stdin 5"],
    [() => sb.run("ls", [], { stdin: "data" as never }), R, "pass data as options.input"],
    [() => sb.run("ls", [], { input: 5 as never }), T, "Invalid options.input 5"],
    [() => sb.run("ls", [], { stdin: "null", input: "x" }), R, "Conflicting options.stdin"],
    [() => sb.run("ls", [], { stdin: "piped" }), R, 'Invalid options.stdin "piped" for run()'],
    [() => sb.run("ls", [], { timeout: "soon" }), R, 'Invalid options.timeout "soon"'],
    [() => sb.run("ls", [], { maxOutput: 0 }), R, "Invalid options.maxOutput 0"],
    [() => sb.run("ls", [], { memory: "1G" } as never), R, "sandbox-wide limit"],
    [() => sb.run("ls", [], { signal: {} as never }), T, "Invalid options.signal"],
    [() => sb.run("ls", [], { stdn: "x" } as never), R, 'Unknown options field "stdn"'],
  ];
  for (const [f, type, message] of cases) {
    // run() never throws synchronously: bad input comes back as a rejected promise.
    const r = f();
    assert(r instanceof Promise);
    await assertRejects(() => r, type, message);
  }
  assertThrows(() => sb.spawn("ls", [1 as never]), T, "Invalid args[0] 1");
  assertEquals(mine().length, before, "a refused run left a status dir behind");
});

kernelTest("bad CLI values exit 2 naming the flag and value", async () => {
  const cases: [string[], RegExp][] = [
    [["-m", "lots"], /Invalid -m "lots"/],
    [["--pids", "-1"], /Invalid --pids "-1": expected a whole number/],
    [["--pids", "12abc"], /Invalid --pids "12abc"/],
    [["-c", "NaN"], /Invalid -c "NaN": expected a number/],
    [["-c", "99999"], /Invalid -c 99999/],
    [["--cpu-time", "soon"], /Invalid --cpu-time "soon"/],
    [
      ["--cpu-time", "1.5"],
      /Invalid --cpu-time "1.5s": the kernel enforces CPU time in whole seconds/,
    ],
    [["--open-files", "1e9"], /Invalid --open-files "1e9"/],
    [["--file-size", "-5"], /Invalid --file-size "-5"/],
    [["--max-output", "0"], /Invalid --max-output "0"/],
    [["--limits", "sometimes"], /Invalid --limits "sometimes"/],
    [
      ["-P", "paranoid"],
      /Invalid -P "paranoid": expected one of strict, moderate, permissive/,
    ],
    [["--mode", "root"], /Invalid --mode "root"/],
    [["--cwd", "relative"], /Invalid --cwd "relative"/],
    [["--hostname", "a b"], /Invalid --hostname "a b"/],
    [["--bind", "relative"], /Invalid --bind source "relative"/],
    [["--ro-bind", "/usr", "--tmpfs", "/t:huge"], /Invalid --tmpfs size "huge"/],
    [["--budget", "ptys=0"], /Invalid --budget ptys 0/],
    [["--root", "/tmp", "--rootfs", "/tmp"], /"--root" and "--rootfs" conflict/],
    [["--timeout", "1", "--timeout", "2"], /given more than once/],
    [["--seccomp-allow", "setns"], /"setns" in --seccomp-allow can never be allowed/],
  ];
  for (const [flags, re] of cases) {
    const r = await cli("run", ...flags, "--", "true");
    assertEquals(r.code, 2, `${flags.join(" ")}: ${r.stderr}`);
    assertMatch(r.stderr, re);
  }
});
