import { assert, assertEquals, assertThrows } from "./_assert.ts";
import {
  ETC_ENTRIES,
  resolveMode,
  runOps,
  staticOps,
  validateCommand,
  validateConfig,
} from "../lib/policy.ts";
import { Sandbox, SandboxBuilder } from "../mod.ts";
import { UnsupportedError } from "../lib/errors.ts";

const host = {
  arch: "x86_64" as const,
  system: { "/usr": { dir: true as const }, "/bin": { link: "usr/bin" } },
};

Deno.test("network host works with the default profile or an explicit socket allow", () => {
  assertEquals(validateConfig({ network: "host" }).seccomp.profile, "compute");
  validateConfig({
    network: "host",
    seccomp: { profile: "minimal", allow: ["socket", "connect"] },
  });
  validateConfig({ network: "host", seccomp: "none" });
});

Deno.test("bad config values are rejected naming the field, the value and what is allowed", () => {
  const cases: [Record<string, unknown>, string, typeof TypeError | typeof RangeError][] = [
    [{ id: "a/b" }, 'Invalid id "a/b"', RangeError],
    [{ timeout: "forever" }, 'Invalid timeout "forever"', RangeError],
    [{ timeout: -1 }, "Invalid timeout -1", RangeError],
    [{ timeout: true }, "Invalid timeout true", TypeError],
    [{ cwd: "tmp" }, 'Invalid cwd "tmp"', RangeError],
    [{ network: "bridge" }, 'Invalid network "bridge": expected one of "none", "host"', RangeError],
    [{ privilegeMode: "root" }, 'Invalid privilegeMode "root"', RangeError],
    [{ hostname: "a b" }, 'Invalid hostname "a b"', RangeError],
    [{ env: { "A=B": "x" } }, 'Invalid env name "A=B"', RangeError],
    [{ env: { A: 1 } }, "Invalid env.A 1", TypeError],
    [{ env: { A: "x\0y" } }, "NUL", RangeError],
    [{ env: [] }, "Invalid env", TypeError],
    [{ tmpSize: "0" }, "must not be 0", RangeError],
    [{ memry: "1G" }, 'Unknown config field "memry"', RangeError],
    [{ memory: "12QB" }, 'Invalid memory "12QB"', RangeError],
    [{ maxPids: 0 }, "Invalid maxPids 0: expected an integer from 1", RangeError],
    [{ maxPids: 1.5 }, "Invalid maxPids 1.5", RangeError],
    [{ cpuPercent: NaN }, "Invalid cpuPercent NaN", RangeError],
    [{ cpuPercent: 100000 }, "Invalid cpuPercent 100000", RangeError],
    [
      { cpuPercent: 50, cpuQuota: { quota: 5000 } },
      "Conflicting cpuPercent and cpuQuota",
      RangeError,
    ],
    [{ cpuQuota: { quota: 10, period: 100000 } }, "Invalid cpuQuota.quota 10", RangeError],
    [{ cpuTime: "1 hour" }, 'Invalid cpuTime "1 hour"', RangeError],
    [{ openFiles: -1 }, "Invalid openFiles -1", RangeError],
    [{ fileSize: "0" }, "Invalid fileSize", RangeError],
    [{ maxOutput: "lots" }, 'Invalid maxOutput "lots"', RangeError],
    [{ limits: "loose" }, 'Invalid limits "loose"', RangeError],
    [
      { network: "host", seccomp: "minimal" },
      'Conflicting network "host" and seccomp profile "minimal": the filter refuses socket()',
      RangeError,
    ],
    [
      { network: "host", seccomp: { profile: "compute", deny: ["socket"] } },
      'Conflicting network "host" and seccomp profile "compute"',
      RangeError,
    ],
  ];
  for (const [config, msg, type] of cases) {
    assertThrows(() => validateConfig(config), type, msg);
    assertThrows(() => new Sandbox(config), type, msg);
  }
  assertThrows(() => validateConfig(null as never), TypeError, "expected an object");
});

Deno.test("program and args are validated: NUL bytes, empty program, non-arrays", () => {
  assertThrows(() => validateCommand("", []), RangeError, 'Invalid program ""');
  assertThrows(() => validateCommand("a\0", []), RangeError, "NUL");
  assertThrows(() => validateCommand("ls", ["ok", "b\0"]), RangeError, "Invalid args[1]");
  assertThrows(() => validateCommand("ls", "x"), TypeError, "Invalid args");
  assertThrows(() => validateCommand(5, []), TypeError, "Invalid program 5");
});

Deno.test("the builder is immutable and validates on build", () => {
  const a = new SandboxBuilder("a");
  const b = a.timeout("1s");
  assert(a !== b);
  assertEquals(a.toConfig().timeout, undefined);
  assertEquals(b.toConfig().timeout, "1s");
  assertThrows(() => a.timeout("soon").build(), RangeError, "Invalid timeout");
  assertThrows(() => new SandboxBuilder("bad id").build(), RangeError, "Invalid id");
  assertEquals(b.env({ X: "1" }).env({ Y: "2" }).toConfig().env, { X: "1", Y: "2" });
  assert(!("then" in b), "a builder must not be thenable");
});

Deno.test("modes: auto picks privileged for root; privileged needs root", () => {
  assertEquals(resolveMode("auto", 0), "privileged");
  assertEquals(resolveMode("auto", 1000), "unprivileged");
  assertEquals(resolveMode("unprivileged", 0), "unprivileged");
  assertThrows(() => resolveMode("privileged", 1000), UnsupportedError, "needs root");
});

Deno.test("the sandbox never maps to host root, and an unprivileged caller maps itself", () => {
  const c = validateConfig({});
  const find = (ops: readonly (readonly string[])[], name: string) =>
    ops.find((o) => o[0] === name);
  // A root caller's runs each take a host uid/gid pair of their own from a range.
  for (const mode of ["privileged", "unprivileged"] as const) {
    const ops = staticOps(c, { mode, caller: { euid: 0, egid: 0 }, host });
    assertEquals(find(ops, "host-ids"), ["host-ids", "2130706432", "2130706432", "65536"]);
    assertEquals([find(ops, "uid-map"), find(ops, "gid-map")], [undefined, undefined]);
    assertEquals(find(ops, "uid"), ["uid", "1000"]);
  }
  const own = staticOps(validateConfig({ hostIds: { start: 5000000, count: 10 } }), {
    mode: "privileged",
    caller: { euid: 0, egid: 0 },
    host,
  });
  assertEquals(find(own, "host-ids"), ["host-ids", "5000000", "5000000", "10"]);
  const user = staticOps(c, { mode: "unprivileged", caller: { euid: 1234, egid: 99 }, host });
  assertEquals(find(user, "uid-map"), ["uid-map", "1000", "1234"]);
  assertEquals(find(user, "gid-map"), ["gid-map", "1000", "99"]);
});

Deno.test("the default root: ro system dirs, symlinks copied, no secrets of /etc, parents first", () => {
  const ops = staticOps(validateConfig({}), {
    mode: "privileged",
    caller: { euid: 0, egid: 0 },
    host,
  });
  const mounts = ops.filter((o) =>
    ["ro-bind", "ro-bind-try", "symlink", "proc", "dev", "tmpfs"].includes(o[0])
  );
  assertEquals(mounts[0], ["ro-bind", "/usr", "/usr"]);
  assertEquals(mounts[1], ["symlink", "usr/bin", "/bin"]);
  assert(mounts.some((o) => o[0] === "tmpfs" && o[1] === "/tmp" && o[3] === "1777"));
  for (const secret of ["shadow", "gshadow", "sudoers", "ssh"]) {
    assert(!ETC_ENTRIES.includes(secret), secret);
  }
  assert(!ops.some((o) => o.join(" ").includes("shadow")));
  const depths = mounts.map((o) => (o[0] === "symlink" || o[0].includes("bind") ? o[2] : o[1])!)
    .map((p) => p.split("/").length);
  assertEquals(depths, [...depths].sort((x, y) => x - y));
  assertEquals(ops.filter((o) => o[0] === "unshare").map((o) => o[1]), [
    "user",
    "pid",
    "mount",
    "uts",
    "ipc",
    "net",
    "cgroup",
  ]);
  const hostNet = staticOps(validateConfig({ network: "host" }), {
    mode: "privileged",
    caller: { euid: 0, egid: 0 },
    host,
  });
  assert(!hostNet.some((o) => o[1] === "net" || o[0] === "loopback"));
});

Deno.test("per-run ops: the run's timeout, PATH default, env override, argv0, args in order", () => {
  const ops = runOps({
    statusPath: "/s",
    program: "ls",
    args: ["-l", "/"],
    env: { PATH: "/bin", A: "1" },
    cwd: "/tmp",
    timeoutMs: 1500,
  });
  assertEquals(ops, [
    ["status", "/s"],
    ["chdir", "/tmp"],
    ["timeout", "1500"],
    ["env", "PATH=/bin"],
    ["env", "A=1"],
    ["exec", "ls"],
    ["arg", "ls"],
    ["arg", "-l"],
    ["arg", "/"],
  ]);
});
