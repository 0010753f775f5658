import assert from "node:assert/strict";
import {
  actionName,
  ARGUMENT_RULES,
  compileSeccomp,
  decodeProgram,
  disassemble,
  evaluateSeccomp,
  FIXED_ERRNO,
  NEVER_ALLOWED,
  PROFILE_DESCRIPTIONS,
  PROFILE_NAMES,
  profileSyscalls,
  type ResolvedSeccomp,
  resolvePolicy,
  SECCOMP_RET,
  type SeccompPolicy,
  validateSeccompProgram,
} from "../lib/seccomp/mod.ts";
import {
  type Arch,
  ARCHES,
  AUDIT_ARCH,
  syscallName,
  syscallNames,
  syscallNumber,
  X32_SYSCALL_BIT,
} from "../lib/syscalls.ts";

const { ALLOW, KILL_PROCESS, USER_NOTIF, ERRNO } = SECCOMP_RET;
const EPERM = ERRNO | 1;
const nr = (arch: Arch, name: string): number => {
  const n = syscallNumber(arch, name);
  assert.notEqual(n, undefined, `no ${name} on ${arch}`);
  return n!;
};
const run = (bpf: Uint8Array, arch: Arch, name: string, args: (number | bigint)[] = []) =>
  evaluateSeccomp(bpf, { arch, nr: nr(arch, name), args });

/**
 * The decision a policy implies, restated independently of the compiler: what the program must
 * return for `(nr, args)` on its own architecture.
 */
function expectedAction(
  r: ResolvedSeccomp,
  n: number,
  args: readonly bigint[],
  notify: boolean,
): number {
  const refusal = notify ? USER_NOTIF : r.action === "kill" ? KILL_PROCESS : EPERM;
  if (r.arch === "x86_64" && n >= X32_SYSCALL_BIT) return refusal;
  const fixed = r.fixedErrno.find((f) => f.nr === n);
  if (fixed) return ERRNO | fixed.errno;
  if (!r.allowed.includes(n)) return refusal;
  const rule = r.argumentRules.find((a) => a.nr === n)?.rule;
  if (!rule) return ALLOW;
  for (const check of rule.checks) {
    const low = Number((args[check.arg] ?? 0n) & 0xffffffffn);
    const fails = check.mode === "refuse-values"
      ? check.values.includes(low)
      : check.mode === "allow-values"
      ? !check.values.includes(low)
      : (low & check.values[0]!) !== 0;
    if (fails) return ERRNO | check.errno;
  }
  return ALLOW;
}

/** Argument vectors that exercise every argument rule: listed values, high bits, others. */
function argumentCases(): bigint[][] {
  const cases: bigint[][] = [[]];
  const values = new Set<bigint>([0n, 1n, 2n, 7n, 10n, 16n, 17n, 38n, 40n, 0x11n, 0xffffffffn]);
  for (const rule of Object.values(ARGUMENT_RULES)) {
    for (const v of rule.checks.flatMap((c) => c.values)) {
      values.add(BigInt(v));
      values.add(BigInt(v) | (1n << 32n)); // high word set: must not matter
      values.add(BigInt(v) ^ 1n);
    }
  }
  for (const bit of [0x20000, 0x10000000, 0x40000000, 0x80, 0x100, 0o4000, 0o2000]) {
    values.add(BigInt(bit) | 0x11n);
  }
  for (const v of values) {
    cases.push([v, v, v, v]);
    for (let i = 0; i < 4; i++) cases.push(Array.from({ length: 4 }, (_, j) => (i === j ? v : 0n)));
  }
  return cases;
}

/** Syscall numbers worth probing on `arch`: the whole table range, past it, x32, wraparound. */
function probeNumbers(arch: Arch): number[] {
  const max = Math.max(...syscallNames(arch).map((n) => syscallNumber(arch, n)!));
  const out: number[] = [];
  for (let n = 0; n <= max + 40; n++) out.push(n);
  for (const n of [1000, 0x3fffffff, 0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff, -1]) {
    out.push(n);
  }
  for (const name of ["read", "execve", "openat", "ioctl", "clone", "socket", "getpid"]) {
    const n = syscallNumber(arch, name);
    if (n !== undefined) out.push(X32_SYSCALL_BIT + n, X32_SYSCALL_BIT + 512 + n);
  }
  return out;
}

function assertEquivalent(policy: SeccompPolicy, arch: Arch, notify: boolean): number {
  const bpf = compileSeccomp(policy, arch, { notify });
  validateSeccompProgram(bpf);
  const r = resolvePolicy(policy, arch);
  const ruled = new Set(r.argumentRules.map((a) => a.nr));
  const cases = argumentCases();
  let checked = 0;
  for (const n of probeNumbers(arch)) {
    for (const args of ruled.has(n) ? cases : [[]]) {
      const got = evaluateSeccomp(bpf, { arch, nr: n, args });
      const want = expectedAction(r, n >>> 0, args, notify);
      if (got !== want) {
        assert.fail(
          `${arch} ${JSON.stringify(policy)} notify=${notify}: nr ${n} (${
            syscallName(arch, n) ?? "?"
          }) args ${args.map((a) => `0x${a.toString(16)}`).join(",")}: got ${
            actionName(got)
          }, want ${actionName(want)}`,
        );
      }
      checked++;
    }
  }
  // A foreign architecture is killed whatever the number.
  const foreign = arch === "x86_64" ? AUDIT_ARCH.aarch64 : AUDIT_ARCH.x86_64;
  for (const a of [foreign, AUDIT_ARCH.i386, 0]) {
    for (const n of [0, 1, 59, 63, 435]) {
      assert.equal(evaluateSeccomp(bpf, { arch: a, nr: n }), KILL_PROCESS);
    }
  }
  return checked;
}

// ---------------------------------------------------------------------------------------------

Deno.test("golden program for a tiny aarch64 policy", () => {
  const keep = new Set(["read", "write", "exit_group"]);
  const policy: SeccompPolicy = {
    profile: "essential",
    allow: ["ioctl"],
    deny: profileSyscalls("essential", "aarch64").filter((n) => !keep.has(n)),
    action: "errno",
  };
  const bpf = compileSeccomp(policy, "aarch64");
  assert.equal(
    disassemble(bpf, "aarch64"),
    `0000: ld [4]                        ; arch
0001: jeq #0xc00000b7 jt 0002 jf 0020 ; AUDIT_ARCH_AARCH64
0002: ld [0]                        ; nr
0003: jge #95 jt 0009 jf 0004       ; waitid
0004: jge #63 jt 0007 jf 0005       ; read
0005: jge #29 jt 0006 jf 0019       ; ioctl
0006: jge #30 jt 0019 jf 0015       ; ioprio_set
0007: jge #65 jt 0008 jf 0018       ; readv
0008: jge #94 jt 0018 jf 0019       ; exit_group
0009: jge #425 jt 0012 jf 0010      ; io_uring_setup
0010: jge #198 jt 0011 jf 0019      ; socket
0011: jge #199 jt 0019 jf 0021      ; socketpair
0012: jge #435 jt 0014 jf 0013      ; clone3
0013: jge #426 jt 0019 jf 0022      ; io_uring_enter
0014: jge #436 jt 0019 jf 0022      ; close_range
0015: ld [24]                       ; args[1] low
0016: jeq #0x5412 jt 0019 jf 0017
0017: jeq #0x541c jt 0019 jf 0018
0018: ret ALLOW
0019: ret ERRNO(1)
0020: ret KILL_PROCESS
0021: ret ERRNO(13)
0022: ret ERRNO(38)
`,
  );
  const hex = Array.from(bpf, (b) => b.toString(16).padStart(2, "0")).join("");
  assert.equal(
    hex,
    "2000000004000000" + "15000012b70000c0" + "2000000000000000" + "350005005f000000" +
      "350002003f000000" + "3500000d1d000000" + "35000c081e000000" + "3500000a41000000" +
      "3500090a5e000000" + "35000200a9010000" + "35000008c6000000" + "35000709c7000000" +
      "35000100b3010000" + "35000508aa010000" + "35000407b4010000" + "2000000018000000" +
      "1500020012540000" + "150001001c540000" + "060000000000ff7f" + "0600000001000500" +
      "0600000000000080" + "060000000d000500" + "0600000026000500",
  );
  assertEquivalent(policy, "aarch64", false);
});

Deno.test("program shape: arch check, x32 check on x86_64 only, ends in ret", () => {
  for (const arch of ARCHES) {
    const prog = decodeProgram(compileSeccomp({ profile: "minimal" }, arch));
    assert.deepEqual(prog[0], { code: 0x20, jt: 0, jf: 0, k: 4 }); // ld [arch]
    assert.equal(prog[1]!.code, 0x15);
    assert.equal(prog[1]!.k, AUDIT_ARCH[arch]);
    assert.deepEqual(prog[2], { code: 0x20, jt: 0, jf: 0, k: 0 }); // ld [nr]
    assert.equal(prog[3]!.code === 0x35 && prog[3]!.k === X32_SYSCALL_BIT, arch === "x86_64");
    assert.equal(prog.at(-1)!.code, 0x06);
  }
});

Deno.test("binary search: lookups take O(log n) compares", () => {
  for (const arch of ARCHES) {
    for (const profile of PROFILE_NAMES) {
      const prog = decodeProgram(compileSeccomp({ profile }, arch));
      // Longest path through the tree: count conditional jumps on the way to any ret.
      const depth = (pc: number): number => {
        const { code, jt, jf, k } = prog[pc]!;
        if ((code & 7) === 6) return 0;
        if (code === 0x05) return depth(pc + 1 + k);
        if ((code & 7) === 5) return 1 + Math.max(depth(pc + 1 + jt), depth(pc + 1 + jf));
        return depth(pc + 1);
      };
      const d = depth(0);
      assert.ok(d <= 16, `${arch} ${profile}: ${d} compares on the longest path`);
    }
  }
});

Deno.test("programs longer than 255 instructions use trampolines and stay valid", () => {
  for (const arch of ARCHES) {
    // Deny every other syscall: ~190 alternating segments, so far jumps are unavoidable.
    const deny = syscallNames(arch).filter((n) => syscallNumber(arch, n)! % 2 === 1);
    const policy: SeccompPolicy = { profile: "unrestricted", deny };
    const bpf = compileSeccomp(policy, arch);
    const prog = decodeProgram(bpf);
    assert.ok(prog.length > 255, `${arch}: only ${prog.length} instructions`);
    validateSeccompProgram(bpf);
    prog.forEach(({ code, jt, jf, k }, pc) => {
      if ((code & 7) !== 5) return;
      const targets = code === 0x05 ? [pc + 1 + k] : [pc + 1 + jt, pc + 1 + jf];
      for (const t of targets) assert.ok(t < prog.length, `${arch}: jump at ${pc} leaves program`);
    });
    // Far targets got copies of their `ret` (and, for subtrees, `ja` trampolines).
    const rets = prog.filter((insn) => insn.code === 0x06);
    assert.ok(rets.length > new Set(rets.map((r) => r.k)).size, `${arch}: no ret copies`);
    if (arch === "x86_64") assert.ok(prog.some((insn) => insn.code === 0x05), "no ja trampoline");
    assert.equal(prog.at(-1)!.code, 0x06);
    assertEquivalent(policy, arch, false);
    assertEquivalent({ ...policy, action: "errno" }, arch, true);
  }
});

Deno.test("exhaustive equivalence with resolvePolicy: every profile, arch, action, notify", () => {
  let checked = 0;
  for (const arch of ARCHES) {
    for (const profile of PROFILE_NAMES) {
      for (const action of ["kill", "errno"] as const) {
        for (const notify of [false, true]) {
          checked += assertEquivalent({ profile, action }, arch, notify);
        }
      }
    }
  }
  assert.ok(checked > 40_000, `only ${checked} cases`);
});

Deno.test("profiles are cumulative and unrestricted is the table minus the never list", () => {
  for (const arch of ARCHES) {
    let previous = new Set<number>();
    for (const profile of PROFILE_NAMES) {
      const allowed = new Set(resolvePolicy({ profile }, arch).allowed);
      for (const n of previous) {
        assert.ok(allowed.has(n), `${arch}: ${profile} lacks ${syscallName(arch, n)}`);
      }
      assert.ok(allowed.size > previous.size, `${arch}: ${profile} adds nothing`);
      previous = allowed;
    }
    const expected = syscallNames(arch)
      .filter((n) => !NEVER_ALLOWED.includes(n) && n !== "clone3")
      .sort();
    assert.deepEqual(profileSyscalls("unrestricted", arch), expected);
  }
});

Deno.test("never-allowed syscalls are refused in every profile", () => {
  for (const arch of ARCHES) {
    for (const profile of PROFILE_NAMES) {
      for (const action of ["kill", "errno"] as const) {
        const bpf = compileSeccomp({ profile, action }, arch);
        for (const name of NEVER_ALLOWED) {
          if (syscallNumber(arch, name) === undefined) continue;
          const got = run(bpf, arch, name);
          const want = name in FIXED_ERRNO
            ? ERRNO | FIXED_ERRNO[name]!
            : action === "kill"
            ? KILL_PROCESS
            : EPERM;
          assert.equal(got, want, `${arch} ${profile}: ${name} got ${actionName(got)}`);
        }
      }
    }
  }
});

Deno.test("profiles contain what real programs need (SEED §4.2 gaps)", () => {
  const need: Record<string, string[]> = {
    essential: ["pread64", "execve", "mmap", "openat", "newfstatat", "exit_group", "getrandom"],
    minimal: [
      "fadvise64",
      "statfs",
      "fstatfs",
      "lgetxattr",
      "getxattr",
      "listxattr",
      "getpeername",
      "rt_sigsuspend",
      "restart_syscall",
      "epoll_pwait",
      "sysinfo",
      "getgroups",
      "prlimit64",
      "pipe2",
      "wait4",
      "clone",
      "copy_file_range",
      "pkey_alloc",
    ],
    "io-heavy": ["renameat2", "copy_file_range", "fchmodat2", "linkat", "unlinkat", "mkdirat"],
    compute: ["membarrier", "sched_setaffinity", "futex_waitv", "socketpair", "shmget"],
    network: ["socket", "connect", "bind", "listen", "accept4", "sendmmsg"],
  };
  for (const arch of ARCHES) {
    for (const [profile, names] of Object.entries(need)) {
      const have = new Set(profileSyscalls(profile as "minimal", arch));
      for (const name of names) {
        assert.ok(have.has(name), `${arch} ${profile} lacks ${name}`);
      }
    }
  }
  // Names absent on an arch are skipped there, not errors.
  assert.ok(profileSyscalls("essential", "x86_64").includes("open"));
  assert.ok(!profileSyscalls("essential", "aarch64").includes("open"));
  assert.ok(profileSyscalls("minimal", "aarch64").includes("renameat") === false);
  assert.ok(profileSyscalls("io-heavy", "aarch64").includes("renameat"));
});

Deno.test("profileSyscalls is sorted and unique; descriptions exist", () => {
  for (const arch of ARCHES) {
    for (const profile of PROFILE_NAMES) {
      const names = profileSyscalls(profile, arch);
      assert.deepEqual(names, [...new Set(names)].sort());
      assert.ok(PROFILE_DESCRIPTIONS[profile].length > 20);
    }
  }
  assert.deepEqual(PROFILE_NAMES, [
    "essential",
    "minimal",
    "io-heavy",
    "compute",
    "network",
    "unrestricted",
  ]);
});

Deno.test("ioctl TIOCSTI/TIOCLINUX refused, high bits ignored (CVE-2019-10063)", () => {
  for (const arch of ARCHES) {
    for (const profile of ["minimal", "unrestricted"] as const) {
      const bpf = compileSeccomp({ profile }, arch);
      assert.equal(run(bpf, arch, "ioctl", [0, 0x5412]), EPERM);
      assert.equal(run(bpf, arch, "ioctl", [0, 0x541c]), EPERM);
      assert.equal(run(bpf, arch, "ioctl", [0, 0x1_00005412n]), EPERM);
      assert.equal(run(bpf, arch, "ioctl", [0, 0xffffffff_00005412n]), EPERM);
      assert.equal(run(bpf, arch, "ioctl", [0, 0x5401]), ALLOW); // TCGETS
      assert.equal(run(bpf, arch, "ioctl", [0x5412, 0x5401]), ALLOW); // fd, not request
    }
    // essential has no ioctl at all
    assert.equal(run(compileSeccomp({ profile: "essential" }, arch), arch, "ioctl"), KILL_PROCESS);
  }
});

Deno.test("clone with CLONE_NEW* is refused; clone3 gets ENOSYS", () => {
  const SIGCHLD = 17;
  for (const arch of ARCHES) {
    const bpf = compileSeccomp({ profile: "minimal" }, arch);
    assert.equal(run(bpf, arch, "clone", [SIGCHLD]), ALLOW);
    assert.equal(run(bpf, arch, "clone", [0x003d0f00]), ALLOW); // pthread_create's flags
    for (const flag of [0x20000, 0x2000000, 0x4000000, 0x8000000, 0x10000000, 0x20000000]) {
      assert.equal(run(bpf, arch, "clone", [flag | SIGCHLD]), EPERM, `flag 0x${flag.toString(16)}`);
    }
    assert.equal(run(bpf, arch, "clone", [0x40000000 | SIGCHLD]), EPERM); // CLONE_NEWNET
    assert.equal(run(bpf, arch, "clone", [(1n << 40n) | 17n]), ALLOW); // high word ignored
    assert.equal(run(bpf, arch, "clone3"), ERRNO | 38);
    for (const profile of PROFILE_NAMES) {
      assert.equal(run(compileSeccomp({ profile }, arch), arch, "clone3"), ERRNO | 38);
    }
  }
});

Deno.test("socket: network allows AF_UNIX/INET/INET6 only; lower profiles get EACCES", () => {
  const EAFNOSUPPORT = ERRNO | 97;
  for (const arch of ARCHES) {
    const net = compileSeccomp({ profile: "network" }, arch);
    for (const family of [1, 2, 10]) assert.equal(run(net, arch, "socket", [family, 1]), ALLOW);
    for (const family of [16, 17, 40, 38, 0, 3]) {
      assert.equal(run(net, arch, "socket", [family, 1]), EAFNOSUPPORT, `family ${family}`);
    }
    assert.equal(run(net, arch, "socket", [(1n << 32n) | 16n]), EAFNOSUPPORT);
    assert.equal(run(net, arch, "socket", [(1n << 32n) | 2n]), ALLOW);
    for (const profile of ["essential", "minimal", "io-heavy", "compute"] as const) {
      const bpf = compileSeccomp({ profile }, arch);
      assert.equal(run(bpf, arch, "socket", [1]), ERRNO | 13, profile);
      assert.equal(run(bpf, arch, "connect"), KILL_PROCESS, profile);
    }
    const denied = compileSeccomp({ profile: "minimal", deny: ["socket"] }, arch);
    assert.equal(run(denied, arch, "socket", [1]), KILL_PROCESS);
  }
});

Deno.test("personality: query and PER_LINUX variants only", () => {
  for (const arch of ARCHES) {
    const bpf = compileSeccomp({ profile: "minimal" }, arch);
    for (const p of [0xffffffff, 0, 8, 0x20000, 0x20008]) {
      assert.equal(run(bpf, arch, "personality", [p]), ALLOW);
    }
    for (const p of [0x0040000, 0x0400000, 0x0100000, 0x0040008]) {
      assert.equal(run(bpf, arch, "personality", [p]), EPERM, `0x${p.toString(16)}`);
    }
  }
});

Deno.test("x32 syscalls are refused on x86_64", () => {
  for (const action of ["kill", "errno"] as const) {
    const bpf = compileSeccomp({ profile: "unrestricted", action }, "x86_64");
    const want = action === "kill" ? KILL_PROCESS : EPERM;
    for (const n of [0, 1, 39, 59, 512, 547]) {
      assert.equal(evaluateSeccomp(bpf, { arch: "x86_64", nr: X32_SYSCALL_BIT | n }), want);
    }
    assert.equal(evaluateSeccomp(bpf, { arch: "x86_64", nr: 39 }), ALLOW);
  }
  const notify = compileSeccomp({ profile: "unrestricted" }, "x86_64", { notify: true });
  assert.equal(evaluateSeccomp(notify, { arch: "x86_64", nr: X32_SYSCALL_BIT | 39 }), USER_NOTIF);
});

Deno.test("architecture mismatch kills, even in errno and notify modes", () => {
  for (const arch of ARCHES) {
    for (const options of [{}, { notify: true }]) {
      const bpf = compileSeccomp(
        { profile: "unrestricted", action: "errno" },
        arch,
        options,
      );
      assert.equal(evaluateSeccomp(bpf, { arch: AUDIT_ARCH.i386, nr: 1 }), KILL_PROCESS);
      const other = arch === "x86_64" ? "aarch64" : "x86_64";
      assert.equal(evaluateSeccomp(bpf, { arch: other, nr: 1 }), KILL_PROCESS);
    }
  }
});

Deno.test("allow, deny and action", () => {
  const arch = "x86_64";
  const base = compileSeccomp({ profile: "minimal" }, arch);
  assert.equal(run(base, arch, "mkdir"), KILL_PROCESS);
  const allowed = compileSeccomp({ profile: "minimal", allow: ["mkdir"] }, arch);
  assert.equal(run(allowed, arch, "mkdir"), ALLOW);
  // deny wins over allow and over the profile
  const both = compileSeccomp(
    { profile: "minimal", allow: ["mkdir"], deny: ["mkdir", "read"] },
    arch,
  );
  assert.equal(run(both, arch, "mkdir"), KILL_PROCESS);
  assert.equal(run(both, arch, "read"), KILL_PROCESS);
  // deny of an argument-checked or fixed-errno syscall makes it a plain refusal
  const denyIoctl = compileSeccomp({ profile: "minimal", deny: ["ioctl", "clone3"] }, arch);
  assert.equal(run(denyIoctl, arch, "ioctl", [0, 0x5401]), KILL_PROCESS);
  assert.equal(run(denyIoctl, arch, "clone3"), KILL_PROCESS);
  // allowing an argument-checked syscall keeps its check
  const withIoctl = compileSeccomp({ profile: "essential", allow: ["ioctl", "socket"] }, arch);
  assert.equal(run(withIoctl, arch, "ioctl", [0, 0x5412]), EPERM);
  assert.equal(run(withIoctl, arch, "socket", [17]), ERRNO | 97);
  assert.equal(run(withIoctl, arch, "socket", [2]), ALLOW);
  // errno mode and notify mode
  const errno = compileSeccomp({ profile: "minimal", action: "errno" }, arch);
  assert.equal(run(errno, arch, "mkdir"), EPERM);
  const notify = compileSeccomp({ profile: "minimal" }, arch, { notify: true });
  assert.equal(run(notify, arch, "mkdir"), USER_NOTIF);
  assert.equal(run(notify, arch, "read"), ALLOW);
  assert.equal(run(notify, arch, "clone3"), ERRNO | 38); // fixed answers are not reported
  assert.equal(run(notify, arch, "ioctl", [0, 0x5412]), EPERM);
  // names only on the other arch are accepted and skipped
  const a64 = resolvePolicy({ profile: "essential", allow: ["fork"] }, "aarch64");
  assert.equal(
    a64.allowed.length,
    resolvePolicy({ profile: "essential" }, "aarch64").allowed.length,
  );
});

Deno.test("profile none: no filter, and only allow is accepted", () => {
  for (const arch of ARCHES) {
    assert.equal(compileSeccomp({ profile: "none" }, arch).length, 0);
    const r = resolvePolicy({ profile: "none", allow: ["mount", "bpf"] }, arch);
    assert.equal(r.enabled, false);
    assert.equal(r.allowed.length, syscallNames(arch).length);
  }
  assert.throws(
    () => resolvePolicy({ profile: "none", deny: ["mount"] }, "x86_64"),
    (e: unknown) =>
      e instanceof RangeError && /seccomp\.deny/.test(e.message) && /"none"/.test(e.message),
  );
});

Deno.test("error messages name the field, the value and what is allowed", () => {
  const throwsRange = (policy: SeccompPolicy, pattern: RegExp) =>
    assert.throws(() => compileSeccomp(policy, "x86_64"), (e: unknown) => {
      assert.ok(e instanceof RangeError, `expected RangeError, got ${e}`);
      assert.match(e.message, pattern);
      assert.match(e.message, /^[A-Z]/);
      assert.doesNotMatch(e.message, /\.$/);
      return true;
    });
  throwsRange(
    { profile: "minimal", allow: ["opne"] },
    /^Unknown syscall "opne" in seccomp\.allow: .*did you mean "open"\?$/,
  );
  throwsRange({ profile: "minimal", allow: ["zzzzzzzzzzzzzz"] }, /syscall names such as "openat"/);
  throwsRange({ profile: "minimal", deny: ["frobnicate"] }, /"frobnicate" in seccomp\.deny/);
  throwsRange({ profile: "minimal", allow: ["mount"] }, /"mount" in seccomp\.allow.*never/);
  throwsRange({ profile: "unrestricted", allow: ["ptrace"] }, /"ptrace"/);
  throwsRange({ profile: "minimal", allow: ["clone3"] }, /"clone3".*ENOSYS/);
  throwsRange(
    { profile: "strict" as unknown as "minimal" },
    /Unknown seccomp profile "strict": expected one of "essential", .*"none"/,
  );
  throwsRange(
    { profile: "minimal", action: "trap" as unknown as "kill" },
    /seccomp\.action "trap".*"kill" or "errno"/,
  );
  assert.throws(
    () => compileSeccomp({ profile: "minimal", allow: "read" as unknown as string[] }, "x86_64"),
    TypeError,
  );
  assert.throws(
    () => compileSeccomp({ profile: "minimal" }, "riscv64" as unknown as Arch),
    /Unsupported architecture "riscv64"/,
  );
  // deny of a never-allowed name is fine: it stays refused
  const bpf = compileSeccomp({ profile: "unrestricted", deny: ["mount"] }, "x86_64");
  assert.equal(run(bpf, "x86_64", "mount"), KILL_PROCESS);
});

Deno.test("disassemble names actions and syscalls", () => {
  const bpf = compileSeccomp({ profile: "network", action: "errno" }, "x86_64", {
    notify: true,
  });
  const text = disassemble(bpf, "x86_64");
  const lines = text.trimEnd().split("\n");
  assert.equal(lines.length, bpf.length / 8);
  assert.match(lines[0]!, /^0000: ld \[4\] +; arch$/);
  assert.match(lines[1]!, /^0001: jeq #0xc000003e jt 0002 jf \d{4} +; AUDIT_ARCH_X86_64$/);
  assert.match(lines[3]!, /^0003: jge #0x40000000 jt \d{4} jf 0004 +; x32 syscalls$/);
  assert.match(text, /ret USER_NOTIF/);
  assert.match(text, /ret ALLOW/);
  assert.match(text, /ret KILL_PROCESS/);
  assert.match(text, /ret ERRNO\(97\)/);
  assert.match(text, /ld \[16\] +; args\[0\] low/);
  assert.match(text, /jset #0x7e020080/);
  assert.match(text, /; socket$/m);
  assert.equal(actionName(0x7fff0000), "ALLOW");
  assert.equal(actionName(0x00050001), "ERRNO(1)");
  assert.equal(actionName(0x80000000), "KILL_PROCESS");
  assert.equal(actionName(0x7fc00000), "USER_NOTIF");
});

Deno.test("validateSeccompProgram rejects malformed programs", () => {
  const insn = (code: number, jt: number, jf: number, k: number) => {
    const b = new Uint8Array(8);
    const v = new DataView(b.buffer);
    v.setUint16(0, code, true);
    v.setUint8(2, jt);
    v.setUint8(3, jf);
    v.setUint32(4, k, true);
    return b;
  };
  const prog = (...parts: Uint8Array[]) => {
    const out = new Uint8Array(parts.length * 8);
    parts.forEach((p, i) => out.set(p, i * 8));
    return out;
  };
  const ret = insn(0x06, 0, 0, ALLOW);
  validateSeccompProgram(prog(ret));
  assert.throws(() => validateSeccompProgram(new Uint8Array(0)), RangeError);
  assert.throws(() => validateSeccompProgram(new Uint8Array(12)), /multiple of 8/);
  assert.throws(() => validateSeccompProgram(prog(insn(0x20, 0, 0, 0))), /last instruction/);
  assert.throws(() => validateSeccompProgram(prog(insn(0x20, 0, 0, 2), ret)), /offset 2/);
  assert.throws(() => validateSeccompProgram(prog(insn(0x20, 0, 0, 64), ret)), /offset 64/);
  assert.throws(() => validateSeccompProgram(prog(insn(0x15, 1, 0, 0), ret)), /past the end/);
  assert.throws(() => validateSeccompProgram(prog(insn(0x05, 0, 0, 1), ret)), /past the end/);
  assert.throws(() => validateSeccompProgram(prog(insn(0x28, 0, 0, 0), ret)), /32-bit/);
  assert.throws(
    () => validateSeccompProgram(new Uint8Array(4097 * 8).map((_, i) => (i % 8 === 0 ? 6 : 0))),
    /4097 instructions/,
  );
});

Deno.test("compiled programs are deterministic", () => {
  for (const arch of ARCHES) {
    for (const profile of PROFILE_NAMES) {
      assert.deepEqual(compileSeccomp({ profile }, arch), compileSeccomp({ profile }, arch));
    }
  }
});
